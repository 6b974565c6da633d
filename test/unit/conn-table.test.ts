import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConnTable, ST_EMPTY, ST_LIVE, ST_TOMBSTONE, ST_DYING, FL_INACTIVE, FL_NOOUTPUT, M_TEMPLATE,
  SHIFT_PROTO, SHIFT_STATE, SHIFT_FLAGS, W_META, W_CADDR, W_PORTS, W_VADDR, W_DEST, W_EXPIRES,
  W_NEXT, W_CONTROL, M_KEY, M_REAPED, BATCH_KEY_WORDS, hashKey4,
} from '../../src/conn/table';
import { hasNative } from '../../src/io/native';
import { mulberry32 } from '../fixtures/prng';

const TCP = 6;
const UDP = 17;
const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const VIP = ip(10, 0, 0, 100);
const never = (): number => 0;


/** Wheel lists as a slot -> bucket map; asserts no cycles, no free records listed, no record twice. */
function wheelMembers(t: ConnTable): Map<number, number> {
  const heads = (t as unknown as { heads: Uint32Array }).heads;
  const pending = (t as unknown as { pending: number }).pending;
  const seen = new Map<number, number>();
  const walk = (cur: number, bk: number): void => {
    while (cur !== 0) {
      const s = cur - 1;
      assert.ok(!seen.has(s), `slot ${s} linked twice`);
      const st = t.status(s);
      assert.ok(st === ST_LIVE || st === ST_DYING, `slot ${s} in the wheel with status ${st}`);
      seen.set(s, bk);
      cur = t.rec[(s << t.recShift) + t.wNext];
    }
  };
  for (let b = 0; b < heads.length; b++) walk(heads[b], b);
  walk(pending, -1);
  return seen;
}

test('layout constants', () => {
  assert.deepEqual([W_META, W_CADDR, W_PORTS, W_VADDR, W_DEST, W_EXPIRES, W_NEXT, W_CONTROL], [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(M_KEY, 0xff07);
  const t = new ConnTable({ af: 4, maxConns: 10 });
  assert.equal(t.slots, 20);
  assert.equal(t.rec.length, 20 * 8);
  const t6 = new ConnTable({ af: 6, maxConns: 10, loadFactor: 0.75 });
  assert.equal(t6.slots, 14);
  assert.equal(t6.rec.length, 14 * 16);
  assert.equal(t6.wDest, 10);
  assert.equal(t6.wControl, 13);
});

test('firstSlot is fastrange and the home slot depends on (proto, caddr, cport) only', () => {
  const t = new ConnTable({ af: 4, maxConns: 1000, seed: 42 });
  for (const h of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 123456789]) {
    assert.equal(t.firstSlot(h), Math.floor((h >>> 0) * t.slots / 4294967296));
  }
  assert.equal(t.hash4(TCP, ip(1, 2, 3, 4), 5555), hashKey4(42, TCP, ip(1, 2, 3, 4), 5555));
  assert.notEqual(t.hash4(TCP, ip(1, 2, 3, 4), 5555), t.hash4(UDP, ip(1, 2, 3, 4), 5555));
  // NAT reply lookup by hand: same bucket whatever vaddr/vport/dest
  const s = t.insert4(TCP, ip(1, 2, 3, 4), 5555, VIP, 80, 0, 7, 0, 3, 100);
  let i = t.firstSlot(t.hash4(TCP, ip(1, 2, 3, 4), 5555));
  let found = -1;
  while (t.status(i) !== ST_EMPTY) {
    if (t.status(i) === ST_LIVE && t.caddr(i) === ip(1, 2, 3, 4) && t.cport(i) === 5555 && t.destId(i) === 7) { found = i; break; }
    i = t.nextSlot(i);
  }
  assert.equal(found, s);
  assert.equal(t.nextSlot(t.slots - 1), 0);
});

test('insert, lookup, accessors and template-bit separation', () => {
  const t = new ConnTable({ af: 4, maxConns: 100, seed: 1 });
  const c = ip(192, 168, 1, 10);
  const a = t.insert4(TCP, c, 40000, VIP, 80, 0, 5, FL_INACTIVE | 3, 2, 60);
  const tp = t.insert4(TCP, c, 0, VIP, 80, 1, 6, 0, 0, 360);
  assert.ok(a >= 0 && tp >= 0 && a !== tp);
  assert.equal(t.size, 2);
  assert.equal(t.occupied, 2);
  assert.equal(t.lookupIn4(TCP, c, 40000, VIP, 80, 0), a);
  assert.equal(t.lookupIn4(TCP, c, 40000, VIP, 80, 1), -1);
  assert.equal(t.lookupIn4(TCP, c, 0, VIP, 80, 1), tp);
  assert.equal(t.lookupIn4(TCP, c, 0, VIP, 80, 0), -1);
  assert.equal(t.lookupIn4(UDP, c, 40000, VIP, 80, 0), -1);
  assert.equal(t.lookupIn4(TCP, c, 40000, VIP, 81, 0), -1);
  assert.equal(t.lookupIn4(TCP, c, 40000, VIP + 1, 80, 0), -1);
  assert.equal(t.lookupIn4(TCP, c, 40001, VIP, 80, 0), -1);
  assert.equal(t.lookupIn4(TCP, c + 1, 40000, VIP, 80, 0), -1);
  // accessors
  assert.equal(t.status(a), ST_LIVE);
  assert.equal(t.proto(a), TCP);
  assert.equal(t.caddr(a), c);
  assert.equal(t.cport(a), 40000);
  assert.equal(t.vaddr(a), VIP);
  assert.equal(t.vport(a), 80);
  assert.equal(t.destId(a), 5);
  assert.equal(t.flags(a), FL_INACTIVE | 3);
  assert.equal(t.state(a), 2);
  assert.equal(t.expires(a), 60);
  assert.equal(t.isTemplate(a), false);
  assert.equal(t.isTemplate(tp), true);
  assert.equal(t.meta(tp) & M_TEMPLATE, M_TEMPLATE);
  assert.equal(t.meta(a), (ST_LIVE | (2 << SHIFT_STATE) | (TCP << SHIFT_PROTO) | ((FL_INACTIVE | 3) << SHIFT_FLAGS)) >>> 0);
  t.setState(a, 15);
  t.setFlags(a, 0xff);
  assert.equal(t.state(a), 15);
  assert.equal(t.flags(a), 0xff);
  t.setFlags(a, FL_NOOUTPUT);
  t.setState(a, 1);
  assert.equal(t.flags(a), FL_NOOUTPUT);
  assert.equal(t.state(a), 1);
  assert.equal(t.proto(a), TCP);
  t.setSpare(a, 200);
  assert.equal(t.spare(a), 200);
  assert.equal(t.flags(a), FL_NOOUTPUT);
  t.setControl(a, tp + 1);
  t.setControl(tp, 1);
  assert.equal(t.control(a), tp + 1);
  assert.equal(t.control(tp), 1);
  t.setDestId(a, 9);
  assert.equal(t.destId(a), 9);
  assert.equal(t.lookupIn4(TCP, c, 40000, VIP, 80, 0), a, 'state/flags changes keep the key');
  // high addresses and ports
  const hi = t.insert4(UDP, 0xffffffff, 65535, 0xfffffffe, 65535, 0, 0xffffffff, 0, 0, 10);
  assert.equal(t.lookupIn4(UDP, 0xffffffff, 65535, 0xfffffffe, 65535, 0), hi);
  assert.equal(t.destId(hi), 0xffffffff);
  assert.equal(t.cport(hi), 65535);
  const seen: number[] = [];
  t.forEach((s) => seen.push(s));
  assert.deepEqual(seen.sort((x, y) => x - y), [a, tp, hi].sort((x, y) => x - y));
});

test('DYING never matches, stays occupied and in the wheel until reaped', () => {
  const t = new ConnTable({ af: 4, maxConns: 10, seed: 3 });
  const c = ip(1, 1, 1, 1);
  const a = t.insert4(TCP, c, 1000, VIP, 80, 0, 1, 0, 0, 50);
  assert.equal(t.kill(a), true);
  assert.equal(t.kill(a), false);
  assert.equal(t.status(a), ST_DYING);
  assert.equal(t.lookupIn4(TCP, c, 1000, VIP, 80, 0), -1);
  assert.equal(t.size, 0);
  assert.equal(t.occupied, 1);
  assert.ok(wheelMembers(t).has(a));
  // same key again: a new LIVE record, found instead of the dying one
  const b = t.insert4(TCP, c, 1000, VIP, 80, 0, 2, 0, 0, 50);
  assert.notEqual(b, a);
  assert.equal(t.lookupIn4(TCP, c, 1000, VIP, 80, 0), b);
  const reaped: number[] = [];
  t.tick(49, (s) => { reaped.push(s); return 0; });
  assert.equal(reaped.length, 0);
  t.tick(50, (s) => { reaped.push(s); return 0; });
  assert.deepEqual(reaped.sort(), [a, b].sort());
  assert.equal(t.occupied, 0);
  assert.equal(t.size, 0);
});

test('tombstones: created inside a cluster, reused by insert, erased backwards at a cluster end', () => {
  const t = new ConnTable({ af: 4, maxConns: 32, seed: 9 });
  const c = ip(7, 7, 7, 7);
  // same (proto, caddr, cport): one home slot, a cluster of 4
  const s = [0, 1, 2, 3].map((k) => t.insert4(TCP, c, 1234, VIP + k, 80, 0, k, 0, 0, 10 + k));
  for (let k = 1; k < 4; k++) assert.equal(s[k], t.nextSlot(s[k - 1]));
  // expire the second one (tick 11): the next slot is LIVE -> TOMBSTONE
  t.tick(11, (x) => (x === s[1] ? 0 : 1000));
  assert.equal(t.status(s[1]), ST_TOMBSTONE);
  assert.equal(t.tombstones, 1);
  for (let k = 0; k < 4; k++) assert.equal(t.lookupIn4(TCP, c, 1234, VIP + k, 80, 0), k === 1 ? -1 : s[k]);
  // insert reuses it
  const d = t.insert4(TCP, c, 1234, VIP + 9, 80, 0, 9, 0, 0, 20);
  assert.equal(d, s[1]);
  assert.equal(t.tombstones, 0);
  // free 1 and 2 (tombstones), then 3 (cluster end): all three become EMPTY
  t.tick(20, (x) => (x === s[1] || x === s[2] ? 0 : 1000));
  assert.equal(t.tombstones, 2);
  t.setExpires(s[3], 21);
  t.tick(1000, (x) => (x === s[3] ? 0 : 5000));
  assert.equal(t.status(s[3]), ST_EMPTY);
  assert.equal(t.status(s[2]), ST_EMPTY);
  assert.equal(t.status(s[1]), ST_EMPTY);
  assert.equal(t.status(s[0]), ST_LIVE);
  assert.equal(t.tombstones, 0);
  assert.equal(t.lookupIn4(TCP, c, 1234, VIP, 80, 0), s[0]);
});

test('wheel: expiry order, catch-up, lazy re-arm, far timers', () => {
  const t = new ConnTable({ af: 4, maxConns: 100, wheelSize: 16, seed: 5 });
  const at = new Map<number, number>(); // slot -> expected expiry tick
  const mk = (k: number, e: number): number => {
    const s = t.insert4(UDP, ip(10, 1, 0, k), 53, VIP, 53, 0, k, 0, 0, e);
    at.set(s, e);
    return s;
  };
  mk(1, 5); mk(2, 3); mk(3, 5); mk(4, 40); mk(5, 17); mk(6, 1000);
  const lazy = mk(7, 6);
  t.setExpires(lazy, 33); // lazy: not relinked now
  at.set(lazy, 33);
  const fired: Array<[number, number]> = [];
  let now = 0;
  const cb = (s: number): number => { fired.push([now, s]); return 0; };
  for (now = 1; now <= 45; now++) t.tick(now, cb);
  for (const [when, s] of fired) assert.equal(when, at.get(s), `slot ${s} fired at ${when}`);
  assert.equal(fired.length, 6);
  // order is by expiry tick
  const ticks = fired.map(([w]) => w);
  assert.deepEqual(ticks, [...ticks].sort((a, b) => a - b));
  // late tick: catch up in one call, each bucket once
  fired.length = 0;
  now = 5000;
  t.tick(5000, cb);
  assert.equal(fired.length, 1);
  assert.equal(t.size, 0);
  assert.equal(t.currentTick, 5000);
  // a record inserted with an expiry already in the past fires on the next tick
  const p = t.insert4(UDP, ip(10, 1, 1, 1), 1, VIP, 53, 0, 1, 0, 0, 10);
  now = 5001;
  t.tick(5001, cb);
  assert.deepEqual(fired[1], [5001, p]);
});

test('expire callback returning a later tick keeps and re-arms the record', () => {
  const t = new ConnTable({ af: 4, maxConns: 10, seed: 6 });
  const tp = t.insert4(TCP, ip(1, 2, 3, 0), 0, VIP, 80, 1, 1, 0, 0, 100);
  t.setControl(tp, 2); // two children
  const calls: number[] = [];
  let now = 0;
  const cb = (s: number): number => {
    calls.push(now);
    if (t.control(s) > 0) { t.setControl(s, t.control(s) - 1); return now + 60; }
    return 0;
  };
  for (now = 1; now <= 400; now++) t.tick(now, cb);
  assert.deepEqual(calls, [100, 160, 220]);
  assert.equal(t.size, 0);
});

test('a shortened expiry fires on time through a reminder; the zombie is freed silently', () => {
  const t = new ConnTable({ af: 4, maxConns: 4, wheelSize: 256, seed: 17 });
  const c = ip(3, 3, 3, 3);
  const s = t.insert4(TCP, c, 1000, VIP, 80, 0, 1, 0, 0, 60); // linked in bucket 60
  const calls: number[] = [];
  let now = 0;
  let keepOnce = true;
  const cb = (x: number): number => {
    calls.push(now);
    assert.equal(x, s);
    if (keepOnce) { keepOnce = false; return now + 30; }
    return 0;
  };
  for (now = 1; now <= 5; now++) t.tick(now, cb);
  t.setExpires(s, 900); // later: lazy, no reminder
  assert.equal(t.reminders, 0);
  t.setExpires(s, 15); // earlier than 900: reminder at 15
  assert.equal(t.reminders, 1);
  for (now = 6; now <= 44; now++) t.tick(now, cb);
  assert.deepEqual(calls, [15], 'kept at 15 until 45');
  for (now = 45; now <= 50; now++) t.tick(now, cb);
  assert.deepEqual(calls, [15, 45]);
  // a zombie: expired, not matchable, not listed, still occupying its slot until its wheel visit
  assert.equal(t.status(s), ST_DYING);
  assert.ok((t.meta(s) & M_REAPED) !== 0);
  assert.equal(t.isLive(s), false);
  assert.equal(t.lookupIn4(TCP, c, 1000, VIP, 80, 0), -1);
  assert.equal(t.size, 0);
  assert.equal(t.zombies, 1);
  assert.equal(t.occupied, 1);
  let listed = 0;
  t.forEach(() => listed++);
  assert.equal(listed, 0);
  assert.equal(t.kill(s), false);
  for (now = 51; now <= 400; now++) t.tick(now, cb);
  assert.deepEqual(calls, [15, 45], 'the callback is not called again');
  assert.equal(t.occupied, 0);
  assert.equal(t.zombies, 0);
  assert.equal(t.status(s), ST_EMPTY);
});

test('zombies are reclaimed when the table is full (either policy), without onEvict', () => {
  for (const policy of ['refuse', 'drop-inactive'] as const) {
    const t = new ConnTable({ af: 4, maxConns: 8, policy, seed: 18 });
    t.onEvict = () => assert.fail('no eviction of live records');
    const slots: number[] = [];
    for (let k = 0; k < 8; k++) slots.push(t.insert4(TCP, ip(4, 0, 0, k), 1, VIP, 80, 0, k, 0, 0, 200));
    t.setExpires(slots[3], 5);
    t.tick(5, () => 0);
    assert.equal(t.zombies, 1);
    assert.equal(t.occupied, 8);
    const n = t.insert4(TCP, ip(4, 0, 1, 0), 1, VIP, 80, 0, 99, 0, 0, 200);
    assert.ok(n >= 0, policy);
    assert.equal(t.zombies, 0);
    assert.equal(t.refusedFull, 0);
    assert.equal(t.evicted, 0);
    assert.equal(wheelMembers(t).size, 8);
    assert.equal(t.insert4(TCP, ip(4, 0, 1, 1), 1, VIP, 80, 0, 99, 0, 0, 200), -1);
  }
});

test('without reminders a shortened expiry is late (counted), at most one wheel turn', () => {
  const t = new ConnTable({ af: 4, maxConns: 4, wheelSize: 16, reminders: 0, seed: 19 });
  const s = t.insert4(TCP, 1, 1, VIP, 80, 0, 1, 0, 0, 100); // bucket 100 % 16 = 4
  t.setExpires(s, 2);
  assert.equal(t.lateExpiries, 1);
  let at = -1;
  for (let now = 1; now <= 40 && at < 0; now++) t.tick(now, () => { at = now; return 0; });
  assert.equal(at, 4);
});

test("policy 'refuse': counts refusals, never exceeds maxConns", () => {
  const t = new ConnTable({ af: 4, maxConns: 100, seed: 7 });
  let ok = 0;
  for (let k = 0; k < 150; k++) {
    if (t.insert4(TCP, ip(9, 0, 0, 0) + k, 1000, VIP, 80, 0, k, FL_INACTIVE, 0, 10) >= 0) ok++;
    assert.ok(t.occupied <= 100);
  }
  assert.equal(ok, 100);
  assert.equal(t.refusedFull, 50);
  assert.equal(t.evicted, 0);
  // dying records still count
  t.kill(t.lookupIn4(TCP, ip(9, 0, 0, 0), 1000, VIP, 80, 0));
  assert.equal(t.insert4(TCP, ip(9, 9, 9, 9), 1, VIP, 80, 0, 1, 0, 0, 10), -1);
  assert.equal(t.refusedFull, 51);
  t.tick(10, never);
  assert.equal(t.occupied, 0);
  assert.ok(t.insert4(TCP, ip(9, 9, 9, 9), 1, VIP, 80, 0, 1, 0, 0, 20) >= 0);
});

test("policy 'drop-inactive': evicts only INACTIVE non-templates, soonest first, calls onEvict", () => {
  const t = new ConnTable({ af: 4, maxConns: 64, policy: 'drop-inactive', seed: 8 });
  const kind = new Map<number, string>();
  for (let k = 0; k < 64; k++) {
    const c = ip(20, 0, 0, k);
    let s: number;
    if (k % 4 === 0) { s = t.insert4(TCP, c, 0, VIP, 80, 1, k, FL_INACTIVE, 0, 100 + k); kind.set(s, 'tmpl'); }
    else if (k % 4 === 1) { s = t.insert4(TCP, c, 1000, VIP, 80, 0, k, 0, 1, 100 + k); kind.set(s, 'active'); }
    else { s = t.insert4(TCP, c, 1000, VIP, 80, 0, k, FL_INACTIVE, 7, 100 + k); kind.set(s, 'inactive'); }
    assert.ok(s >= 0);
  }
  const evictedSlots: number[] = [];
  t.onEvict = (s) => {
    assert.equal(t.status(s), ST_LIVE);
    assert.equal(t.isTemplate(s), false);
    assert.ok((t.flags(s) & FL_INACTIVE) !== 0);
    evictedSlots.push(t.expires(s));
  };
  // 32 inactive conns can go; 32 more inserts succeed by eviction
  let ok = 0;
  for (let k = 0; k < 40; k++) {
    if (t.insert4(UDP, ip(30, 0, 0, k), 53, VIP, 53, 0, 1000 + k, 0, 0, 500) >= 0) ok++;
    assert.ok(t.occupied <= 64);
  }
  assert.equal(ok, 32);
  assert.equal(t.evicted, 32);
  assert.equal(t.refusedFull, 8);
  assert.equal(evictedSlots.length, 32);
  assert.deepEqual(evictedSlots, [...evictedSlots].sort((a, b) => a - b), 'soonest expiry first');
  let tm = 0, act = 0;
  t.forEach((s) => { if (kind.get(s) === 'tmpl' && t.isTemplate(s)) tm++; if (kind.get(s) === 'active' && t.proto(s) === TCP) act++; });
  assert.equal(tm, 16);
  assert.equal(act, 16);
  wheelMembers(t);
  // an inactive conn appearing later is found after the next tick
  const anyActive = [...kind].find(([s, k]) => k === 'active' && t.proto(s) === TCP)![0];
  t.setFlags(anyActive, FL_INACTIVE);
  assert.equal(t.insert4(UDP, ip(31, 0, 0, 1), 53, VIP, 53, 0, 1, 0, 0, 500), -1, 'no search again in the same tick');
  t.tick(1, never);
  assert.ok(t.insert4(UDP, ip(31, 0, 0, 1), 53, VIP, 53, 0, 1, 0, 0, 500) >= 0);
  assert.equal(t.evicted, 33);
});

test('rehash keeps every entry, the wheel and the child->template links', () => {
  const t = new ConnTable({ af: 4, maxConns: 200, seed: 11 });
  const tmpl: number[] = [];
  for (let k = 0; k < 20; k++) tmpl.push(t.insert4(TCP, ip(40, 0, 0, k), 0, VIP, 80, 1, 500 + k, 0, 0, 300));
  const kids: Array<{ k: number; j: number; tk: number }> = [];
  for (let k = 0; k < 20; k++) {
    for (let j = 0; j < 5; j++) {
      const s = t.insert4(TCP, ip(40, 0, 0, k), 2000 + j, VIP, 80, 0, k * 10 + j, 0, 0, 50 + j);
      t.setControl(s, tmpl[k] + 1);
      t.setControl(tmpl[k], t.control(tmpl[k]) + 1);
      kids.push({ k, j, tk: k });
    }
  }
  const d = t.lookupIn4(TCP, ip(40, 0, 0, 3), 2001, VIP, 80, 0);
  t.kill(d);
  t.rehash();
  assert.equal(t.rehashes, 1);
  assert.equal(t.tombstones, 0);
  assert.equal(t.size, 119);
  assert.equal(t.occupied, 120);
  for (let k = 0; k < 20; k++) {
    const ts = t.lookupIn4(TCP, ip(40, 0, 0, k), 0, VIP, 80, 1);
    assert.ok(ts >= 0);
    assert.equal(t.destId(ts), 500 + k);
    assert.equal(t.control(ts), 5, 'template count unchanged');
    for (let j = 0; j < 5; j++) {
      const s = t.lookupIn4(TCP, ip(40, 0, 0, k), 2000 + j, VIP, 80, 0);
      if (k === 3 && j === 1) { assert.equal(s, -1); continue; }
      assert.ok(s >= 0);
      assert.equal(t.destId(s), k * 10 + j);
      assert.equal(t.control(s), ts + 1, 'child points at its template');
      assert.equal(t.expires(s), 50 + j);
    }
  }
  const members = wheelMembers(t);
  assert.equal(members.size, 120);
  let n = 0;
  t.tick(49, () => { n++; return 0; });
  assert.equal(n, 0);
  t.tick(54, () => { n++; return 0; });
  assert.equal(n, 100);
});

test('sweep erases only the tombstones no probe path crosses', () => {
  const t = new ConnTable({ af: 4, maxConns: 1000, seed: 21 });
  const home = (c: number): number => t.firstSlot(t.hash4(UDP, c, 1));
  // find client addresses with chosen home slots h, h+1, h+3
  const byHome = new Map<number, number[]>();
  for (let c = 1; c < 200000; c++) {
    const h = home(c);
    if (h > 1900) continue;
    let l = byHome.get(h);
    if (!l) byHome.set(h, (l = []));
    if (l.length < 2) l.push(c);
  }
  let h = -1;
  for (const [k, l] of byHome) {
    if (l.length === 2 && byHome.has(k + 1) && byHome.has(k + 3)) { h = k; break; }
  }
  assert.ok(h >= 0, 'found a layout');
  const [a1, a3] = byHome.get(h)!;
  const a2 = byHome.get(h + 1)![0];
  const a4 = byHome.get(h + 3)![0];
  const s1 = t.insert4(UDP, a1, 1, VIP, 53, 0, 1, 0, 0, 100);
  const s2 = t.insert4(UDP, a2, 1, VIP, 53, 0, 2, 0, 0, 10);
  const s3 = t.insert4(UDP, a3, 1, VIP, 53, 0, 3, 0, 0, 20);
  const s4 = t.insert4(UDP, a4, 1, VIP, 53, 0, 4, 0, 0, 100);
  assert.deepEqual([s1, s2, s3, s4], [h, h + 1, h + 2, h + 3]);
  t.tick(10, never); // frees s2: a TOMBSTONE that s3's probe path needs
  assert.equal(t.status(s2), ST_TOMBSTONE);
  assert.equal(t.sweep(t.slots), 0);
  assert.equal(t.status(s2), ST_TOMBSTONE);
  assert.equal(t.lookupIn4(UDP, a3, 1, VIP, 53, 0), s3);
  t.tick(20, never); // frees s3: now neither tombstone is needed (s4 is at home)
  assert.equal(t.tombstones, 2);
  assert.equal(t.sweep(t.slots), 2);
  assert.equal(t.status(s2), ST_EMPTY);
  assert.equal(t.status(s3), ST_EMPTY);
  assert.equal(t.tombstones, 0);
  assert.equal(t.swept, 2);
  assert.equal(t.lookupIn4(UDP, a1, 1, VIP, 53, 0), s1);
  assert.equal(t.lookupIn4(UDP, a4, 1, VIP, 53, 0), s4);
});

test('tombstone pressure: sweeps and rebuilds keep every entry', () => {
  const t = new ConnTable({ af: 4, maxConns: 200, loadFactor: 0.75, wheelSize: 8, seed: 12 });
  const live = new Map<number, number>(); // caddr -> id
  const rnd = mulberry32(12);
  let now = 0;
  let id = 0;
  for (let round = 0; round < 300; round++) {
    for (let k = 0; k < 20; k++) {
      const c = (rnd() * 4294967296) >>> 0;
      if (live.has(c)) continue;
      const s = t.insert4(UDP, c, 7, VIP, 53, 0, ++id, 0, 0, now + 1 + ((rnd() * 20) | 0));
      if (s >= 0) live.set(c, id);
    }
    now++;
    t.tick(now, (s) => { live.delete(t.caddr(s)); return 0; });
    assert.equal(t.size, live.size);
    assert.ok(t.occupied + t.tombstones < t.slots);
    for (const [c, i] of live) assert.equal(t.destId(t.lookupIn4(UDP, c, 7, VIP, 53, 0)), i);
  }
  assert.ok(t.rehashes > 0, 'rehash happened');
  assert.ok(t.swept > 0, 'sweeps happened');
  assert.equal(wheelMembers(t).size, t.occupied);
});

test('IPv6 basics', () => {
  const t = new ConnTable({ af: 6, maxConns: 64, seed: 13 });
  const ca = new Uint32Array([0, 0x20010db8, 0, 0, 1]);
  const va = new Uint32Array([0x20010db8, 0xffff, 0, 0x100]);
  const s = t.insert6(TCP, ca, 1, 45000, va, 0, 443, 0, 3, FL_INACTIVE, 2, 30);
  const tp = t.insert6(TCP, ca, 1, 0, va, 0, 443, 1, 4, 0, 0, 360);
  assert.ok(s >= 0 && tp >= 0);
  assert.equal(t.lookupIn6(TCP, ca, 1, 45000, va, 0, 443, 0), s);
  assert.equal(t.lookupIn6(TCP, ca, 1, 45000, va, 0, 443, 1), -1);
  assert.equal(t.lookupIn6(TCP, ca, 1, 0, va, 0, 443, 1), tp);
  const other = new Uint32Array([0x20010db8, 0, 0, 2]);
  assert.equal(t.lookupIn6(TCP, other, 0, 45000, va, 0, 443, 0), -1);
  const va2 = new Uint32Array([0x20010db8, 0xffff, 0, 0x101]);
  assert.equal(t.lookupIn6(TCP, ca, 1, 45000, va2, 0, 443, 0), -1);
  assert.equal(t.lookupIn6(TCP, ca, 1, 45000, va, 0, 444, 0), -1);
  assert.equal(t.cport(s), 45000);
  assert.equal(t.vport(s), 443);
  assert.equal(t.caddrWord(s, 0), 0x20010db8);
  assert.equal(t.caddrWord(s, 3), 1);
  assert.equal(t.vaddrWord(s, 1), 0xffff);
  assert.equal(t.destId(s), 3);
  assert.equal(t.expires(s), 30);
  assert.equal(t.flags(s), FL_INACTIVE);
  assert.equal(t.state(s), 2);
  assert.equal(t.isTemplate(tp), true);
  // NAT-reply style probing from hash6
  let i = t.firstSlot(t.hash6(TCP, ca, 1, 45000));
  while (t.status(i) !== ST_EMPTY && !(t.status(i) === ST_LIVE && t.cport(i) === 45000)) i = t.nextSlot(i);
  assert.equal(i, s);
  t.setControl(s, tp + 1);
  t.rehash();
  const s2 = t.lookupIn6(TCP, ca, 1, 45000, va, 0, 443, 0);
  const tp2 = t.lookupIn6(TCP, ca, 1, 0, va, 0, 443, 1);
  assert.equal(t.control(s2), tp2 + 1);
  t.kill(s2);
  assert.equal(t.lookupIn6(TCP, ca, 1, 45000, va, 0, 443, 0), -1);
  let n = 0;
  t.tick(400, () => { n++; return 0; });
  assert.equal(n, 2);
  assert.equal(t.occupied, 0);
});

test('lookupBatch4 equals single lookups', () => {
  const t = new ConnTable({ af: 4, maxConns: 5000, seed: 14 });
  const rnd = mulberry32(99);
  const keys = new Uint32Array(3000 * BATCH_KEY_WORDS);
  for (let k = 0; k < 3000; k++) {
    const proto = rnd() < 0.5 ? TCP : UDP;
    const tmpl = rnd() < 0.2 ? 1 : 0;
    const c = (rnd() * 64) >>> 0;
    const cport = tmpl ? 0 : (rnd() * 8) >>> 0;
    const vport = rnd() < 0.5 ? 80 : 443;
    keys.set([proto | (tmpl << 8), c, cport, VIP, vport], k * BATCH_KEY_WORDS);
    if (rnd() < 0.6 && t.lookupIn4(proto, c, cport, VIP, vport, tmpl) < 0) t.insert4(proto, c, cport, VIP, vport, tmpl, k, 0, 0, 100);
  }
  for (let k = 0; k < 200; k++) { // some dying ones
    const o = k * BATCH_KEY_WORDS;
    const s = t.lookupIn4(keys[o] & 0xff, keys[o + 1], keys[o + 2], keys[o + 3], keys[o + 4], keys[o] >>> 8);
    if (s >= 0 && k % 3 === 0) t.kill(s);
  }
  for (const n of [0, 1, 63, 64, 65, 3000]) {
    const out = new Int32Array(n).fill(-7);
    t.lookupBatch4(n, keys, out);
    let hits = 0;
    for (let k = 0; k < n; k++) {
      const o = k * BATCH_KEY_WORDS;
      const want = t.lookupIn4(keys[o] & 0xff, keys[o + 1], keys[o + 2], keys[o + 3], keys[o + 4], keys[o] >>> 8);
      assert.equal(out[k], want);
      if (want >= 0) hits++;
    }
    if (n === 3000) assert.ok(hits > 1000 && hits < 3000);
  }
});

test('tickBudget splits a big expiry over several calls', () => {
  const t = new ConnTable({ af: 4, maxConns: 1000, tickBudget: 100, seed: 15 });
  for (let k = 0; k < 500; k++) t.insert4(UDP, ip(60, 0, k >> 8, k & 255), 1, VIP, 53, 0, k, 0, 0, 5);
  let freed = t.tick(5, never);
  assert.equal(freed, 100);
  assert.ok(t.tickBehind);
  wheelMembers(t);
  for (let k = 0; k < 10 && t.tickBehind; k++) freed += t.tick(5, never);
  assert.equal(freed, 500);
  assert.equal(t.tickBehind, false);
  assert.equal(t.occupied, 0);
});

test('addon memory (mmap, huge)', { skip: !hasNative() && 'native addon not built' }, () => {
  for (const memory of ['mmap', 'huge'] as const) {
    const t = new ConnTable({ af: 4, maxConns: 100000, memory, seed: 16 });
    assert.equal(t.memory, memory);
    assert.equal(t.rec.length, t.slots * 8);
    const s = t.insert4(TCP, 1, 2, 3, 4, 0, 5, 0, 0, 6);
    assert.equal(t.lookupIn4(TCP, 1, 2, 3, 4, 0), s);
    t.rehash();
    assert.equal(t.destId(t.lookupIn4(TCP, 1, 2, 3, 4, 0)), 5);
  }
});

// ---------------------------------------------------------------------------------------
// Property test: random operations against a Map model.

interface ModelEntry { id: number; tmpl: number; tmplId: number; kids: number; key: string }

function property(af: 4 | 6, policy: 'refuse' | 'drop-inactive', seed: number, steps: number): void {
  const rnd = mulberry32(seed);
  const W = 16;
  const t = new ConnTable({ af, maxConns: 48, loadFactor: 0.75, wheelSize: W, policy, seed: seed * 7 + 1 });
  const model = new Map<string, ModelEntry>(); // LIVE records by key
  const byId = new Map<number, ModelEntry>(); // LIVE + DYING records by id (= destId)
  const dying = new Set<number>();
  let nextId = 1;
  let now = 0;
  let sawTomb = false;
  let sawWrap = false;
  const ca = new Uint32Array(4);
  const va = new Uint32Array(4);

  const keyOf = (proto: number, c: number, cport: number, v: number, vport: number, tmpl: number): string =>
    `${proto}/${c}/${cport}/${v}/${vport}/${tmpl}`;
  const setAddrs = (c: number, v: number): void => {
    ca[0] = 0x20010db8; ca[1] = 0; ca[2] = c * 0x10001; ca[3] = c;
    va[0] = 0x20010db8; va[1] = 1; va[2] = 0; va[3] = v;
  };
  const lookup = (proto: number, c: number, cport: number, v: number, vport: number, tmpl: number): number => {
    if (af === 4) return t.lookupIn4(proto, c, cport, v, vport, tmpl);
    setAddrs(c, v);
    return t.lookupIn6(proto, ca, 0, cport, va, 0, vport, tmpl);
  };
  const insert = (proto: number, c: number, cport: number, v: number, vport: number, tmpl: number, id: number, fl: number, e: number): number => {
    if (af === 4) return t.insert4(proto, c, cport, v, vport, tmpl, id, fl, id & 15, e);
    setAddrs(c, v);
    return t.insert6(proto, ca, 0, cport, va, 0, vport, tmpl, id, fl, id & 15, e);
  };
  const slotOfId = (id: number): number => {
    let r = -1;
    t.forEach((s) => { if (t.destId(s) === id) r = s; });
    return r;
  };
  // what the director does when a record leaves: unbind from its template
  const release = (e: ModelEntry): void => {
    byId.delete(e.id);
    dying.delete(e.id);
    if (model.get(e.key) === e) model.delete(e.key);
    if (e.tmplId !== 0) {
      const te = byId.get(e.tmplId);
      if (te) {
        te.kids--;
        const ts = slotOfId(te.id);
        t.setControl(ts, t.control(ts) - 1);
      }
    }
  };
  t.onEvict = (s) => {
    const e = byId.get(t.destId(s))!;
    assert.ok(e && !dying.has(e.id) && e.tmpl === 0, 'evicts a LIVE normal conn');
    assert.ok((t.flags(s) & FL_INACTIVE) !== 0);
    release(e);
  };
  const randKey = (): [number, number, number, number, number, number] => {
    const tmpl = rnd() < 0.25 ? 1 : 0;
    return [rnd() < 0.7 ? TCP : UDP, 1 + ((rnd() * 10) | 0), tmpl ? 0 : 1 + ((rnd() * 4) | 0), 100 + ((rnd() * 2) | 0), rnd() < 0.5 ? 80 : 443, tmpl];
  };

  const check = (step: number, ticked: boolean): void => {
    const msg = `step ${step}`;
    assert.equal(t.size, model.size, msg);
    assert.equal(t.occupied, model.size + dying.size + t.zombies, msg);
    const keys = new Set<string>();
    let tombs = 0;
    let dy = 0;
    for (let s = 0; s < t.slots; s++) {
      const st = t.status(s);
      if (st === ST_TOMBSTONE) tombs++;
      if (st === ST_DYING && (t.meta(s) & M_REAPED) === 0) { dy++; assert.ok(dying.has(t.destId(s)), msg); }
      if (st !== ST_LIVE) continue;
      const id = t.destId(s);
      const e = byId.get(id);
      assert.ok(e && !dying.has(id), `${msg}: live slot ${s} id ${id} not in model`);
      assert.ok(!keys.has(e.key), `${msg}: duplicate ${e.key}`);
      keys.add(e.key);
      assert.equal(lookup(t.proto(s), af === 4 ? t.caddr(s) : t.caddrWord(s, 3), t.cport(s), af === 4 ? t.vaddr(s) : t.vaddrWord(s, 3), t.vport(s), t.isTemplate(s) ? 1 : 0), s, msg);
      // reminders make expiry exact: nothing is overdue after a tick
      if (ticked) assert.ok(t.expires(s) > now, `${msg}: overdue record`);
      else assert.ok(t.expires(s) >= now, `${msg}: overdue record`);
      if (e.tmpl) assert.equal(t.control(s), e.kids, `${msg}: template count`);
      else if (e.tmplId !== 0 && byId.has(e.tmplId)) assert.equal(t.destId(t.control(s) - 1), e.tmplId, `${msg}: child link`);
      const home = t.firstSlot(af === 4 ? t.hash4(t.proto(s), t.caddr(s), t.cport(s)) : hash6Of(s));
      if (home > s) sawWrap = true;
    }
    if (tombs > 0) sawTomb = true;
    assert.equal(tombs, t.tombstones, msg);
    assert.equal(dy, dying.size, msg);
    assert.equal(keys.size, model.size, msg);
    for (const [k, e] of model) {
      const p = k.split('/').map(Number);
      const s = lookup(p[0], p[1], p[2], p[3], p[4], p[5]);
      assert.ok(s >= 0, `${msg}: lost ${k}`);
      assert.equal(t.destId(s), e.id, msg);
    }
    const members = wheelMembers(t);
    assert.equal(members.size, t.occupied, `${msg}: wheel membership`);
  };
  const h6 = new Uint32Array(4);
  const hash6Of = (s: number): number => {
    for (let k = 0; k < 4; k++) h6[k] = t.caddrWord(s, k);
    return t.hash6(t.proto(s), h6, 0, t.cport(s));
  };

  for (let step = 0; step < steps; step++) {
    const r = rnd();
    if (r < 0.45) {
      const k = randKey();
      const key = keyOf(...k);
      const s0 = lookup(...k);
      if (model.has(key)) { assert.ok(s0 >= 0); continue; }
      assert.equal(s0, -1);
      const id = nextId++;
      const fl = rnd() < 0.6 ? FL_INACTIVE : 0;
      const full = t.occupied >= t.maxConns;
      const before = t.refusedFull;
      const s = insert(...k, id, fl, now + 1 + ((rnd() * 40) | 0));
      if (s < 0) {
        assert.ok(full, `step ${step}: refused while not full`);
        assert.equal(t.refusedFull, before + 1);
        continue;
      }
      const e: ModelEntry = { id, tmpl: k[5], tmplId: 0, kids: 0, key };
      model.set(key, e);
      byId.set(id, e);
      if (!e.tmpl && rnd() < 0.5) { // bind to a random live template
        const tm = [...model.values()].filter((x) => x.tmpl);
        if (tm.length > 0) {
          const te = tm[(rnd() * tm.length) | 0];
          const ts = lookup(...(te.key.split('/').map(Number) as [number, number, number, number, number, number]));
          t.setControl(s, ts + 1);
          t.setControl(ts, t.control(ts) + 1);
          te.kids++;
          e.tmplId = te.id;
        }
      }
    } else if (r < 0.65) {
      const k = randKey();
      const s = lookup(...k);
      const e = model.get(keyOf(...k));
      if (e) assert.equal(t.destId(s), e.id); else assert.equal(s, -1);
    } else if (r < 0.72) {
      const live = [...model.values()].filter((x) => !x.tmpl);
      if (live.length === 0) continue;
      const e = live[(rnd() * live.length) | 0];
      const s = lookup(...(e.key.split('/').map(Number) as [number, number, number, number, number, number]));
      assert.ok(t.kill(s));
      model.delete(e.key);
      dying.add(e.id);
    } else if (r < 0.8) {
      const all = [...model.values()];
      if (all.length === 0) continue;
      const e = all[(rnd() * all.length) | 0];
      const s = lookup(...(e.key.split('/').map(Number) as [number, number, number, number, number, number]));
      t.setExpires(s, now + ((rnd() * 40) | 0));
      if (rnd() < 0.3) t.setFlags(s, t.flags(s) ^ FL_INACTIVE);
    } else {
      now += 1 + ((rnd() * 4) | 0);
      t.tick(now, (s) => {
        assert.ok(t.expires(s) <= now, 'due');
        const e = byId.get(t.destId(s))!;
        assert.ok(e, 'expiring record is known');
        if (e.tmpl && e.kids > 0) return now + 60;
        if (rnd() < 0.15) return now + 1 + ((rnd() * 30) | 0);
        release(e);
        return 0;
      });
    }
    check(step, r >= 0.8);
  }
  assert.equal(t.lateExpiries, 0);
  assert.ok(sawTomb, 'tombstones happened');
  assert.ok(sawWrap, 'wraparound happened');
  assert.ok(t.rehashes > 0, 'rehash happened');
  assert.ok(t.swept > 0, 'sweeps happened');
  if (policy === 'drop-inactive') assert.ok(t.evicted > 0, 'eviction happened');
  else assert.ok(t.refusedFull > 0, 'refusals happened');
}

test('property: random ops vs a Map model (IPv4, refuse)', () => property(4, 'refuse', 1, 6000));
test('property: random ops vs a Map model (IPv4, drop-inactive)', () => property(4, 'drop-inactive', 2, 6000));
test('property: random ops vs a Map model (IPv6, refuse)', () => property(6, 'refuse', 3, 4000));
test('property: random ops vs a Map model (IPv6, drop-inactive)', () => property(6, 'drop-inactive', 4, 4000));
