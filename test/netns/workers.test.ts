// The multi-core data plane end to end (needs root): `tsvs daemon --workers 2` in the
// director namespace of a flat lab with 2 real servers:
//   - both workers join the fanout group and both forward (per-worker figures in the
//     status file), and `-L -c` lists connections from both shards (workerForFlow of
//     each listed client address/port names both workers);
//   - many new TCP connections (curl, fixed source ports) follow wlc 1:3 overall, UDP
//     datagrams follow rr; `tsvsadm -L -n --stats` sums match what the real servers count;
//   - a kept-alive connection and a long TCP stream survive a `tsvsadm -e` weight change
//     and a SIGHUP reload (the change reaches every worker between blocks);
//   - standby (SIGUSR2) reaches every worker: no datagram is forwarded until SIGUSR1;
//   - SIGTERM stops every worker and the daemon exits 0;
//   - --steer-softirq sets the RX queues' RPS masks to the CPU without a worker and puts
//     the old ones back at stop.
// Every wait is bounded; everything started here is stopped by its PID in a finally.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseV4 } from '../../src/core/addr';
import type { DaemonStatus } from '../../src/control/daemon';
import { workerForFlow } from '../../src/io/fanout';
import { hasNative } from '../../src/io/native';
import { nsRun, udpSend } from '../../src/lab/exec';
import { labSkipReason, withLab } from '../../src/lab/fixture';
import { run } from '../../src/lab/run';
import type { Lab } from '../../src/lab/state';
import { Bg, BgGroup, sleep, until, has } from './helpers/bg';

const TSVS = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
const TSVSADM = join(__dirname, '..', '..', 'src', 'cli', 'tsvsadm.js');
const TCP_TOOLS = join(__dirname, 'helpers', 'tcp-tools.js');

const skip = labSkipReason() ??
  (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined) ??
  (!has(['curl', '--version']) ? 'curl not installed' : undefined);

/** Every process started here, stopped by its PID at the end whatever happened. */
const started = new BgGroup();
const startBg = (ns: string, argv: string[]): Bg => started.start(ns, argv);

function yaml(vip: string, w1: number, w2: number): string {
  const tcp = (port: number) => `  - vip: ${vip}
    port: ${port}
    protocol: tcp
    scheduler: wlc
    realservers:
      - address: 192.0.2.11
        weight: ${w1}
      - address: 192.0.2.12
        weight: ${w2}
`;
  return `# written by test/netns/workers.test.ts
workers: 2
services:
${tcp(80)}${tcp(9000)}  - vip: ${vip}
    port: 7
    protocol: udp
    scheduler: rr
    realservers:
      - address: 192.0.2.11
      - address: 192.0.2.12
`;
}

/** New TCP connections from fixed local ports, all in one curl; the bodies (real-server names). */
async function curlFromPorts(lab: Lab, url: string, ports: number[]): Promise<string[]> {
  const argv = ['ip', 'netns', 'exec', lab.client.ns, 'curl'];
  ports.forEach((p, i) => {
    if (i > 0) argv.push('--next');
    argv.push('-sS', '--noproxy', '*', '--connect-timeout', '3', '--max-time', '3', '-H', 'Connection: close', '--local-port', String(p), '-w', '\n', url);
  });
  const r = await run(argv, { check: false, timeoutMs: 3500 * ports.length + 3000 });
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^rs\d+$/.test(l));
}

async function rsStats(lab: Lab, rs: Lab['realServers'][0]): Promise<{ httpConnections: number; udpDatagrams: number }> {
  const r = await nsRun(rs.ns, ['curl', '-sS', '--max-time', '3', `http://${rs.ip}/stats`], { timeoutMs: 5000 });
  return JSON.parse(r.stdout) as { httpConnections: number; udpDatagrams: number };
}

test('tsvs daemon --workers 2 in a namespace lab', { skip, timeout: 170_000 }, async (t) => {
  await withLab({ realServers: 2 }, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-workers-'));
    const sock = join(dir, 'ctl.sock');
    const statusFile = join(dir, 'status.json');
    const cfg = join(dir, 'tsvs.yaml');
    const vip = lab.vip;
    const adm = async (args: string[]) => {
      const r = await run(['ip', 'netns', 'exec', lab.director.ns, process.execPath, TSVSADM, ...args], { check: false, timeoutMs: 10_000, env: { ...process.env, TSVS_SOCKET: sock } });
      assert.equal(r.code, 0, `tsvsadm ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const status = () => JSON.parse(readFileSync(statusFile, 'utf8')) as DaemonStatus;
    try {
      writeFileSync(cfg, yaml(vip, 1, 3));
      for (const rs of lab.realServers) {
        const sink = startBg(rs.ns, [process.execPath, TCP_TOOLS, 'sink', '--name', rs.name, '--port', '9000', '--ttl', '300']);
        await until(() => /^READY /m.test(sink.out) || !sink.running, 8000, `the sink on ${rs.name}`);
      }
      const daemon = startBg(lab.director.ns, [process.execPath, TSVS, 'daemon', '--interface', lab.director.ifname, '--config', cfg,
        '--status-file', statusFile, '--socket', sock]);
      await until(() => /: director on /.test(daemon.err) || !daemon.running, 20_000, () => `the start-up line: ${daemon.err}`);
      assert.ok(daemon.running, daemon.err);
      assert.match(daemon.err, /worker 0 .*joined fanout group/);
      assert.match(daemon.err, /worker 1 .*joined fanout group/);
      assert.match(daemon.err, /data plane: 2 workers on CPUs/);
      await until(() => { try { return status().unresolved.length === 0; } catch { return false; } }, 8000, 'real servers resolved');
      const before = await Promise.all(lab.realServers.map((rs) => rsStats(lab, rs)));

      await t.test('new TCP connections follow wlc 1:3 over both workers; -L -c lists both shards', async () => {
        const ports = Array.from({ length: 80 }, (_, i) => 20000 + i);
        const bodies = await curlFromPorts(lab, `http://${vip}/`, ports);
        assert.equal(bodies.length, ports.length, 'every connection answered');
        const n1 = bodies.filter((b) => b === 'rs1').length;
        const n2 = bodies.filter((b) => b === 'rs2').length;
        assert.ok(n1 >= 12 && n1 <= 28 && n2 >= 52, `wlc 1:3 overall: rs1 ${n1}, rs2 ${n2}`);
        const workersOfPorts = new Set(ports.map((p) => workerForFlow(6, parseV4(lab.client.ip), p, 2)));
        assert.equal(workersOfPorts.size, 2, 'the source ports map to both workers');
        const listing = await adm(['-L', '-n', '-c']);
        const listed = [...listing.matchAll(/^TCP\s+\S+\s+\S+\s+([\d.]+):(\d+)\s+[\d.]+:80\s/gm)].map((m) => workerForFlow(6, parseV4(m[1]), Number(m[2]), 2));
        assert.ok(listed.length >= ports.length, `-L -c lists the connections (${listed.length}):\n${listing}`);
        assert.ok(listed.includes(0) && listed.includes(1), 'connections from both workers');
        // the status file is rewritten every second
        const s = await until(() => {
          const x = status();
          return x.workers?.length === 2 && x.workers.every((w) => w.forwarded > 0) ? x : undefined;
        }, 4000, () => `both workers forwarded: ${JSON.stringify(status().workers)}`);
        assert.equal(s.workers!.reduce((n, w) => n + w.conns, 0), s.conns, 'the status sums the shards');
        // the kernel's fanout program and workerForFlow agree: each shard holds exactly the
        // connections workerForFlow assigns to it (they stay listed in FIN_WAIT for minutes)
        for (const w of s.workers!) {
          const want = ports.filter((p) => workerForFlow(6, parseV4(lab.client.ip), p, 2) === w.index).length;
          assert.equal(w.conns, want, `worker ${w.index} holds the connections workerForFlow gives it: ${JSON.stringify(s.workers)}`);
        }
      });

      await t.test('UDP through both workers; --stats sums match the real servers', async () => {
        const payloads = Array.from({ length: 20 }, (_, i) => `p${i}`);
        let replies = 0;
        for (let k = 0; k < 4; k++) replies += (await udpSend(lab, vip, 7, payloads.slice(k * 5, k * 5 + 5), { timeoutMs: 2000 })).length;
        assert.ok(replies >= 18, `UDP replies: ${replies}`);
        await sleep(1500); // the status and the counters settle
        const after = await Promise.all(lab.realServers.map((rs) => rsStats(lab, rs)));
        const stats = await adm(['-L', '-n', '--stats']);
        for (let i = 0; i < lab.realServers.length; i++) {
          const rs = lab.realServers[i];
          const tcpLine = new RegExp(`TCP  ${vip.replace(/\./g, '\\.')}:80[\\s\\S]*?-> ${rs.ip.replace(/\./g, '\\.')}:80\\s+(\\d+)\\s+(\\d+)`).exec(stats);
          const udpLine = new RegExp(`UDP  ${vip.replace(/\./g, '\\.')}:7[\\s\\S]*?-> ${rs.ip.replace(/\./g, '\\.')}:7\\s+(\\d+)\\s+(\\d+)`).exec(stats);
          assert.ok(tcpLine && udpLine, stats);
          // the /stats request that read `after` is itself one connection
          assert.equal(Number(tcpLine[1]), after[i].httpConnections - before[i].httpConnections - 1, `${rs.name} TCP connections\n${stats}`);
          assert.equal(Number(udpLine[2]), after[i].udpDatagrams - before[i].udpDatagrams, `${rs.name} UDP datagrams\n${stats}`);
        }
        const s = status();
        const udpSvc = s.services.find((x) => x.proto === 17)!;
        const datagrams = after.reduce((n, a, i) => n + a.udpDatagrams - before[i].udpDatagrams, 0);
        assert.equal(udpSvc.stats.inpkts, datagrams, 'the status file sums UDP packets over the workers');
      });

      await t.test('a kept-alive connection and a long stream survive tsvsadm -e and SIGHUP', { timeout: 60_000 }, async () => {
        const ka = startBg(lab.client.ns, [process.execPath, TCP_TOOLS, 'keepalive', '--host', vip, '--port', '80', '--max-ms', '50000']);
        await until(() => /^READY /m.test(ka.out) || !ka.running, 8000, 'keep-alive client');
        const replies = () => ka.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { n?: number; server?: string; closed?: boolean });
        const get = async (n: number) => {
          const want = replies().filter((r) => r.n).length + n;
          for (let i = 0; i < n; i++) ka.write('get');
          await until(() => replies().filter((r) => r.n).length >= want || replies().some((r) => r.closed), 8000, () => `keep-alive replies ${ka.out}`);
          assert.ok(!replies().some((r) => r.closed), `kept-alive connection open: ${ka.out}`);
        };
        await get(3);
        const stream = nsRun(lab.client.ns, [process.execPath, TCP_TOOLS, 'stream', '--host', vip, '--port', '9000', '--bytes', String(300 << 20), '--timeout-ms', '40000'], { timeoutMs: 45_000, check: false });
        await sleep(300);
        await adm(['-e', '-t', `${vip}:80`, '-r', '192.0.2.11:80', '-g', '-w', '5']);
        await adm(['-e', '-t', `${vip}:9000`, '-r', '192.0.2.12:9000', '-g', '-w', '0']);
        await adm(['-e', '-t', `${vip}:9000`, '-r', '192.0.2.11:9000', '-g', '-w', '0']);
        writeFileSync(cfg, yaml(vip, 2, 1));
        daemon.signal('SIGHUP');
        await until(() => /SIGHUP: reloaded/.test(daemon.err), 5000, () => `the reload line: ${daemon.err}`);
        await get(3);
        const servers = new Set(replies().filter((r) => r.n).map((r) => r.server));
        assert.equal(servers.size, 1, `one real server for the kept-alive connection: ${[...servers]}`);
        const r = await stream;
        const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { error?: string; reply?: string; bytes?: number; ms?: number };
        assert.equal(res.error, undefined, `stream: ${r.stdout} ${r.stderr}`);
        assert.match(res.reply ?? '', new RegExp(`^rs\\d ${300 << 20} `), `the sink got every byte: ${res.reply}`);
        t.diagnostic(`300 MB stream in ${res.ms} ms across the changes`);
        ka.write('quit');
        await Promise.race([ka.closed, sleep(2000)]);
        const listing = await adm(['-L', '-n']);
        assert.match(listing, /192\.0\.2\.11:80\s+Route\s+2\s/, `the SIGHUP weights apply:\n${listing}`);
      });

      await t.test('standby (SIGUSR2) reaches every worker: nothing forwarded; SIGUSR1 forwards again', async () => {
        const forwarded = () => status().workers!.reduce((n, w) => n + w.forwarded, 0);
        const udpRound = async () => {
          let replies = 0;
          for (let k = 0; k < 4; k++) replies += (await udpSend(lab, vip, 7, [`s${k}a`, `s${k}b`, `s${k}c`], { timeoutMs: 1000 })).length;
          return replies;
        };
        daemon.signal('SIGUSR2');
        await until(() => /standby: not answering for the VIPs/.test(daemon.err), 5000, () => `the standby line: ${daemon.err}`);
        await sleep(1200);
        const rsBefore = await Promise.all(lab.realServers.map((rs) => rsStats(lab, rs)));
        const fwdBefore = forwarded();
        assert.equal(await udpRound(), 0, 'no UDP reply through a standby director');
        await sleep(1500); // the status file is rewritten every second
        const rsAfter = await Promise.all(lab.realServers.map((rs) => rsStats(lab, rs)));
        assert.equal(rsAfter.reduce((n, a, i) => n + a.udpDatagrams - rsBefore[i].udpDatagrams, 0), 0, 'no datagram reached a real server');
        assert.equal(forwarded(), fwdBefore, `no worker forwarded: ${JSON.stringify(status().workers)}`);
        daemon.signal('SIGUSR1');
        await until(() => /active: taking over the VIPs/.test(daemon.err), 5000, () => `the active line: ${daemon.err}`);
        assert.ok(await udpRound() >= 10, 'UDP answered again once active');
      });

      await t.test('SIGTERM stops every worker; exit 0', async () => {
        const r = await daemon.stop('SIGTERM', 5000);
        assert.equal(r.killed, false, daemon.err);
        assert.equal(r.code, 0, daemon.err);
        assert.match(daemon.err, /SIGTERM: stopping/);
        assert.doesNotMatch(daemon.err, /fatal/);
      });

      await t.test('a persistent service: the fanout keys by client network, one real server per client', async () => {
        const pcfg = join(dir, 'persistent.yaml');
        writeFileSync(pcfg, `services:\n  - vip: ${vip}\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    persistent: 300\n    netmask: 255.255.255.0\n` +
          '    realservers:\n      - { address: 192.0.2.11 }\n      - { address: 192.0.2.12 }\n');
        const d2 = startBg(lab.director.ns, [process.execPath, TSVS, 'daemon', '--interface', lab.director.ifname, '--config', pcfg,
          '--status-file', statusFile, '--socket', sock, '--workers', '2']);
        await until(() => /: director on /.test(d2.err) || !d2.running, 20_000, () => `the start-up line: ${d2.err}`);
        assert.match(d2.err, /fanout: by client network \(address & 255\.255\.255\.0\)/);
        await sleep(1000);
        const ports = Array.from({ length: 20 }, (_, i) => 21000 + i);
        const bodies = await curlFromPorts(lab, `http://${vip}/`, ports);
        assert.equal(bodies.length, ports.length);
        assert.equal(new Set(bodies).size, 1, `one real server for the client: ${bodies}`);
        const s = await until(() => {
          const x = status();
          return x.workers?.length === 2 && x.workers.some((w) => w.conns > 0) ? x : undefined;
        }, 4000, 'a fresh status');
        const key = { byClient: true, mask: 0xffffff00 };
        const owner = workerForFlow(6, parseV4(lab.client.ip), 0, 2, false, key);
        assert.ok(s.workers![owner].conns >= ports.length && s.workers![1 - owner].conns === 0, `every connection on worker ${owner}: ${JSON.stringify(s.workers)}`);
        const r = await d2.stop('SIGTERM', 5000);
        assert.equal(r.code, 0, d2.err);
      });

      await t.test('--steer-softirq: the RX queues\' RPS masks move to the CPU without a worker, and come back at stop', async () => {
        const rps = async () => (await nsRun(lab.director.ns, ['cat', `/sys/class/net/${lab.director.ifname}/queues/rx-0/rps_cpus`])).stdout.trim();
        const before = await rps();
        // both workers on CPU 1: CPU 0 is the one left for receive softirq
        const d3 = startBg(lab.director.ns, [process.execPath, TSVS, 'daemon', '--interface', lab.director.ifname, '--config', cfg,
          '--status-file', statusFile, '--socket', sock, '--workers', '2', '--cpus', '1', '--steer-softirq']);
        await until(() => /: director on /.test(d3.err) || !d3.running, 20_000, () => `the start-up line: ${d3.err}`);
        assert.match(d3.err, /--steer-softirq: RPS of eth0 \(1 RX queue\(s\)\) -> CPUs 0 \(mask 1\)/);
        assert.equal(parseInt(await rps(), 16), 1, 'rps_cpus is CPU 0 while the daemon runs');
        const udp = await udpSend(lab, vip, 7, ['x', 'y'], { timeoutMs: 2000 });
        assert.equal(udp.length, 2, 'forwarding works with the steered masks');
        const r = await d3.stop('SIGTERM', 5000);
        assert.equal(r.code, 0, d3.err);
        assert.equal(await rps(), before, 'the old mask is back');
      });
    } finally {
      await started.stopAll(3000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
