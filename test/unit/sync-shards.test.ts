// Connection sync with a sharded connection table (src/ha/sync/shards.ts and
// src/dataplane/shard-sync.ts), without threads: a stand-in for the data-plane workers that
// holds one Director and one ShardSync per shard and delivers every message asynchronously,
// as postMessage does. A master over two shards sends to a backup over two shards through
// loopback UDP: each entry lands in the shard the fanout would send its packets to, the
// counters sum over the shards, and the end-of-walk marker goes out only once every shard
// finished a pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Addr, parseV4 } from '../../src/core/addr';
import { AF_INET, FWD_DROUTE, IPPROTO_TCP } from '../../src/core/constants';
import { Director } from '../../src/core/director';
import { TH_ACK, TH_SYN } from '../../src/conn/tcp-states';
import { ShardSync } from '../../src/dataplane/shard-sync';
import { workerForFlow } from '../../src/io/fanout';
import type { AppliedCounts, SyncEntry } from '../../src/ha/sync/backup';
import { SyncManager } from '../../src/ha/sync/manager';
import type { ShardMasterConfig, ShardMasterOutput, SyncShards } from '../../src/ha/sync/shards';

const VIP = parseV4('192.0.2.100');
const CLIENT = parseV4('198.51.100.1');

function director(): Director {
  const d = new Director({ now: 100 });
  const ref = { af: AF_INET as 2, proto: IPPROTO_TCP, addr: Addr.v4(VIP), port: 80, fwmark: 0 };
  d.services.addService({ ...ref, scheduler: 'rr' });
  for (const ip of ['192.0.2.11', '192.0.2.12']) d.services.addDest(ref, { addr: Addr.parse(ip)!, port: 80, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  d.sync();
  return d;
}

class LocalShards implements SyncShards {
  onMasterOutput: ((shard: number, out: ShardMasterOutput) => void) | null = null;
  onApplied: ((shard: number, counts: AppliedCounts) => void) | null = null;
  readonly syncs: ShardSync[];
  constructor(readonly dirs: Director[]) {
    this.syncs = dirs.map((d, i) => new ShardSync(d,
      (out) => { const o = structuredClone(out); setImmediate(() => this.onMasterOutput?.(i, o)); },
      (c) => { const o = structuredClone(c); setImmediate(() => this.onApplied?.(i, o)); }));
  }
  get count(): number { return this.dirs.length; }
  shardOf(proto: number, caddr: number, cport: number): number { return workerForFlow(proto, caddr, cport, this.count); }
  startMaster(gen: number, cfg: ShardMasterConfig): void { for (const s of this.syncs) s.startMaster(gen, structuredClone(cfg)); }
  stopMaster(gen: number): void { for (const s of this.syncs) s.stopMaster(gen); }
  apply(shard: number, version: number, threshold: number, entries: SyncEntry[]): void {
    const e = structuredClone(entries);
    setImmediate(() => this.syncs[shard].apply(version, threshold, e));
  }
}

const until = async (cond: () => boolean, ms: number, what: string) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('sharded master -> sharded backup over loopback UDP: each conn lands in its flow\'s shard; counters sum; one marker per full pass', async () => {
  const A = new LocalShards([director(), director()]);
  const B = new LocalShards([director(), director()]);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const opts = { log: () => undefined, ifaceAddr: () => '127.0.0.1', dropOwn: false, flushMs: 10 };
  const ma = new SyncManager(director(), { ...opts, shards: A, rules: { fullSyncPeriod: 1 } });
  const mb = new SyncManager(director(), { ...opts, shards: B });
  let markers = 0;
  mb.onBackupMessage = (n) => { if (n === 0) markers++; };
  try {
    mb.start({ state: 'backup', mcastIfn: 'lo', syncid: 4, port, peers: ['127.0.0.1'] });
    ma.start({ state: 'master', mcastIfn: 'lo', syncid: 4, port, peers: ['127.0.0.1'] });
    await new Promise((r) => setTimeout(r, 100)); // sockets bound
    // 40 flows, each in the shard of A the fanout gives it (as the workers receive them)
    const want = [0, 0];
    for (let c = 0; c < 40; c++) {
      const s = workerForFlow(IPPROTO_TCP, CLIENT, 7000 + c, 2);
      want[s]++;
      for (let i = 0; i < 3; i++) A.dirs[s].inPacket4(IPPROTO_TCP, CLIENT, 7000 + c, VIP, 80, i === 0 ? TH_SYN : TH_ACK, 60);
    }
    assert.ok(want[0] > 0 && want[1] > 0, 'both shards hold flows');
    await until(() => B.dirs[0].conns.size + B.dirs[1].conns.size >= 40, 3000, 'the backup shards hold 40 conns');
    assert.deepEqual([B.dirs[0].conns.size, B.dirs[1].conns.size], want, 'each conn in the shard of its flow');
    for (let c = 0; c < 40; c++) {
      const s = workerForFlow(IPPROTO_TCP, CLIENT, 7000 + c, 2);
      assert.ok(B.dirs[s].conns.lookupIn4(IPPROTO_TCP, CLIENT, 7000 + c, VIP, 80, 0) >= 0, `flow ${7000 + c} in shard ${s}`);
    }
    await until(() => (mb.counters().applied_created ?? 0) >= 40, 2000, 'applied counts come back');
    // the walk (full_sync_period 1 s) re-sends every conn; one marker per pass of both shards
    await until(() => markers >= 2, 4000, 'two markers');
    const a = ma.counters();
    assert.equal(a.markers_sent, a.walk_passes);
    assert.ok(a.markers_sent >= 2 && a.markers_sent <= markers + 1, `markers sent ${a.markers_sent}, seen ${markers}`);
    assert.ok(a.walk_queued >= 40, `a whole pass queued every conn of both shards: ${a.walk_queued}`);
    assert.ok(a.sent_conns >= 40 + 40, `sent ${a.sent_conns}`);
    const b = mb.counters();
    assert.equal(b.applied_created, 40);
    assert.equal(b.applied_created + b.applied_updated, b.received_conns, 'every received entry applied in some shard');
  } finally {
    ma.close();
    mb.close();
    for (const s of [...A.syncs, ...B.syncs]) s.close();
  }
});

test('the marker waits for the slowest shard; a stopped master still sends what its shards report', async () => {
  const shards = new LocalShards([director(), director(), director()]);
  const sent: Uint8Array[] = [];
  const port = 20000 + Math.floor(Math.random() * 20000);
  const m = new SyncManager(director(), { log: () => undefined, ifaceAddr: () => '127.0.0.1', dropOwn: false, flushMs: 1000, shards });
  const b = new SyncManager(director(), { log: () => undefined, ifaceAddr: () => '127.0.0.1', dropOwn: false });
  b.onBackupMessage = (n) => sent.push(new Uint8Array(n));
  try {
    b.start({ state: 'backup', mcastIfn: 'lo', syncid: 1, port, peers: ['127.0.0.1'] });
    m.start({ state: 'master', mcastIfn: 'lo', syncid: 1, port, peers: ['127.0.0.1'] });
    await new Promise((r) => setTimeout(r, 100));
    const out = (walkEnd: boolean, final = false): ShardMasterOutput => ({
      gen: 1, msgs: [], walkEnd, final,
      counters: { queued: 0, ringFull: 0, stale: 0, sentMsgs: 0, sentConns: 0, rehashDrops: 0, walkQueued: 0, markersSent: 0 },
    });
    shards.onMasterOutput!(0, out(true));
    shards.onMasterOutput!(1, out(true));
    shards.onMasterOutput!(0, out(true)); // shard 0 again: still waiting for shard 2
    assert.equal(m.counters().markers_sent, 0);
    shards.onMasterOutput!(2, out(true));
    assert.equal(m.counters().markers_sent, 1);
    await until(() => sent.length === 1, 2000, 'the marker reached the backup');
    // stop: shards' final outputs (one entry each) still go out from the master's socket
    for (let c = 0; c < 3; c++) {
      const s = workerForFlow(IPPROTO_TCP, CLIENT, 9000 + c * 7, 3);
      for (let i = 0; i < 3; i++) shards.dirs[s].inPacket4(IPPROTO_TCP, CLIENT, 9000 + c * 7, VIP, 80, i === 0 ? TH_SYN : TH_ACK, 60);
    }
    m.stop('master');
    assert.equal(m.isRunning('master'), false);
    await until(() => sent.length >= 2, 2000, 'the final drain reached the backup');
    await until(() => (b.counters().received_conns ?? 0) === 3, 2000, `three entries: ${JSON.stringify(b.counters())} ${JSON.stringify(m.counters())}`);
    assert.equal(m.counters().sent_conns, 3);
  } finally {
    m.close();
    b.close();
    for (const s of shards.syncs) s.close();
  }
});
