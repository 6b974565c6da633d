// Connection sync and take-over between two directors (needs root). A flat lab with two
// directors on the LAN (`directors: 2`: A = director .2, B = director2 .3) and 2 real
// servers; both run the same rules (HTTP :80 and a stream sink :9000, rr, DR). The whole
// test runs twice: one data-plane thread, and --workers 2 on both directors (each worker
// syncs its own shard; B hands every synced conn to the worker that will see its packets).
//   - A runs a master sync daemon, B runs standby (--standby: no ARP answers for the VIP,
//     no gratuitous ARP) with a backup sync daemon (tsvsadm --start-daemon on each control
//     socket); -L --daemon prints as ipvsadm.
//   - The client opens one long TCP stream and 20 idle keep-alive HTTP connections via the
//     VIP; B's `tsvsadm -L -c -n` shows every one of them, on the same real server as A,
//     within a few seconds (the time is measured and printed).
//   - A is killed (SIGKILL), B is made active (SIGUSR1 -> Daemon.setActive(true): gratuitous
//     ARP); the stream continues and finishes intact (sink's byte count and hash), and every
//     idle connection still answers from the same real server.
// Every wait is bounded; every process started here is stopped by its PID in a finally,
// then the lab goes down (withLab).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { run } from '../../src/lab/run';
import { hasNative } from '../../src/io/native';
import { Bg, BgGroup, sleep, until } from './helpers/bg';
import { connsOf } from './helpers/conn-listing';

const ROOT = join(__dirname, '..', '..');
const TSVS = join(ROOT, 'src', 'cli', 'tsvs.js');
const TSVSADM = join(ROOT, 'src', 'cli', 'tsvsadm.js');
const TCP_TOOLS = join(__dirname, 'helpers', 'tcp-tools.js');
const CLIENTS = join(__dirname, 'helpers', 'sync-clients.js');
const IDLE = 20;

const skip = labSkipReason() ?? (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined);

const started = new BgGroup();
const bg = (ns: string, argv: string[]): Bg => started.start(ns, argv);

async function tsvsadm(sock: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await run([process.execPath, TSVSADM, ...args], { check: false, timeoutMs: 15_000, env: { ...process.env, TSVS_SOCKET: sock } });
  return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
}


for (const workers of [1, 2]) test(`two directors, --workers ${workers}: the backup learns every conn and takes over without breaking them`, { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-sync-'));
  try {
    await withLab({ realServers: 2, directors: 2 }, async (lab) => {
     try {
      const A = lab.director;
      const B = lab.director2!;
      const rules = join(dir, 'rules');
      const vip = lab.vip;
      const lines = [`-A -t ${vip}:80 -s rr`, `-A -t ${vip}:9000 -s rr`];
      for (const rs of lab.realServers) lines.push(`-a -t ${vip}:80 -r ${rs.ip}:80 -g -w 1`, `-a -t ${vip}:9000 -r ${rs.ip}:9000 -g -w 1`);
      writeFileSync(rules, `${lines.join('\n')}\n`);
      for (const rs of lab.realServers) {
        const sink = bg(rs.ns, [process.execPath, TCP_TOOLS, 'sink', '--name', rs.name, '--port', '9000', '--ttl', '300']);
        await until(() => /READY/.test(sink.out), 10_000, `sink on ${rs.name}`);
      }
      const sockA = join(dir, 'a.sock');
      const sockB = join(dir, 'b.sock');
      const da = bg(A.ns, [process.execPath, TSVS, 'daemon', '--interface', A.ifname, '--socket', sockA, '--rules', rules, '--no-early-drop', '--workers', String(workers)]);
      const db = bg(B.ns, [process.execPath, TSVS, 'daemon', '--interface', B.ifname, '--socket', sockB, '--rules', rules, '--no-early-drop', '--standby', '--workers', String(workers)]);
      await until(() => /control socket/.test(da.err) || !da.running, 15_000, () => `daemon A: ${da.err}`);
      await until(() => /control socket/.test(db.err) || !db.running, 15_000, () => `daemon B: ${db.err}`);
      assert.ok(da.running && db.running, `${da.err}\n${db.err}`);

      assert.equal((await tsvsadm(sockA, ['--start-daemon', 'master', '--mcast-interface', 'eth0', '--syncid', '5'])).code, 0);
      assert.equal((await tsvsadm(sockB, ['--start-daemon', 'backup', '--mcast-interface', 'eth0', '--syncid', '5'])).code, 0);
      assert.equal((await tsvsadm(sockA, ['-L', '--daemon'])).stdout, 'master sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
      assert.equal((await tsvsadm(sockB, ['-L', '--daemon'])).stdout, 'backup sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');

      // only A answers ARP for the VIP
      const arp = await run(['ip', 'netns', 'exec', lab.client.ns, 'arping', '-c', '2', '-w', '3', '-I', lab.client.ifname, vip], { check: false, timeoutMs: 8000 });
      assert.ok(arp.stdout.toLowerCase().includes(A.mac.toLowerCase()), arp.stdout);
      assert.ok(!arp.stdout.toLowerCase().includes(B.mac.toLowerCase()), `standby B answered ARP: ${arp.stdout}`);

      const cl = bg(lab.client.ns, [process.execPath, CLIENTS, '--host', vip, '--idle', String(IDLE), '--max-ms', '150000']);
      await until(() => /"ready":true/.test(cl.out) || !cl.running, 15_000, () => `clients: ${cl.out} ${cl.err}`);
      const ready = JSON.parse(cl.out.split('\n').find((l) => l.includes('"ready"'))!) as { ports: number[]; streamPort: number };
      const tReady = Date.now();
      // one GET on each: 3+ packets per conn, so each passes the sync threshold
      cl.write('get');
      await until(() => /"round":1/.test(cl.out), 10_000, 'round 1');
      const round = (n: number) => JSON.parse(cl.out.split('\n').find((l) => l.includes(`"round":${n}`))!) as { servers: string[] };
      const before = round(1).servers;
      assert.ok(before.every((s) => /^rs\d$/.test(s)), before.join(','));

      // B lists every conn on the same real server as A
      let listB = new Map<number, string>();
      let listA = new Map<number, string>();
      await until(async () => {
        listB = connsOf((await tsvsadm(sockB, ['-L', '-c', '-n'])).stdout, 80);
        const streamB = connsOf((await tsvsadm(sockB, ['-L', '-c', '-n'])).stdout, 9000);
        return ready.ports.every((p) => listB.has(p)) && streamB.has(ready.streamPort);
      }, 10_000, () => `B to list all ${IDLE} idle conns and the stream (has ${listB.size})`, 100);
      const seenMs = Date.now() - tReady;
      listA = connsOf((await tsvsadm(sockA, ['-L', '-c', '-n'])).stdout, 80);
      for (const p of ready.ports) assert.equal(listB.get(p), listA.get(p), `conn ${p}: same real server on A and B`);
      const streamRsA = connsOf((await tsvsadm(sockA, ['-L', '-c', '-n'])).stdout, 9000).get(ready.streamPort);
      assert.equal(connsOf((await tsvsadm(sockB, ['-L', '-c', '-n'])).stdout, 9000).get(ready.streamPort), streamRsA);
      process.stderr.write(`sync (${workers} worker${workers > 1 ? 's' : ''}): backup listed ${IDLE} idle conns + 1 stream ${seenMs} ms after they were open (incl. one GET round)\n`);

      // take-over: A dies, B becomes active (gratuitous ARP)
      await sleep(1000);
      const tKill = Date.now();
      process.kill(da.pid, 'SIGKILL');
      await da.closed;
      db.signal('SIGUSR1');
      await until(() => /active: taking over/.test(db.err), 5000, 'B active');
      const arp2 = await run(['ip', 'netns', 'exec', lab.client.ns, 'ip', 'neigh', 'show', vip], { check: false, timeoutMs: 5000 });
      assert.ok(arp2.stdout.toLowerCase().includes(B.mac.toLowerCase()), `client's ARP entry after take-over: ${arp2.stdout}`);
      await sleep(1500); // the stream keeps writing through B
      cl.write('get');
      await until(() => /"round":2/.test(cl.out), 15_000, 'round 2');
      const after = round(2).servers;
      assert.deepEqual(after, before, 'every idle conn answers from the same real server after the take-over');
      cl.write('finish');
      await until(() => /"stream":/.test(cl.out) || /streamClosedEarly/.test(cl.out), 20_000, () => `stream end: ${cl.out}`);
      const st = (JSON.parse(cl.out.split('\n').find((l) => l.includes('"stream"'))!) as { stream: { reply: string; bytes: number; sha256: string; maxGapMs: number } }).stream;
      assert.equal(st.reply, `${streamRsA === lab.realServers[0].ip ? lab.realServers[0].name : lab.realServers[1].name} ${st.bytes} ${st.sha256}`);
      process.stderr.write(`sync (${workers} worker${workers > 1 ? 's' : ''}): take-over ${Date.now() - tKill} ms total; stream ${st.bytes} bytes intact, longest write stall ${st.maxGapMs} ms\n`);
      const status = await tsvsadm(sockB, ['-L', '--daemon']);
      assert.equal(status.code, 0);
     } finally {
      await started.stopAll();
     }
    });
  } finally {
    await started.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
