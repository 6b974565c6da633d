// Multi-core pieces without root: the fanout mapping (TypeScript and the classic BPF
// program agree, run through a small interpreter), CPU layout, the shared counter layout,
// the worker model's round trip, and summing counters over shards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseV4 } from '../../src/core/addr';
import { Director } from '../../src/core/director';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/core/constants';
import { DROP_NO_SERVICE } from '../../src/core/drops';
import { TH_ACK, TH_SYN } from '../../src/conn/tcp-states';
import { execIpvsadm } from '../../src/control/ipvsadm-exec';
import { listsConnections } from '../../src/control/control-socket';
import { CounterAggregator } from '../../src/control/counter-aggregator';
import { ServiceSlots } from '../../src/control/service-slots';
import { chooseLayout, formatCpuMask, parseCpuList, parseCpuMask, RpsSteering, softirqCpus } from '../../src/control/cpu-layout';
import { ConfigError, parseNativeConfig } from '../../src/config/native-config';
import { readFileSync } from 'node:fs';
import { PipelineStats } from '../../src/dataplane/pipeline';
import { ShardPublisher } from '../../src/dataplane/shard-publisher';
import { PIPE_FIELDS, SharedCounters } from '../../src/dataplane/shared-counters';
import { applyModel, buildModel } from '../../src/dataplane/worker-model';
import { FLOW_KEY, fanoutProgram, keyForPersistence, workerForFlow } from '../../src/io/fanout';
import { noNames } from '../../src/ipvsadm/names';
import { mulberry32 } from '../fixtures/prng';
import { runCbpf } from '../fixtures/cbpf-run';

const adm = (d: Director, line: string) => {
  const r = execIpvsadm(d, line.split(' '), undefined, { resolver: noNames });
  assert.equal(r.exit, 0, `${line}: ${r.stderr}`);
  return r.stdout;
};

// ---- fanout ---------------------------------------------------------------------------

function ipv4(proto: number, saddr: number, sport: number, opts: { fragOff?: number; mf?: boolean; ihl?: number } = {}): Uint8Array {
  const ihl = opts.ihl ?? 5;
  const p = new Uint8Array(ihl * 4 + 8);
  p[0] = 0x40 | ihl;
  const frag = (opts.mf ? 0x2000 : 0) | (opts.fragOff ?? 0);
  p[6] = frag >> 8;
  p[7] = frag & 0xff;
  p[8] = 64;
  p[9] = proto;
  p[12] = saddr >>> 24;
  p[13] = (saddr >>> 16) & 0xff;
  p[14] = (saddr >>> 8) & 0xff;
  p[15] = saddr & 0xff;
  const l4 = ihl * 4;
  p[l4] = sport >> 8;
  p[l4 + 1] = sport & 0xff;
  p[l4 + 3] = 80;
  return p;
}

test('fanout: the classic BPF program and workerForFlow pick the same worker', () => {
  const prog = fanoutProgram();
  const rnd = mulberry32(7);
  for (let i = 0; i < 3000; i++) {
    const saddr = Math.floor(rnd() * 2 ** 32) >>> 0;
    const sport = Math.floor(rnd() * 65536);
    const proto = [IPPROTO_TCP, IPPROTO_UDP, 1, 47][i % 4];
    const ihl = i % 7 === 0 ? 6 : 5;
    const frag = i % 11 === 0;
    const pkt = ipv4(proto, saddr, sport, { ihl, mf: frag && i % 2 === 0, fragOff: frag && i % 2 === 1 ? 185 : 0 });
    const ret = runCbpf(prog, pkt, 0x0800);
    for (const n of [1, 2, 3, 4, 7]) assert.equal(ret % n, workerForFlow(proto, saddr, sport, n, frag), `flow ${i} n=${n}`);
  }
  assert.equal(runCbpf(prog, new Uint8Array(28), 0x0806), 0, 'ARP goes to worker 0');
  assert.equal(runCbpf(prog, new Uint8Array(10), 0x0800), 0, 'a truncated header goes to worker 0');
});

test('fanout: keyed by client network (persistence), every flow of a /24 reaches one worker', () => {
  const key = keyForPersistence([0xffffff00, 0xffffffff]);
  assert.deepEqual(key, { byClient: true, mask: 0xffffff00 });
  const prog = fanoutProgram(key);
  const rnd = mulberry32(3);
  for (let i = 0; i < 2000; i++) {
    const saddr = Math.floor(rnd() * 2 ** 32) >>> 0;
    const sport = Math.floor(rnd() * 65536);
    const proto = [IPPROTO_TCP, IPPROTO_UDP, 1][i % 3];
    const ret = runCbpf(prog, ipv4(proto, saddr, sport), 0x0800);
    for (const n of [2, 3, 5]) {
      assert.equal(ret % n, workerForFlow(proto, saddr, sport, n, false, key));
      assert.equal(workerForFlow(proto, saddr, sport, n, false, key), workerForFlow(6, (saddr & 0xffffff00) | 7, 1, n, true, key));
    }
  }
  assert.deepEqual(keyForPersistence([]), FLOW_KEY);
});

test('fanout: ICMP and fragments of a client map by address only; flows spread evenly', () => {
  const c = parseV4('198.51.100.7');
  for (let p = 0; p < 200; p++) {
    assert.equal(workerForFlow(1, c, p, 4), workerForFlow(1, c, 0, 4));
    assert.equal(workerForFlow(IPPROTO_UDP, c, p, 4, true), workerForFlow(1, c, 0, 4));
  }
  const n = 4;
  const counts = new Array<number>(n).fill(0);
  for (let p = 1024; p < 1024 + 40_000; p++) counts[workerForFlow(IPPROTO_TCP, c, p, n)]++;
  for (const k of counts) assert.ok(Math.abs(k - 10_000) < 600, `balanced over source ports: ${counts}`);
  const byAddr = new Array<number>(n).fill(0);
  for (let a = 0; a < 40_000; a++) byAddr[workerForFlow(IPPROTO_TCP, (parseV4('203.0.113.0') + (a << 8)) >>> 0, 40000, n)]++;
  for (const k of byAddr) assert.ok(Math.abs(k - 10_000) < 600, `balanced over addresses: ${byAddr}`);
  assert.throws(() => workerForFlow(6, 1, 1, 0), RangeError);
});

// ---- CPU layout -----------------------------------------------------------------------

test('cpu layout: lists, masks and the default choice', () => {
  assert.deepEqual(parseCpuList('0-2,5, 7'), [0, 1, 2, 5, 7]);
  assert.deepEqual(parseCpuList(''), []);
  assert.throws(() => parseCpuList('3-1'), RangeError);
  assert.throws(() => parseCpuList('a'), RangeError);
  assert.deepEqual(parseCpuMask('00000000,0000000c'), [2, 3]);
  assert.deepEqual(parseCpuMask('0'), []);
  assert.equal(formatCpuMask([0, 1, 5]), '23');
  // veth: softirq unknown -> CPU 0 left alone
  assert.deepEqual(chooseLayout({ ncpu: 2, softirq: [] }), { workers: 1, cpus: [1], why: chooseLayout({ ncpu: 2, softirq: [] }).why });
  assert.deepEqual(chooseLayout({ ncpu: 8, softirq: [] }).cpus, [1, 2, 3, 4, 5, 6, 7]);
  // a NIC with its queues on CPUs 0-1: the workers get 2-5
  assert.deepEqual(chooseLayout({ ncpu: 6, softirq: [0, 1] }).cpus, [2, 3, 4, 5]);
  // more workers than free CPUs: spill onto the others, then share
  assert.deepEqual(chooseLayout({ ncpu: 2, softirq: [], workers: 3 }).cpus, [1, 0, 1]);
  assert.deepEqual(chooseLayout({ ncpu: 4, softirq: [0], cpus: [3, 2], workers: 3 }).cpus, [3, 2, 3]);
  assert.equal(chooseLayout({ ncpu: 1, softirq: [] }).workers, 1);
});

test('cpu layout: softirq CPUs from IRQ affinity and RPS masks (fake /sys and /proc)', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvs-cpu-'));
  try {
    mkdirSync(join(root, 'sys/class/net/eth9/device/msi_irqs'), { recursive: true });
    writeFileSync(join(root, 'sys/class/net/eth9/device/msi_irqs/41'), 'msix');
    mkdirSync(join(root, 'sys/class/net/eth9/queues/rx-0'), { recursive: true });
    writeFileSync(join(root, 'sys/class/net/eth9/queues/rx-0/rps_cpus'), '00000008\n');
    mkdirSync(join(root, 'proc/irq/41'), { recursive: true });
    mkdirSync(join(root, 'proc/irq/42'), { recursive: true });
    writeFileSync(join(root, 'proc/irq/41/smp_affinity_list'), '0\n');
    writeFileSync(join(root, 'proc/irq/42/smp_affinity_list'), '1\n');
    writeFileSync(join(root, 'proc/interrupts'), '           CPU0 CPU1\n 42:  1 2 PCI-MSI eth9-rx-1\n 43: 1 2 PCI-MSI eth10-rx-0\n');
    const s = softirqCpus('eth9', root);
    assert.deepEqual(s.cpus, [0, 1, 3]);
    assert.match(s.source, /IRQ 41,42 \+ RPS/);
    mkdirSync(join(root, 'sys/class/net/veth0/queues/rx-0'), { recursive: true });
    writeFileSync(join(root, 'sys/class/net/veth0/queues/rx-0/rps_cpus'), '0\n');
    assert.deepEqual(softirqCpus('veth0', root).cpus, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cpu layout: --steer-softirq moves RPS off the worker CPUs and restores it', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvs-rps-'));
  try {
    for (const q of ['rx-0', 'rx-1', 'tx-0']) mkdirSync(join(root, 'sys/class/net/eth9/queues', q), { recursive: true });
    writeFileSync(join(root, 'sys/class/net/eth9/queues/rx-0/rps_cpus'), '0\n');
    writeFileSync(join(root, 'sys/class/net/eth9/queues/rx-1/rps_cpus'), '3\n');
    const logs: string[] = [];
    const s = RpsSteering.apply('eth9', [2, 3], 4, (m) => logs.push(m), root)!;
    assert.equal(readFileSync(join(root, 'sys/class/net/eth9/queues/rx-0/rps_cpus'), 'utf8'), '3');
    assert.equal(readFileSync(join(root, 'sys/class/net/eth9/queues/rx-1/rps_cpus'), 'utf8'), '3');
    assert.match(logs[0], /2 RX queue\(s\)\) -> CPUs 0,1/);
    s.restore();
    assert.equal(readFileSync(join(root, 'sys/class/net/eth9/queues/rx-0/rps_cpus'), 'utf8'), '0');
    assert.equal(readFileSync(join(root, 'sys/class/net/eth9/queues/rx-1/rps_cpus'), 'utf8'), '3');
    assert.equal(RpsSteering.apply('eth9', [0, 1], 2, (m) => logs.push(m), root), null, 'no CPU left: nothing changed');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('native config: "workers: N"', () => {
  assert.equal(parseNativeConfig('workers: 3\nservices: []\n', 'x.yaml').workers, 3);
  assert.equal(parseNativeConfig('services: []\n', 'x.yaml').workers, undefined);
  assert.throws(() => parseNativeConfig('workers: 0\n', 'x.yaml'), ConfigError);
  assert.throws(() => parseNativeConfig('workers: two\n', 'x.yaml'), /"workers" must be a whole number/);
});

// ---- shared counters --------------------------------------------------------------------

test('shared counters: regions do not overlap and a second view sees the same memory', () => {
  const layout = { workers: 3, maxDests: 64, maxServices: 8 };
  const a = new SharedCounters(layout);
  const b = new SharedCounters(layout, a.sab);
  for (let w = 0; w < 3; w++) {
    a.f64[w].fill(w + 1);
    a.i32[w].fill(w + 1);
  }
  for (let w = 0; w < 3; w++) {
    assert.ok(b.f64[w].every((v) => v === w + 1), `float region ${w} intact`);
    assert.ok(b.i32[w].every((v) => v === w + 1), `int region ${w} intact`);
  }
  assert.equal(b.sumI32(5), 6);
  assert.equal(a.offSvc + layout.maxServices * 6, a.f64Words);
  assert.equal(PIPE_FIELDS.length, Object.keys(new PipelineStats()).length, 'every pipeline counter has a slot');
  assert.throws(() => new SharedCounters(layout, new SharedArrayBuffer(8)), RangeError);
});

// ---- the model ----------------------------------------------------------------------------

function mainDirector(): Director {
  const d = new Director({ maxConns: 1024 });
  adm(d, '-A -t 192.0.2.100:80 -s wlc');
  adm(d, '-a -t 192.0.2.100:80 -r 192.0.2.11 -g -w 1');
  adm(d, '-a -t 192.0.2.100:80 -r 192.0.2.12 -g -w 3 -x 100 -y 10');
  adm(d, '-A -u 192.0.2.100:53 -s rr -p 60');
  adm(d, '-a -u 192.0.2.100:53 -r 192.0.2.13 -g -w 2');
  adm(d, '--set 900 60 120');
  return d;
}

test('worker model: a structured-clone round trip rebuilds the same table, ids and order included', () => {
  const main = mainDirector();
  main.services.dests[1]!.mac = Uint8Array.of(2, 0, 0, 0, 0, 11);
  const slots = new ServiceSlots(8);
  const model = structuredClone(buildModel(main, 1, slots.slotOf));
  const w = new Director({ maxConns: 1024 });
  const applied = applyModel(w, model);
  assert.equal(adm(w, '-S -n'), adm(main, '-S -n'));
  assert.deepEqual(w.timeouts.get(), { tcp: 900, tcpfin: 60, udp: 120 });
  for (const svc of main.services.services) {
    const ws = w.services.find(svc)!;
    assert.deepEqual(ws.dests.map((d) => d.id), svc.dests.map((d) => d.id));
  }
  assert.deepEqual([...w.services.dests[1]!.mac!], [2, 0, 0, 0, 0, 11]);
  assert.equal(w.services.dests[2]!.mac, null);
  assert.deepEqual(applied.slots, [0, 1]);
  assert.deepEqual(applied.tags, main.services.services.map((s) => s.id));
});

test('worker model: changes apply without losing connections; a deleted dest keeps its id until its connections end', () => {
  const main = mainDirector();
  const slots = new ServiceSlots(8);
  const w = new Director({ maxConns: 1024 });
  applyModel(w, buildModel(main, 1, slots.slotOf));
  const vip = parseV4('192.0.2.100');
  const c = parseV4('198.51.100.1');
  const first = w.inPacket4(IPPROTO_TCP, c, 40000, vip, 80, TH_SYN, 60);
  assert.ok(first > 0);
  const wlcBefore = w.services.find(main.services.services[0])!.scheduler;
  adm(main, `-e -t 192.0.2.100:80 -r ${w.services.dests[first]!.addr} -g -w 5`);
  applyModel(w, buildModel(main, 2, slots.slotOf));
  assert.equal(w.services.find(main.services.services[0])!.scheduler, wlcBefore, 'same scheduler instance');
  assert.equal(w.services.dests[first]!.weight, 5);
  assert.equal(w.inPacket4(IPPROTO_TCP, c, 40000, vip, 80, TH_ACK, 52), first, 'the connection survives an edit');
  adm(main, `-d -t 192.0.2.100:80 -r ${w.services.dests[first]!.addr}`);
  applyModel(w, buildModel(main, 3, slots.slotOf));
  assert.ok(w.services.dests[first], 'the deleted dest stays for its connection');
  assert.equal(w.services.dests[first]!.svc, null);
  // the main thread frees the id at once; a gate (CounterAggregator.idFree) keeps it unused
  main.services.idReusable = (id) => id !== first;
  adm(main, '-a -t 192.0.2.100:80 -r 192.0.2.14 -g');
  const added = main.services.find(main.services.services[0])!.dests[0];
  assert.notEqual(added.id, first);
  applyModel(w, buildModel(main, 4, slots.slotOf));
  assert.equal(adm(w, '-L -n'), adm(main, '-L -n').replace(/\n/g, '\n'));
  adm(main, '-D -u 192.0.2.100:53');
  applyModel(w, buildModel(main, 5, slots.slotOf));
  assert.equal(w.services.services.length, 1);
});

// ---- counters over shards ---------------------------------------------------------------

test('counters: the main thread sees sums over the shards; schedulers see global connection counts; -Z restarts from zero', () => {
  const main = mainDirector();
  const slots = new ServiceSlots(8);
  const layout = { workers: 2, maxDests: 64, maxServices: 8 };
  const shared = new SharedCounters(layout);
  const mainPipe = new PipelineStats();
  const agg = new CounterAggregator(shared, main, mainPipe, slots.slotOf);
  const shards = [0, 1].map((i) => {
    const d = new Director({ maxConns: 1024 });
    const pipe = new PipelineStats();
    const pub = new ShardPublisher(new SharedCounters(layout, shared.sab), i, d, pipe);
    const a = applyModel(d, structuredClone(buildModel(main, 1, slots.slotOf)));
    pub.setServices(a.services, a.slots, a.tags);
    return { d, pipe, pub };
  });
  const vip = parseV4('192.0.2.100');
  // shard 0: 30 TCP connections; shard 1: 10 TCP + 5 UDP flows; 3 drops
  const sent = [30, 10];
  shards.forEach((s, i) => {
    s.pub.sync(); // the sync after the previous block: shard 1 then sees shard 0's 30
    for (let k = 0; k < sent[i]; k++) assert.ok(s.d.inPacket4(IPPROTO_TCP, parseV4('198.51.100.1') + i, 1000 + k, vip, 80, TH_SYN, 60) > 0);
    s.pipe.rxFrames += 100 * (i + 1);
    s.pub.sync();
  });
  for (let k = 0; k < 5; k++) shards[1].d.inPacket4(IPPROTO_UDP, parseV4('198.51.100.9'), 2000 + k, vip, 53, 0, 100);
  for (let k = 0; k < 3; k++) shards[1].d.inPacket4(IPPROTO_TCP, 1, 1, vip, 81, TH_SYN, 60);
  shards[1].pub.sync();
  shards[0].pub.sync();
  // each shard's wlc now sees the other's connections
  const tcp = main.services.services[0];
  const connsW0 = shards[0].d.services.find(tcp)!.dests.reduce((s, d) => s + d.activeConns + d.inactConns, 0);
  assert.equal(connsW0, 40, 'shard 0 counts all 40 connections (SYN_RECV is active)');
  agg.pull();
  const dests = main.services.find(tcp)!.dests;
  assert.equal(dests.reduce((s, d) => s + d.activeConns + d.inactConns, 0), 40);
  assert.equal(dests.reduce((s, d) => s + d.stats.conns, 0), 40);
  assert.equal(tcp.stats.conns, 40);
  assert.equal(tcp.stats.inbytes, 40 * 60);
  assert.equal(main.services.services[1].stats.inpkts, 5);
  assert.equal(main.drops[DROP_NO_SERVICE], 3);
  assert.equal(mainPipe.rxFrames, 300);
  // wlc with global counts: both shards together keep 1:3
  const per = dests.map((d) => d.activeConns + d.inactConns);
  assert.deepEqual(per.sort((a, b) => a - b), [10, 30]);
  // pulling again without traffic changes nothing
  agg.pull();
  assert.equal(tcp.stats.conns, 40);
  assert.equal(main.drops[DROP_NO_SERVICE], 3);
  // -Z: zero, then new traffic counts from zero
  adm(main, '-Z');
  shards[0].d.inPacket4(IPPROTO_TCP, parseV4('198.51.100.50'), 1, vip, 80, TH_SYN, 60);
  shards[0].pub.sync();
  agg.pull();
  assert.equal(tcp.stats.conns, 1);
  assert.equal(dests.reduce((s, d) => s + d.activeConns + d.inactConns, 0), 41, '-Z keeps connection counts');
  // id reuse waits until every worker applied the latest model and dropped the id
  agg.sentVersion = 2;
  assert.equal(agg.idFree(1), false);
  shared.setApplied(0, 2);
  shared.setApplied(1, 2);
  assert.equal(agg.idFree(1), false, 'dest 1 is present in the shards');
  assert.equal(agg.idFree(40), true);
});

test('control socket: which requests list connections', () => {
  assert.ok(listsConnections(['-L', '-n', '-c']));
  assert.ok(listsConnections(['-Lnc']));
  assert.ok(listsConnections(['-L', '--connection']));
  assert.ok(!listsConnections(['-C']));
  assert.ok(!listsConnections(['-A', '-t', '192.0.2.1:80', '-s', 'wlc']));
  assert.ok(!listsConnections(['-L', '-n', '--stats']));
});

// ---- the worker pool ------------------------------------------------------------------------

test('worker pool: workers start in order; one that dies is fatal; stop() is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-pool-'));
  try {
    // stand-in worker: reports ready; worker 1 then dies with exit code 3 after 100 ms
    const script = join(dir, 'w.js');
    writeFileSync(script, `const { parentPort, workerData } = require('node:worker_threads');
parentPort.postMessage({ type: 'ready', cpus: [workerData.index] });
parentPort.on('message', (m) => {
  if (m.type === 'stop') parentPort.close();
  if (m.type === 'conns') parentPort.postMessage({ type: 'conns', id: m.id, conns: [{ caddr: 'w' + workerData.index }] });
});
if (workerData.index === 1 && workerData.ifname === 'die') setTimeout(() => process.exit(3), 100);
`);
    const layout = { workers: 2, maxDests: 8, maxServices: 2 };
    const shared = new SharedCounters(layout);
    const init = (ifname: string) => ({ workers: 2, ifname, vnetHdr: false, fanoutGroup: 1, fanoutKey: FLOW_KEY, maxConns: 16, ourIp: 0, t0: Date.now(), sab: shared.sab, layout });
    const logs: string[] = [];
    const { WorkerPool } = await import('../../src/control/worker-pool');

    let fatal = '';
    const dying = new WorkerPool({ init: init('die'), cpus: [-1, -1], log: (m) => logs.push(m), onFatal: (m) => (fatal = m), script });
    await dying.start();
    assert.match(logs.join('\n'), /worker 0 .*\n.*worker 1 /, 'started in order');
    const t0 = Date.now();
    while (!fatal && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.match(fatal, /worker 1 exited \(code 3\)/);
    dying.stop();

    let fatal2 = '';
    const fine = new WorkerPool({ init: init('ok'), cpus: [-1, -1], log: () => undefined, onFatal: (m) => (fatal2 = m), script });
    await fine.start();
    const conns = await fine.connections();
    assert.deepEqual(conns.map((c) => c.caddr).sort(), ['w0', 'w1'], '-L -c gathers every shard');
    fine.stop();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fatal2, '', 'a requested stop is not a failure');

    const bad = join(dir, 'bad.js');
    writeFileSync(bad, `require('node:worker_threads').parentPort.postMessage({ type: 'fatal', msg: 'no permission' });`);
    const failing = new WorkerPool({ init: init('x'), cpus: [-1], log: () => undefined, onFatal: () => undefined, script: bad });
    await assert.rejects(failing.start(), /worker 0: no permission/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
