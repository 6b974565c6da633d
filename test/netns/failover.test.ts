// Failover with and without connection sync (needs root): two tsvs directors on the client's
// segment (lab `directors: 2`: A = director .2, priority 150; B = director2 .3, priority
// 100), VRRP v2 advert_int 1 on VI_1 for the VIP, two real servers (HTTP :80, stream sink
// :9000). With sync on, each director's config says `sync: { follow_vrrp: VI_1,
// full_sync_period: 2 }`: A runs the sync master while MASTER, B the sync backup.
// For each of SIGKILL and "unplugged" (A's switch port down), with sync on and off:
//   - the client (helpers/sync-clients.js) holds 20 idle keep-alive HTTP connections and
//     one long stream through the VIP, each answered once (round 1);
//   - A fails; B must be MASTER within 3 advert intervals + skew (from the capture: the
//     last advert of A to the first of B), and then every idle connection answers again
//     (round 2) from the same real server, and (sync on) the stream goes on;
//   - sync on: A comes back (restart, or port up): it catches up (holds preemption until a
//     full table walk of B arrived), then preempts; every connection answers again (round
//     3) from the same real server, and the stream ends intact (bytes and hash checked);
//   - sync off: the connections lost are counted.
// Then SIGKILL with sync on once more with `--workers 2` on both directors (each worker
// syncs its shard of the table; the catch-up waits for markers of whole passes).
// Also: malformed sync datagrams sent from the client to 224.0.0.81:8848 are counted by
// reason on the backup, nothing applied, no crash.
// The numbers go to bench/results/failover.json. Every wait is bounded; every process
// started here is stopped by its PID in a finally; the lab goes down (withLab).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { nsRun } from '../../src/lab/exec';
import type { Lab } from '../../src/lab/state';
import { hasNative } from '../../src/io/native';
import type { Frame } from './helpers/frames';
import { TestResults } from './helpers/results';
import { Bg, BgGroup, sleep, until } from './helpers/bg';
import { TestDirector } from './helpers/vrrp-director';

const ROOT = join(__dirname, '..', '..');
const TSVS = join(ROOT, 'src', 'cli', 'tsvs.js');
const HELPERS = join(__dirname, 'helpers');
const CAPTURE = join(HELPERS, 'capture.js');
const TCP_TOOLS = join(HELPERS, 'tcp-tools.js');
const CLIENTS = join(HELPERS, 'sync-clients.js');
const VIP = '192.0.2.100';
const IDLE = 20;
/** 3 × advert_int + skew for priority 100 (v2: (256 − 100)/256 s), + capture/scheduling slack. */
const FAILOVER_BOUND_MS = 3609 + 400;

const skip = labSkipReason() ?? (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined);

/** Every process started here, stopped by its PID at the end whatever happened. */
const started = new BgGroup();
const startBg = (ns: string, argv: string[]): Bg => started.start(ns, argv);

const results = new TestResults();
const record = (t: TestContext, key: string, value: unknown): void => results.record(t, key, value);

function config(priority: number, sync: boolean): string {
  const svc = (port: number) => `  - vip: ${VIP}
    port: ${port}
    scheduler: rr
    realservers: [{ address: 192.0.2.11 }, { address: 192.0.2.12 }]
`;
  return `services:
${svc(80)}${svc(9000)}vrrp:
  version: 2
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: ${priority}
      advert_int: 1
      virtual_ipaddress: [${VIP}]
${sync ? `sync:
  follow_vrrp: VI_1
  interface: eth0
  syncid: 51
  full_sync_period: 2
  catch_up_timeout: 30
` : ''}`;
}

class Director extends TestDirector {
  constructor(ns: string, ip: string, mac: string, dir: string, tag: string, private readonly workers: number) {
    super(ns, ip, mac, dir, tag, startBg);
  }
  async start(cfg: string): Promise<void> {
    const f = join(this.dir, `${this.tag}.yaml`);
    writeFileSync(f, cfg);
    await this.launch(['--config', f, '--no-early-drop', '--workers', String(this.workers)]);
  }
  override async waitState(state: string, ms: number): Promise<number> {
    return super.waitState(state, ms, 50);
  }
}

function failoverTimes(frames: Frame[], mark: number, oldIp: string, newIp: string) {
  const f = frames.slice(mark);
  const vrrp = (ip: string) => (x: Frame) => x.ip?.proto === 112 && x.ip.src === ip;
  const firstNew = f.find((x) => vrrp(newIp)(x) && !f.some((y) => vrrp(oldIp)(y) && y.t! > x.t!));
  if (!firstNew) return null;
  const lastOld = [...frames].reverse().find((x) => vrrp(oldIp)(x) && x.t! <= firstNew.t!);
  return { lastOldAdvertMs: lastOld?.t ?? null, firstNewAdvertMs: firstNew.t!, failoverMs: lastOld ? firstNew.t! - lastOld.t! : null };
}

interface Round {
  servers: string[];
}
function roundOf(cl: Bg, n: number): Round {
  return JSON.parse(cl.out.split('\n').find((l) => l.includes(`"round":${n}`))!) as Round;
}
async function getRound(cl: Bg, n: number): Promise<Round> {
  cl.write('get');
  await until(() => cl.out.includes(`"round":${n}`) || !cl.running, 15_000, `round ${n}`);
  return roundOf(cl, n);
}
function lostIn(before: string[], after: string[]): number {
  return before.filter((s, i) => after[i] !== s).length;
}

/** Malformed sync datagrams from the client to the sync group (wrong version, bad lengths, wrong syncid). */
async function sendMalformedSync(lab: Lab): Promise<void> {
  const script = `
const d = require('node:dgram').createSocket('udp4');
const hdr = (b) => Buffer.from(b);
const msgs = [
  hdr([0, 51, 0, 8, 0, 2, 0, 0]),                 // v1-like header, version 2 (read as v0: size mismatch)
  hdr([0, 51, 0, 44, 1, 1, 0, 0]),                // v1, size says 44, datagram is 8
  hdr([0, 51]),                                   // shorter than any header
  Buffer.concat([hdr([0, 7, 0, 44, 1, 1, 0, 0]), Buffer.alloc(36)]), // v1, syncid 7 (backup has 51)
  Buffer.concat([hdr([0, 51, 0, 44, 1, 1, 0, 0]), hdr([0, 6, 0, 99]), Buffer.alloc(32)]), // record length 99 > message
];
d.bind(0, '${lab.client.ip}', () => {
  d.setMulticastInterface('${lab.client.ip}');
  let n = 0;
  for (const m of msgs) d.send(m, 8848, '224.0.0.81', () => { if (++n === msgs.length) d.close(); });
});`;
  await nsRun(lab.client.ns, [process.execPath, '-e', script], { timeoutMs: 5000 });
}

async function scenario(t: TestContext, lab: Lab, dir: string, cap: { frames(): Frame[] }, how: 'sigkill' | 'linkdown', sync: boolean, workers = 1): Promise<void> {
  const d2 = lab.director2!;
  const A = new Director(lab.director.ns, lab.director.ip, lab.director.mac, dir, 'A', workers);
  const B = new Director(d2.ns, d2.ip, d2.mac, dir, 'B', workers);
  const key = `${how}_sync_${sync ? 'on' : 'off'}${workers > 1 ? `_workers_${workers}` : ''}`;
  let cl: Bg | null = null;
  try {
    await A.start(config(150, sync));
    await A.waitState('MASTER', 8000);
    await B.start(config(100, sync));
    await B.waitState('BACKUP', 3000);
    if (sync) {
      await until(() => B.status()?.follow?.backup === true && A.status()?.follow?.master === true, 3000, 'sync master on A, backup on B');
    }
    cl = startBg(lab.client.ns, [process.execPath, CLIENTS, '--host', VIP, '--idle', String(IDLE), '--max-ms', '150000']);
    await until(() => /"ready":true/.test(cl!.out) || !cl!.running, 15_000, () => `clients: ${cl!.out} ${cl!.err}`);
    const r1 = await getRound(cl, 1);
    assert.ok(r1.servers.every((s) => /^rs\d$/.test(s)), r1.servers.join(','));
    if (sync) {
      await until(() => (B.status()?.conns ?? 0) >= IDLE + 1, 8000, () => `B holds ${IDLE + 1} synced conns (has ${B.status()?.conns})`, 100);
      if (how === 'sigkill') {
        const before = B.status()!;
        await sendMalformedSync(lab);
        let after = B.status()!;
        const d = (k: string) => (after.sync[k] ?? 0) - (before.sync[k] ?? 0);
        await until(() => {
          after = B.status()!;
          return d('rx_msgs') >= 5;
        }, 4000, () => `B received the 5 malformed datagrams: ${JSON.stringify(after.sync)}`, 100).catch(() => undefined);
        const drops = Object.fromEntries(Object.keys(after.sync).filter((k) => k.startsWith('drop_') && d(k) > 0).map((k) => [k, d(k)]));
        record(t, 'malformed_sync_drops_on_backup', drops);
        assert.equal(Object.values(drops).reduce((a, b) => a + b, 0), 5, `5 malformed datagrams counted: ${JSON.stringify(after.sync)}`);
        // the master's walk keeps updating B meanwhile; the malformed ones created nothing
        assert.equal(after.conns, before.conns, 'no conn created by the malformed datagrams');
        assert.ok(B.bg!.running, 'the backup is alive');
      }
    } else {
      await sleep(1500);
    }
    await sleep(500);

    const mark = cap.frames().length;
    if (how === 'sigkill') await A.stop('SIGKILL');
    else await nsRun(lab.switch.ns, ['ip', 'link', 'set', lab.director.bridgePort!, 'down']);
    try {
      await B.waitState('MASTER', 8000);
      await sleep(1500); // the stream keeps writing through B
      const r2 = await getRound(cl, 2);
      const lost2 = lostIn(r1.servers, r2.servers);
      await sleep(300);
      const ft = failoverTimes(cap.frames(), mark, A.ip, B.ip);
      assert.ok(ft && ft.failoverMs !== null, 'the capture saw both masters');
      assert.ok(ft.failoverMs! <= FAILOVER_BOUND_MS, `failover ${ft.failoverMs} ms within 3 intervals + skew`);
      if (sync) assert.equal(lost2, 0, `every idle conn answers from the same real server after the failover: ${r2.servers.join(',')}`);

      let lostRecovery: number | null = null;
      let recoveryMs: number | null = null;
      let catchUp: unknown = null;
      if (sync) {
        const t0 = Date.now();
        if (how === 'sigkill') await A.start(config(150, sync));
        else await nsRun(lab.switch.ns, ['ip', 'link', 'set', lab.director.bridgePort!, 'up']);
        await until(() => A.status()?.follow?.catchUp?.phase === 'waiting' || A.status()?.follow?.catchUp?.phase === 'walk_started', 8000, () => `A catching up; log ${A.bg?.err}`, 50);
        const st = await nsRun(lab.director.ns, [process.execPath, TSVS, 'status', '--status-file', A.statusFile], { check: false });
        assert.match(st.stdout, /catching up: \d+ conns received, \d+ s left/);
        await A.waitState('MASTER', 20_000);
        recoveryMs = Date.now() - t0;
        catchUp = A.status()?.follow?.catchUp;
        assert.match(A.bg!.err, /sync catch-up caught up: a full table walk received/);
        assert.ok((A.status()?.conns ?? 0) >= IDLE + 1, 'A holds every conn again');
        await B.waitState('BACKUP', 4000);
        await sleep(500);
        const r3 = await getRound(cl, 3);
        lostRecovery = lostIn(r1.servers, r3.servers);
        assert.equal(lostRecovery, 0, `every idle conn answers from the same real server after A took back the VIP: ${r3.servers.join(',')}`);
      }
      cl.write('finish');
      await until(() => /"stream":/.test(cl!.out) || /streamClosedEarly/.test(cl!.out) || !cl!.running, 20_000, () => `stream end: ${cl!.out}`).catch(() => undefined);
      const line = cl.out.split('\n').find((l) => l.includes('"stream"'));
      const stream = line ? (JSON.parse(line) as { stream: { reply: string; bytes: number; maxGapMs: number } }).stream : null;
      const streamOk = !!stream && new RegExp(`^rs\\d+ ${stream.bytes} `).test(stream.reply);
      if (sync) assert.ok(streamOk, `the stream ends intact: ${cl.out}`);
      record(t, key, {
        failover: ft, connections: IDLE + 1, lostOnFailover: lost2 + (streamOk ? 0 : 1),
        idleLostOnFailover: lost2, streamIntact: streamOk, streamBytes: stream?.bytes ?? null, streamMaxGapMs: stream?.maxGapMs ?? null,
        ...(sync ? { recoveryMs, lostOnRecovery: lostRecovery, catchUp } : {}),
      });
    } finally {
      if (how === 'linkdown') await nsRun(lab.switch.ns, ['ip', 'link', 'set', lab.director.bridgePort!, 'up'], { check: false });
    }
  } finally {
    if (cl?.running) await cl.stop('SIGTERM', 1000);
    await A.stop('SIGTERM');
    await B.stop('SIGTERM');
  }
}

test('failover with and without connection sync: SIGKILL and unplugged master, recovery with catch-up', { skip, timeout: 600_000 }, async (t) => {
  await withLab({ realServers: 2, directors: 2, serverTtlSec: 900 }, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-failover-'));
    try {
      for (const rs of lab.realServers) {
        const s = startBg(rs.ns, [process.execPath, TCP_TOOLS, 'sink', '--name', rs.name, '--port', '9000', '--ttl', '900']);
        await until(() => /READY/.test(s.out) || !s.running, 5000, `sink on ${rs.name}`);
      }
      const capBg = startBg(lab.client.ns, [process.execPath, CAPTURE, '--ifname', 'eth0', '--max-ms', '580000']);
      await until(() => /^READY /m.test(capBg.out) || !capBg.running, 8000, 'capture');
      const cap = { frames: () => capBg.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Frame) };
      for (const how of ['sigkill', 'linkdown'] as const) {
        for (const sync of [true, false]) {
          await t.test(`${how}, sync ${sync ? 'on' : 'off'}`, async (t) => scenario(t, lab, dir, cap, how, sync));
        }
      }
      // both directors with two data-plane workers: each worker syncs its shard, the
      // backup's entries go to the worker of their flow, one marker per pass of all shards
      await t.test('sigkill, sync on, --workers 2', async (t) => scenario(t, lab, dir, cap, 'sigkill', true, 2));
    } finally {
      await started.stopAll(3000);
      const out = join(ROOT, '..', 'bench', 'results');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'failover.json'), `${JSON.stringify({ command: 'npx tsc -p . && node --test --test-timeout=600000 dist/test/netns/failover.test.js', results: results.values }, null, 2)}\n`);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
