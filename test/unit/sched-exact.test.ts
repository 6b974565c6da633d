// Exact behaviour of each scheduler against the reference (§2.10): sequences, tie-breaking,
// table tiling, hash values, caches and their expiry.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Addr, parseV4 } from '../../src/core/addr';
import {
  AF_INET, DEST_F_OVERLOAD, FWD_MASQ, IPPROTO_TCP, SVC_F_SCHED_MH_FALLBACK, SVC_F_SCHED_MH_PORT,
  SVC_F_SCHED_SH_FALLBACK, SVC_F_SCHED_SH_PORT,
} from '../../src/core/constants';
import type { Dest } from '../../src/core/dest';
import type { Service } from '../../src/core/service';
import { ServiceTable, type ServiceRef } from '../../src/core/services';
import { DhScheduler } from '../../src/sched/dh';
import { hash32 } from '../../src/sched/hash';
import { hsiphashU32, siphash } from '../../src/sched/hsiphash';
import { LblcScheduler } from '../../src/sched/lblc';
import { LblcrScheduler } from '../../src/sched/lblcr';
import { MH_H1_KEY, MH_H2_KEY, MhScheduler, mhOffset, mhSkip } from '../../src/sched/mh';
import { SchedPacket } from '../../src/sched/scheduler';
import { ShScheduler, shHashKey } from '../../src/sched/sh';
import { TwosScheduler } from '../../src/sched/twos';

// ---- helpers ------------------------------------------------------------------------

interface Lab {
  table: ServiceTable;
  ref: ServiceRef;
  svc: Service;
  /** -a ip:port weight; returns the dest. */
  add(ip: string, weight: number, port?: number): Dest;
  /** -e ip:port weight */
  edit(ip: string, weight: number, port?: number): Dest;
  /** -d ip:port */
  del(ip: string, port?: number): void;
}

function lab(scheduler: string, schedFlags = 0): Lab {
  const table = new ServiceTable();
  const ref: ServiceRef = { af: AF_INET, proto: IPPROTO_TCP, addr: Addr.parse('192.0.2.1')!, port: 80, fwmark: 0 };
  const svc = table.addService({ ...ref, scheduler, schedFlags });
  const spec = (ip: string, weight: number, port: number) =>
    ({ addr: Addr.parse(ip)!, port, weight, fwd: FWD_MASQ, uThreshold: 0, lThreshold: 0 });
  return {
    table, ref, svc,
    add: (ip, weight, port = 80) => table.addDest(ref, spec(ip, weight, port)),
    edit: (ip, weight, port = 80) => table.editDest(ref, spec(ip, weight, port)),
    del: (ip, port = 80) => table.deleteDest(ref, Addr.parse(ip)!, port),
  };
}

const pkt = new SchedPacket();
const VIP = parseV4('192.0.2.1');

/** Schedules `n` connections from one client and returns the chosen dests' addresses. */
function sequence(svc: Service, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = svc.scheduler.schedule(svc, pkt.setV4(parseV4('198.51.100.7'), 1000 + i, VIP, 80));
    out.push(d ? d.addr.toString() : '-');
  }
  return out;
}

/** Letters for a sequence over dests named by their last octet: 10.0.0.1 -> A, .2 -> B … */
function letters(svc: Service, n: number): string {
  return sequence(svc, n).map((a) => (a === '-' ? '-' : String.fromCharCode(64 + Number(a.split('.')[3])))).join(' ');
}

const A = '10.0.0.1', B = '10.0.0.2', C = '10.0.0.3', D = '10.0.0.4';

// ---- hashes -----------------------------------------------------------------------------

describe('hashes', () => {
  test('SipHash-2-4 core matches the published test vector', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    const msg = Uint8Array.from({ length: 15 }, (_, i) => i);
    // Aumasson & Bernstein, appendix A: 0xa129ca6149be45e5.
    assert.deepEqual(siphash(key, msg, 2, 4), [0xa129ca61, 0x49be45e5]);
    // Empty message, first entry of the reference vectors file (bytes 31 0e 0e dd 47 db 6f 72).
    assert.deepEqual(siphash(key, new Uint8Array(0), 2, 4), [0x726fdb47, 0xdd0e0e31]);
    // A message of exactly one 8-byte word plus a full final block path.
    const m8 = Uint8Array.from({ length: 8 }, (_, i) => i);
    // vectors_sip64[8] = 62 24 93 9a 79 f5 f5 93
    assert.deepEqual(siphash(key, m8, 2, 4), [0x93f5f579, 0x9a932462]);
  });

  test('hsiphash (SipHash-1-3, both key words equal) gives the reference H1/H2 values', () => {
    const rows: [number, number, number][] = [
      [0xc0a80152, 0x529f7fe7, 0x5574829d],
      [0xc0a80153, 0x7d6cecd1, 0xaf3d77fd],
      [0x0a000001, 0x03080ce4, 0x48f9d0c1],
    ];
    for (const [v, h1, h2] of rows) {
      assert.equal(hsiphashU32(v, MH_H1_KEY), h1, `H1(${v.toString(16)})`);
      assert.equal(hsiphashU32(v, MH_H2_KEY), h2, `H2(${v.toString(16)})`);
    }
  });

  test('hsiphashU32 equals the generic core with c=1, d=3 and the 16-byte key', () => {
    const key = new Uint8Array(16);
    new DataView(key.buffer).setUint32(0, MH_H1_KEY, true);
    new DataView(key.buffer).setUint32(8, MH_H1_KEY, true);
    for (const v of [0, 1, 0xdeadbeef, 0xffffffff]) {
      const msg = new Uint8Array(4);
      new DataView(msg.buffer).setUint32(0, v, true);
      assert.equal(hsiphashU32(v, MH_H1_KEY), siphash(key, msg, 1, 3)[1]);
    }
  });

  test('hash_32 is the top bits of x * 0x61C88647 mod 2^32', () => {
    assert.equal(hash32(0, 8), 0);
    assert.equal(hash32(1, 32), 0x61c88647);
    assert.equal(hash32(parseV4('10.1.1.1'), 8), 118);
    // Wrap-around of port + address as in C unsigned arithmetic.
    assert.equal(hash32(0xffffffff + 2, 8), hash32(1, 8));
  });
});

// ---- rr -----------------------------------------------------------------------------------

describe('rr', () => {
  test('order is list order, newest-added first, and skips weight 0 and OVERLOAD', () => {
    const l = lab('rr');
    l.add(A, 1); l.add(B, 5); l.add(C, 1);
    assert.equal(letters(l.svc, 6), 'C B A C B A');
    l.edit(B, 0);
    assert.equal(letters(l.svc, 4), 'C A C A');
    l.svc.dests[0].flags |= DEST_F_OVERLOAD; // C
    assert.equal(letters(l.svc, 2), 'A A');
    l.svc.dests[2].flags |= DEST_F_OVERLOAD; // A
    assert.equal(letters(l.svc, 1), '-');
  });

  test('adding a dest does not move the pointer', () => {
    const l = lab('rr');
    l.add(A, 1); l.add(B, 1);
    assert.equal(letters(l.svc, 1), 'B');
    l.add(C, 1); // list C B A, pointer still on B
    assert.equal(letters(l.svc, 4), 'A C B A');
  });

  test('deleting the dest under the pointer moves it to its predecessor', () => {
    const l = lab('rr');
    l.add(A, 1); l.add(B, 1); l.add(C, 1); l.add(D, 1); // D C B A
    assert.equal(letters(l.svc, 3), 'D C B');
    l.del(B); // pointer -> C, so next is the one after C: A
    assert.equal(letters(l.svc, 3), 'A D C');
    l.del(D); // D was not under the pointer (C is): next after C is A
    assert.equal(letters(l.svc, 1), 'A');
    l.del(A); // under the pointer, first is C: pointer -> C
    assert.equal(letters(l.svc, 2), 'C C');
    l.del(C); // the first dest: pointer -> head
    l.add(B, 1);
    assert.equal(letters(l.svc, 1), 'B');
  });
});

// ---- wrr ----------------------------------------------------------------------------------

describe('wrr', () => {
  test('-A then -a C w2, B w3, A w4: A B C, then A A B A B C repeating A B C', () => {
    const l = lab('wrr');
    l.add(C, 2); l.add(B, 3); l.add(A, 4);
    assert.equal(letters(l.svc, 3 + 9 + 9), 'A B C ' + 'A A B A B C A B C '.repeat(2).trim());
  });

  test('bound by -E to an existing list: A4 B3 C2 gives A A B A B C A B C', () => {
    const l = lab('wlc');
    l.add(C, 2); l.add(B, 3); l.add(A, 4);
    l.table.editService({ ...l.ref, scheduler: 'wrr' });
    assert.equal(letters(l.svc, 18), 'A A B A B C A B C A A B A B C A B C');
  });

  test('A4 B2 C2: A A B C bound by -E; A B C first when built by -a', () => {
    const e = lab('wlc');
    e.add(C, 2); e.add(B, 2); e.add(A, 4);
    e.table.editService({ ...e.ref, scheduler: 'wrr' });
    assert.equal(letters(e.svc, 8), 'A A B C A A B C');
    const a = lab('wrr');
    a.add(C, 2); a.add(B, 2); a.add(A, 4);
    assert.equal(letters(a.svc, 3 + 8), 'A B C A A B C A A B C');
  });

  test('an edit restarts from the head; all-overloaded fails and then recovers', () => {
    const l = lab('wlc');
    l.add(B, 1); l.add(A, 1);
    l.table.editService({ ...l.ref, scheduler: 'wrr' });
    assert.equal(letters(l.svc, 3), 'A B A');
    l.edit(B, 1); // cl -> head
    assert.equal(letters(l.svc, 2), 'A B');
    for (const d of l.svc.dests) d.flags |= DEST_F_OVERLOAD;
    assert.equal(letters(l.svc, 2), '- -');
    for (const d of l.svc.dests) d.flags &= ~DEST_F_OVERLOAD;
    assert.equal(letters(l.svc, 2), 'A B');
    l.edit(A, 0); l.edit(B, 0);
    assert.equal(letters(l.svc, 1), '-');
  });
});

// ---- least-connection family: ties go to the earliest in list order ----------------------------

describe('lc, wlc, sed, nq, fo, ovf tie-breaking', () => {
  function three(sched: string, wA: number, wB: number, wC: number) {
    const l = lab(sched);
    const c = l.add(C, wC), b = l.add(B, wB), a = l.add(A, wA); // list A B C
    return { l, a, b, c };
  }
  const pick = (svc: Service) => svc.scheduler.schedule(svc, pkt.setV4(1, 1, VIP, 80));

  test('lc: least ActiveConn*256+InActConn, weight size ignored, earliest wins', () => {
    const { l, a, b, c } = three('lc', 1, 5, 1);
    assert.equal(pick(l.svc), a);
    a.inactConns = 1;
    assert.equal(pick(l.svc), b);
    b.activeConns = 1; c.inactConns = 255; // a 1, b 256, c 255
    assert.equal(pick(l.svc), a);
    a.inactConns = 255; // tie a/c at 255: a earlier
    assert.equal(pick(l.svc), a);
  });

  test('wlc: overhead/weight by cross-multiplication, earliest wins ties', () => {
    const { l, a, b, c } = three('wlc', 1, 2, 1);
    assert.equal(pick(l.svc), a);
    a.activeConns = 1; b.activeConns = 2; c.activeConns = 1; // 256/1 = 512/2 = 256/1
    assert.equal(pick(l.svc), a);
    a.inactConns = 1; // a 257/1 > b 512/2; c 256/1 only ties with b
    assert.equal(pick(l.svc), b);
    a.inactConns = 0; a.flags |= DEST_F_OVERLOAD;
    assert.equal(pick(l.svc), b, 'first eligible becomes the candidate');
  });

  test('sed: (ActiveConn+1)/weight, inactive ignored, earliest wins ties', () => {
    const { l, a, b, c } = three('sed', 1, 2, 3);
    assert.equal(pick(l.svc), c, 'idle: 1/3 is the least expected delay');
    c.activeConns = 2; // 3/3 = 1/1 ties with a, b is 1/2
    assert.equal(pick(l.svc), b);
    b.activeConns = 1; // a 1/1, b 2/2, c 3/3: all tie
    b.inactConns = 1000;
    assert.equal(pick(l.svc), a);
  });

  test('nq: first idle dest at once, else sed with earliest on ties', () => {
    const { l, a, b, c } = three('nq', 1, 2, 3);
    assert.equal(pick(l.svc), a, 'a is idle, and first');
    a.activeConns = 1;
    assert.equal(pick(l.svc), b, 'b is the first idle one');
    b.activeConns = 3; c.activeConns = 5; // a 2/1, b 4/2, c 6/3: all tie
    assert.equal(pick(l.svc), a);
    c.activeConns = 4; // c 5/3 < 2
    assert.equal(pick(l.svc), c);
  });

  test('fo: highest weight, earliest on equal weights, connections ignored', () => {
    const { l, a, b, c } = three('fo', 2, 3, 3);
    b.activeConns = 1000;
    assert.equal(pick(l.svc), b);
    b.flags |= DEST_F_OVERLOAD;
    assert.equal(pick(l.svc), c);
    l.edit(C, 0);
    assert.equal(pick(l.svc), a);
  });

  test('ovf: highest weight while ActiveConn <= weight, earliest on ties, then overflow', () => {
    const { l, a, b, c } = three('ovf', 2, 3, 3);
    b.activeConns = 3;
    assert.equal(pick(l.svc), b, '3 active is not more than weight 3');
    b.activeConns = 4;
    assert.equal(pick(l.svc), c);
    c.activeConns = 4;
    assert.equal(pick(l.svc), a);
    a.activeConns = 3;
    assert.equal(pick(l.svc), null);
  });
});

// ---- sh ---------------------------------------------------------------------------------

describe('sh', () => {
  test('client 10.1.1.1 without port hashes to bucket 118', () => {
    assert.equal(shHashKey(parseV4('10.1.1.1'), 0), 118);
    const l = lab('sh');
    l.add(A, 1); l.add(B, 1); l.add(C, 1);
    const sh = l.svc.scheduler as ShScheduler;
    const d = sh.schedule(l.svc, pkt.setV4(parseV4('10.1.1.1'), 5555, VIP, 80));
    assert.equal(d, sh.bucket(118));
    assert.equal(d, l.svc.dests[118 % 3]);
  });

  test('tiling: cyclic over the list, `weight` buckets each, weight 0 takes one', () => {
    const l = lab('sh');
    l.add(C, 0); l.add(B, 1); l.add(A, 2); // list A B C
    const sh = l.svc.scheduler as ShScheduler;
    const pattern = ['A', 'A', 'B', 'C'];
    for (let i = 0; i < 256; i++) {
      assert.equal(sh.bucket(i)!.addr.toString(), { A, B, C }[pattern[i % 4] as 'A' | 'B' | 'C'], `bucket ${i}`);
    }
    l.edit(B, 3); // re-tiled: A A B B B C
    const p2 = [A, A, B, B, B, C];
    for (let i = 0; i < 256; i++) assert.equal(sh.bucket(i)!.addr.toString(), p2[i % 6]);
    l.del(A); l.del(B); l.del(C);
    assert.equal(sh.bucket(0), null);
  });

  test('sh-port hashes port + address; sh-fallback probes (k + 2·bucket) mod 256', () => {
    const l = lab('sh', SVC_F_SCHED_SH_PORT);
    l.add(C, 0); l.add(B, 1); l.add(A, 2);
    const sh = l.svc.scheduler as ShScheduler;
    const client = parseV4('203.0.113.9');
    for (let port = 1000; port < 1100; port++) {
      const bucket = hash32(client + port, 8);
      const want = sh.bucket(bucket)!;
      const got = sh.schedule(l.svc, pkt.setV4(client, port, VIP, 80));
      assert.equal(got, want.weight > 0 ? want : null, `port ${port}`);
    }
    // Now with fallback: a client landing on C (weight 0) goes to the first available probe.
    l.table.editService({ ...l.ref, scheduler: 'sh', schedFlags: SVC_F_SCHED_SH_FALLBACK });
    let checked = 0;
    for (let i = 0; i < 400; i++) {
      const caddr = client + i;
      const ihash = hash32(caddr, 8);
      if (sh.bucket(ihash)!.weight > 0) continue;
      let want: Dest | null = null;
      for (let k = 0; k < 256 && !want; k++) {
        const d = sh.bucket((k + 2 * ihash) % 256)!;
        if (d.weight > 0) want = d;
      }
      assert.equal(sh.schedule(l.svc, pkt.setV4(caddr, 1, VIP, 80)), want);
      checked++;
    }
    assert.ok(checked > 50);
  });
});

// ---- dh ---------------------------------------------------------------------------------

describe('dh', () => {
  test('one dest per bucket round-robin, keyed by hash_32(daddr, 8); weight 0 fails', () => {
    const l = lab('dh');
    l.add(C, 1); l.add(B, 9); l.add(A, 1); // list A B C; weights do not tile
    const dh = l.svc.scheduler as DhScheduler;
    for (let i = 0; i < 256; i++) assert.equal(dh.bucket(i), l.svc.dests[i % 3]);
    for (let i = 0; i < 50; i++) {
      const daddr = parseV4('198.18.0.0') + i * 97;
      const got = dh.schedule(l.svc, pkt.setV4(parseV4('10.9.9.9') + i, 1, daddr, 80));
      assert.equal(got, l.svc.dests[hash32(daddr, 8) % 3]);
    }
    l.edit(B, 0);
    const onB = [...Array(256).keys()].find((i) => hash32(parseV4('198.18.0.0') + i, 8) % 3 === 1)!;
    assert.equal(dh.schedule(l.svc, pkt.setV4(1, 1, parseV4('198.18.0.0') + onB, 80)), null);
  });
});

// ---- mh ---------------------------------------------------------------------------------

describe('mh', () => {
  test('offset and skip of the reference dests (M = 4093)', () => {
    const rows: [string, number, number, number][] = [
      ['192.168.1.2', 80, 183, 1302],
      ['192.168.1.3', 80, 1446, 594],
      ['10.0.0.1', 0, 3711, 966],
    ];
    for (const [ip, port, offset, skip] of rows) {
      const v = parseV4(ip) + port;
      assert.equal(mhOffset(v, 4093), offset, `${ip}:${port} offset`);
      assert.equal(mhSkip(v, 4093), skip, `${ip}:${port} skip`);
    }
    // In a table, each of them claims its offset first (one turn each, none taken yet).
    const l = lab('mh');
    l.add('10.0.0.1', 1, 0); l.add('192.168.1.3', 1); l.add('192.168.1.2', 1);
    const mh = l.svc.scheduler as MhScheduler;
    assert.equal(mh.size, 4093);
    assert.equal(mh.slot(183)!.toString(), '192.168.1.2:80');
    assert.equal(mh.slot(1446)!.toString(), '192.168.1.3:80');
    assert.equal(mh.slot(3711)!.toString(), '10.0.0.1:0');
  });

  test('every slot is filled and shares follow the weights', () => {
    for (const size of [4093, 65521]) {
      const l = lab('wlc');
      const ws = [1, 2, 3, 6];
      ws.forEach((w, i) => l.add(`10.1.0.${i + 1}`, w));
      const mh = new MhScheduler(l.svc, size);
      l.svc.scheduler = mh;
      const count = new Map<Dest, number>();
      for (let s = 0; s < size; s++) {
        const d = mh.slot(s);
        assert.ok(d, `slot ${s} filled`);
        count.set(d, (count.get(d) ?? 0) + 1);
      }
      for (const d of l.svc.dests) {
        const want = (size * d.weight) / 12;
        assert.ok(Math.abs(count.get(d)! - want) <= 6, `${d} has ${count.get(d)} of ${size}, want ~${want}`);
      }
    }
  });

  test('lookup is slot H1(port + client) mod M; mh-port adds the source port', () => {
    const l = lab('mh');
    for (let i = 1; i <= 5; i++) l.add(`10.2.0.${i}`, i);
    const mh = l.svc.scheduler as MhScheduler;
    for (let i = 0; i < 200; i++) {
      const caddr = parseV4('100.64.0.0') + i * 131;
      const got = mh.schedule(l.svc, pkt.setV4(caddr, 40000 + i, VIP, 80));
      assert.equal(got, mh.slot(hsiphashU32(caddr, MH_H1_KEY) % 4093));
    }
    l.table.editService({ ...l.ref, scheduler: 'mh', schedFlags: SVC_F_SCHED_MH_PORT });
    for (let i = 0; i < 200; i++) {
      const caddr = parseV4('100.64.0.0') + i * 131;
      const got = mh.schedule(l.svc, pkt.setV4(caddr, 40000 + i, VIP, 80));
      assert.equal(got, mh.slot(hsiphashU32((caddr + 40000 + i) >>> 0, MH_H1_KEY) % 4093));
    }
  });

  test('quiescing keeps the table (last_weight); fallback probes H1(roffset + v) mod M', () => {
    const l = lab('mh');
    l.add(A, 1); l.add(B, 2); l.add(C, 3);
    const mh = l.svc.scheduler as MhScheduler;
    const before = Array.from({ length: 4093 }, (_, s) => mh.slot(s));
    l.edit(B, 0);
    for (let s = 0; s < 4093; s++) assert.ok(mh.slot(s) === before[s], `slot ${s} unchanged`);
    const onB: number[] = [];
    for (let i = 0; onB.length < 20; i++) {
      const caddr = parseV4('100.65.0.0') + i;
      if (mh.slot(hsiphashU32(caddr, MH_H1_KEY) % 4093)!.addr.toString() === B) onB.push(caddr);
    }
    for (const caddr of onB) assert.equal(mh.schedule(l.svc, pkt.setV4(caddr, 1, VIP, 80)), null);
    l.table.editService({ ...l.ref, scheduler: 'mh', schedFlags: SVC_F_SCHED_MH_FALLBACK });
    for (const caddr of onB) {
      const ihash = hsiphashU32(caddr, MH_H1_KEY) % 4093;
      let want: Dest | null = null;
      for (let k = 0; k < 4093 && !want; k++) {
        const d = mh.slot(hsiphashU32((((k + ihash) % 4093) + caddr) >>> 0, MH_H1_KEY) % 4093)!;
        if (d.weight > 0) want = d;
      }
      assert.ok(want);
      assert.equal(mh.schedule(l.svc, pkt.setV4(caddr, 1, VIP, 80)), want);
    }
    // A client not on B keeps its dest.
    const other = parseV4('100.66.0.1');
    const slotDest = mh.slot(hsiphashU32(other, MH_H1_KEY) % 4093)!;
    if (slotDest.weight > 0) assert.equal(mh.schedule(l.svc, pkt.setV4(other, 1, VIP, 80)), slotDest);
  });

  test('removing a dest moves few of the other clients', () => {
    const l = lab('mh');
    for (let i = 1; i <= 10; i++) l.add(`10.3.0.${i}`, 1);
    const mh = l.svc.scheduler as MhScheduler;
    const before = Array.from({ length: 4093 }, (_, s) => mh.slot(s));
    l.del('10.3.0.5');
    let moved = 0;
    for (let s = 0; s < 4093; s++) {
      if (before[s]!.addr.toString() !== '10.3.0.5' && mh.slot(s) !== before[s]) moved++;
    }
    assert.ok(moved < 4093 * 0.05, `${moved} slots of surviving dests moved`);
    for (let i = 1; i <= 10; i++) if (i !== 5) l.del(`10.3.0.${i}`);
    assert.equal(mh.slot(0), null);
    assert.equal(mh.schedule(l.svc, pkt.setV4(1, 1, VIP, 80)), null);
  });
});

// ---- lblc / lblcr -------------------------------------------------------------------------

describe('lblc', () => {
  const to = (daddr: string) => pkt.setV4(parseV4('10.200.0.1'), 1234, parseV4(daddr), 80);

  test('a destination address sticks to its dest until that dest is overloaded or gone', () => {
    const l = lab('lblc');
    const b = l.add(B, 1), a = l.add(A, 1); // list A B
    const s = l.svc.scheduler as LblcScheduler;
    assert.equal(s.schedule(l.svc, to('198.18.0.1')), a, 'miss: wlc');
    a.activeConns = 1;
    assert.equal(s.schedule(l.svc, to('198.18.0.2')), b, 'another address: wlc');
    assert.equal(s.schedule(l.svc, to('198.18.0.1')), a, 'hit, though wlc would say b');
    a.activeConns = 2; // > weight 1, and b has 0*2 < 1: "overloaded"
    assert.equal(s.schedule(l.svc, to('198.18.0.1')), b);
    assert.equal(s.cache.entries, 2);
    a.activeConns = 0; b.activeConns = 1;
    assert.equal(s.schedule(l.svc, to('198.18.0.1')), b, 'entry now holds b');
    b.flags |= DEST_F_OVERLOAD;
    assert.equal(s.schedule(l.svc, to('198.18.0.1')), b, 'OVERLOAD flag alone does not move a hit');
    b.flags &= ~DEST_F_OVERLOAD;
    l.edit(B, 0);
    assert.equal(s.schedule(l.svc, to('198.18.0.1')), a, 'weight 0: rescheduled');
    l.del(A);
    l.edit(B, 1);
    assert.equal(s.schedule(l.svc, to('198.18.0.1')), b, 'deleted: rescheduled');
  });

  test('IPv6-fold collisions stay apart (entries match the full address)', () => {
    const table = new ServiceTable();
    const ref: ServiceRef = { af: 10, proto: IPPROTO_TCP, addr: Addr.parse('2001:db8::1')!, port: 80, fwmark: 0 };
    const svc = table.addService({ ...ref, scheduler: 'lblc' });
    const mk = (ip: string) => table.addDest(ref, { addr: Addr.parse(ip)!, port: 80, weight: 1, fwd: FWD_MASQ, uThreshold: 0, lThreshold: 0 });
    const y = mk('2001:db8::b'), x = mk('2001:db8::a');
    const p6 = new SchedPacket();
    p6.af = 10;
    p6.daddr.set([1, 2, 0, 0]); // fold 3
    assert.equal(svc.scheduler.schedule(svc, p6), x);
    x.activeConns = 1;
    p6.daddr.set([0, 0, 2, 1]); // fold 3 as well, another address
    assert.equal(svc.scheduler.schedule(svc, p6), y);
    assert.equal((svc.scheduler as LblcScheduler).cache.entries, 2);
  });

  test('expiry: full sweep on the 30th collection removes entries idle >= expiration', () => {
    const l = lab('lblc');
    l.add(A, 1);
    const s = l.svc.scheduler as LblcScheduler;
    s.cache.expiration = 100;
    s.tick(0); // arms the first collection at 60 s
    s.schedule(l.svc, to('198.18.0.1'));
    s.tick(30);
    s.schedule(l.svc, to('198.18.0.2')); // last used at 30
    for (let t = 60; t < 1800; t += 60) s.tick(t);
    assert.equal(s.cache.entries, 2, '29 collections: no full sweep yet');
    s.tick(1800); // 30th collection
    assert.equal(s.cache.entries, 0);
  });

  test('over maxSize: removes entries idle >= 6 min, about (n - max)·4/3 of them, at most max/2', () => {
    const l = lab('lblc');
    l.add(A, 1);
    const s = l.svc.scheduler as LblcScheduler;
    s.tick(0);
    for (let i = 0; i < 40; i++) s.schedule(l.svc, to(`198.18.1.${i}`));
    assert.equal(s.cache.entries, 40);
    s.cache.maxSize = 16;
    s.tick(60);
    assert.equal(s.cache.entries, 40, 'nothing idle for 6 minutes yet');
    s.tick(360);
    const left = s.cache.entries;
    // goal = min((40-16)*4/3, 8) = 8; whole buckets go, so at least 8 are removed.
    assert.ok(left <= 32 && left >= 20, `${left} left`);
  });

  test('no new entry at 1.5·maxSize; the connection is still scheduled', () => {
    const l = lab('lblc');
    const a = l.add(A, 1);
    const s = l.svc.scheduler as LblcScheduler;
    s.cache.maxSize = 4;
    for (let i = 0; i < 10; i++) assert.equal(s.schedule(l.svc, to(`198.18.2.${i}`)), a);
    assert.equal(s.cache.entries, 6);
  });
});

describe('lblcr', () => {
  const to = (daddr: string) => pkt.setV4(parseV4('10.200.0.1'), 1234, parseV4(daddr), 80);

  test('the set grows when its best member is overloaded and shrinks after expiration', () => {
    const l = lab('lblcr');
    const c = l.add(C, 1), b = l.add(B, 1), a = l.add(A, 1); // list A B C
    const s = l.svc.scheduler as LblcrScheduler;
    s.cache.expiration = 100;
    s.tick(0);
    const X = to('198.18.0.1');
    assert.equal(s.schedule(l.svc, X), a);
    assert.deepEqual(s.cachedSet(X), [a]);
    a.activeConns = 2; // "overloaded": 2 > 1 and b, c have 0*2 < 1
    assert.equal(s.schedule(l.svc, X), b, 'wlc over the service');
    assert.deepEqual(s.cachedSet(X), [b, a], 'newest member first');
    b.activeConns = 1;
    assert.equal(s.schedule(l.svc, X), b, 'least loaded member of the set (1 < 2)');
    b.activeConns = 3; c.activeConns = 0;
    assert.equal(s.schedule(l.svc, X), c, 'a and b overloaded: c joins');
    assert.deepEqual(s.cachedSet(X), [c, b, a]);
    // Not modified for more than `expiration`: the most loaded member (b, 3/1) leaves.
    s.tick(101);
    c.activeConns = 1;
    assert.equal(s.schedule(l.svc, X), c);
    assert.deepEqual(s.cachedSet(X), [c, a]);
    assert.equal(s.schedule(l.svc, X), c);
    assert.deepEqual(s.cachedSet(X), [c, a], 'just modified: no further shrinking');
    s.tick(300);
    s.schedule(l.svc, X);
    assert.deepEqual(s.cachedSet(X), [c], 'a (2/1) was the most loaded');
    s.tick(500);
    s.schedule(l.svc, X);
    assert.deepEqual(s.cachedSet(X), [c], 'a single member is kept');
  });

  test('members that left the service or are quiesced are not chosen', () => {
    const l = lab('lblcr');
    const b = l.add(B, 1), a = l.add(A, 1);
    const s = l.svc.scheduler as LblcrScheduler;
    const X = to('198.18.0.9');
    assert.equal(s.schedule(l.svc, X), a);
    l.del(A);
    assert.equal(s.schedule(l.svc, X), b);
    assert.deepEqual(s.cachedSet(X), [b, a]);
    l.edit(B, 0);
    assert.equal(s.schedule(l.svc, X), null);
  });
});

// ---- twos -------------------------------------------------------------------------------

describe('twos', () => {
  test('weighted draws from an injected RNG, then the less loaded per weight', () => {
    const l = lab('wlc');
    const c = l.add(C, 3), b = l.add(B, 2), a = l.add(A, 1); // list A B C, W = 6
    const draws: number[] = [];
    let queue: number[] = [];
    const twos = new TwosScheduler((max) => {
      draws.push(max);
      return queue.shift()!;
    });
    l.svc.scheduler = twos;
    const go = (r1: number, r2: number) => {
      queue = [r1, r2];
      return twos.schedule(l.svc, pkt.setV4(1, 1, VIP, 80));
    };
    assert.equal(go(0, 6), a, 'both idle: choice 1 (r1 = 0 -> A, r2 = 6 -> C)');
    assert.deepEqual(draws, [6, 6], 'draws are uniform in [0, W]');
    a.activeConns = 1;
    assert.equal(go(0, 6), c, 'A busier per weight than C');
    assert.equal(go(1, 2), b, 'r1 = 1 -> A (1 - 1 <= 0), r2 = 2 -> B (2 - 1 - 2 <= 0); 2·256 > 1·0');
    b.activeConns = 1; // B 256/2 vs A 256/1
    assert.equal(go(1, 2), b);
    b.activeConns = 2; // B 512/2 = A 256/1: a tie keeps choice 1
    assert.equal(go(1, 2), a);
    assert.equal(go(5, 5), c, 'the same dest twice');
    c.flags |= DEST_F_OVERLOAD; // W = 3 now
    draws.length = 0;
    assert.equal(go(3, 3), b);
    assert.deepEqual(draws, [3, 3]);
  });
});
