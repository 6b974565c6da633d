// The sync master's table walk (src/ha/sync/walk.ts), driven step by step as the
// SyncManager's timer would (walker.step() then master.drain(); no sockets, no timers):
// pacing over the period, pause/resume when the master's ring is full, the end-of-walk
// marker closing each pass after the pass's entries, nothing lost, only synced kinds walked,
// and the marker's bytes as a kernel backup would read them (v1 and v0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Addr, parseV4 } from '../../src/core/addr';
import { AF_INET, FWD_DROUTE, IPPROTO_TCP, IPPROTO_UDP } from '../../src/core/constants';
import { Director } from '../../src/core/director';
import { TH_SYN } from '../../src/conn/tcp-states';
import { SyncMessage, decodeSyncMessage } from '../../src/ha/sync/codec';
import { SyncMaster } from '../../src/ha/sync/master';
import { SyncBackup } from '../../src/ha/sync/backup';
import { TableWalker } from '../../src/ha/sync/walk';

const VIP = parseV4('192.0.2.100');
const CLIENT = parseV4('198.51.100.1');

function director(proto: number): Director {
  const d = new Director({ now: 100, maxConns: 64 });
  const ref = { af: AF_INET as 2, proto, addr: Addr.v4(VIP), port: 80, fwmark: 0 };
  d.services.addService({ ...ref, scheduler: 'rr' });
  d.services.addDest(ref, { addr: Addr.parse('192.0.2.11')!, port: 80, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  d.sync();
  return d;
}

/** A message as the test sees it: the cports of its entries (empty = a marker). */
type Msg = number[];

function rig(opts: { conns: number; ringSize?: number; version?: 0 | 1; periodMs?: number; stepMs?: number }) {
  const d = director(IPPROTO_UDP);
  // one packet each: below the threshold (3), so the packet path records nothing
  for (let i = 0; i < opts.conns; i++) d.inPacket4(IPPROTO_UDP, CLIENT, 10000 + i, VIP, 80, 0, 60);
  const msgs: Msg[] = [];
  const raw: Uint8Array[] = [];
  const m = new SyncMaster(d, {
    syncid: 7, maxlen: 1472, version: opts.version ?? 1, ringSize: opts.ringSize,
    send: (buf, len) => {
      const copy = buf.slice(0, len);
      raw.push(copy);
      const msg = new SyncMessage();
      assert.equal(decodeSyncMessage(copy, 0, len, 0, msg), 0);
      msgs.push(msg.conns.slice(0, msg.count).map((c) => c.cport));
    },
  });
  d.syncHook = m;
  assert.equal(m.pending, 0, 'the packet path recorded nothing');
  const w = new TableWalker(d, m, opts.periodMs ?? 1000, opts.stepMs ?? 100);
  const tick = () => {
    w.step();
    m.drain();
  };
  return { d, m, w, msgs, raw, tick };
}

const isMarker = (m: Msg) => m.length === 0;

test('walk: a pass takes one period, visits a share of the slots per step, ends with one marker', () => {
  const r = rig({ conns: 40 }); // 64 conns max -> 128 slots; 1000 / 100 = 10 steps of 13 slots
  const slots = r.d.conns.slots;
  const share = Math.ceil(slots / 10);
  let queuedBefore = 0;
  for (let step = 1; step <= 10; step++) {
    const before = r.msgs.length;
    r.tick();
    const queued = r.m.counters.walkQueued - queuedBefore;
    queuedBefore = r.m.counters.walkQueued;
    assert.ok(queued <= share, `step ${step}: ${queued} conns queued, at most ${share} slots visited`);
    const markers = r.msgs.slice(before).filter(isMarker).length;
    assert.equal(markers, step < 10 ? 0 : 1, `step ${step}: the marker comes at the end of the pass only`);
  }
  assert.equal(r.w.passes, 1);
  assert.equal(r.m.counters.markersSent, 1);
  const entries = r.msgs.flat();
  assert.equal(entries.length, 40, 'each conn once');
  assert.deepEqual([...new Set(entries)].sort(), Array.from({ length: 40 }, (_, i) => 10000 + i));
  assert.ok(isMarker(r.msgs[r.msgs.length - 1]), 'the marker is the last message, after the entries');
  // spread: with 40 conns hashed over 128 slots, no single step sends them all
  assert.ok(r.msgs.filter((m) => !isMarker(m)).length >= 3, 'entries are spread over several steps');
});

test('walk: the next pass starts at slot 0 and sends everything again', () => {
  const r = rig({ conns: 25 });
  for (let i = 0; i < 20; i++) r.tick();
  assert.equal(r.w.passes, 2);
  const markerAt = r.msgs.map((m, i) => (isMarker(m) ? i : -1)).filter((i) => i >= 0);
  assert.equal(markerAt.length, 2);
  const second = r.msgs.slice(markerAt[0] + 1, markerAt[1]).flat();
  assert.equal(second.length, 25);
  assert.equal(new Set(second).size, 25);
});

test('walk: a full ring pauses the pass where it is; it resumes next step, loses nothing, the marker still ends it', () => {
  const r = rig({ conns: 40, ringSize: 4, periodMs: 200, stepMs: 100 }); // 2 steps of 64 slots, 4 places
  let steps = 0;
  while (r.w.passes === 0 && steps < 100) {
    r.tick();
    steps++;
    assert.ok(r.msgs.filter((m) => !isMarker(m)).every((m) => m.length <= 4), 'never more than the ring per drain');
  }
  assert.equal(r.w.passes, 1);
  assert.equal(steps, 10, '40 conns through a ring of 4: ten steps instead of two');
  assert.equal(r.m.counters.ringFull, 0, 'the walk waits; it never counts a lost sync');
  const entries = r.msgs.filter((m) => !isMarker(m)).flat();
  assert.equal(entries.length, 40);
  assert.equal(new Set(entries).size, 40, 'every conn once, none lost, none twice');
  assert.equal(r.msgs.filter(isMarker).length, 1);
  assert.ok(isMarker(r.msgs[r.msgs.length - 1]));
});

test('walk: packet-path syncs recorded between ticks still go out while a pass runs', () => {
  const r = rig({ conns: 40, ringSize: 4, periodMs: 200, stepMs: 100 });
  r.tick();
  // conn 10000 reaches the threshold (3 packets counted since the master hooked in) between two ticks
  for (let i = 0; i < 3; i++) r.d.inPacket4(IPPROTO_UDP, CLIENT, 10000, VIP, 80, 0, 60);
  assert.equal(r.m.pending, 1);
  const before = r.msgs.length;
  r.tick();
  assert.ok(r.msgs.slice(before).flat().includes(10000));
  assert.equal(r.m.counters.ringFull, 0);
});

test('walk: an empty table still closes each pass with a marker', () => {
  const r = rig({ conns: 0 });
  for (let i = 0; i < 10; i++) r.tick();
  assert.deepEqual(r.msgs, [[]]);
});

test('walk: TCP conns outside the synced states are not walked', () => {
  const d = director(IPPROTO_TCP);
  d.inPacket4(IPPROTO_TCP, CLIENT, 2000, VIP, 80, TH_SYN, 60); // SYN_RECV
  const got: number[] = [];
  const m = new SyncMaster(d, {
    syncid: 1, maxlen: 1472, send: (buf, len) => {
      const msg = new SyncMessage();
      decodeSyncMessage(buf, 0, len, 0, msg);
      got.push(msg.count);
    },
  });
  const w = new TableWalker(d, m, 100, 100);
  w.step();
  m.drain();
  assert.deepEqual(got, [0], 'only the marker');
  assert.equal(m.counters.walkQueued, 0);
});

test('walk marker on the wire: v1 is an 8-byte header with nr_conns 0; a backup counts it and applies nothing', () => {
  const r = rig({ conns: 3, periodMs: 100, stepMs: 100 });
  r.tick();
  const marker = r.raw[r.raw.length - 1];
  // reserved 0, syncid, size 8, nr_conns 0, version 1, spare 0
  assert.deepEqual([...marker], [0, 7, 0, 8, 0, 1, 0, 0]);
  const b = new SyncBackup(director(IPPROTO_UDP), { syncid: 7, onAccepted: () => {} });
  assert.equal(b.receive(marker), 0);
  assert.equal(b.counters.markers, 1);
  assert.equal(b.counters.conns, 0);
  assert.equal(b.counters.created + b.counters.updated, 0);
});

test('walk marker on the wire: v0 is a 4-byte header with nr_conns 0, accepted as a marker', () => {
  const r = rig({ conns: 3, periodMs: 100, stepMs: 100, version: 0 });
  r.tick();
  const marker = r.raw[r.raw.length - 1];
  assert.deepEqual([...marker], [0, 7, 0, 4]); // nr_conns, syncid, size
  const b = new SyncBackup(director(IPPROTO_UDP), { syncid: 0 });
  assert.equal(b.receive(marker), 0);
  assert.equal(b.counters.markers, 1);
});
