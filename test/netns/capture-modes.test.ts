// The data plane end to end in each capture mode (needs root): one shared case list, run
// against `tsvs daemon --capture afpacket`, `--capture pcap` and `--capture tun`.
//
// One routed lab for all three (the machine is small): the client 203.0.113.10 behind the
// router, whose route for the VIP 192.0.2.100 points at the director 192.0.2.2; 3 real
// servers with the VIP on lo answer the client directly through the router. In afpacket
// and pcap modes the director's kernel has ip_forward=0 and tsvs takes the frames off the
// wire; in tun mode the director is a router (ip_forward=1), `--tun-routes` routes the VIP
// into the TUN device, and tsvs sends the DR frames out of eth0. Offloads are off in this
// lab: pcap has no vnet headers, so TSO super-frames from the senders cannot be injected
// (afpacket's vnet-header path is covered by dataplane.test.ts and afpacket.test.ts); a
// last run of tun mode switches them on, so TCP crosses the TUN device as TSO
// super-packets with partial checksums, behind vnet headers.
//
// The cases, per mode:
//   - every real server resolved; ARP for the VIP answered by the director in afpacket and
//     pcap modes, by nobody in tun mode (the VIP is routed, not owned at L2);
//   - ping through the VIP; wlc 1:2:3 over 60 new TCP connections (curl, one local port
//     each); a 4 MB TCP stream arrives whole at one real server; UDP from 6 source ports
//     spread by rr, replies from the VIP;
//   - the client saw no RST from the VIP (an AF_PACKET capture on the client);
//   - SIGTERM exits 0 within 3 s; in tun mode the device and its route are gone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { arping, nsRun, ping, udpSend } from '../../src/lab/exec';
import { run } from '../../src/lab/run';
import { setOffloads } from '../../src/lab/offloads';
import { vethEnds } from '../../src/lab/topology';
import type { Lab } from '../../src/lab/state';
import type { DaemonStatus } from '../../src/control/daemon';
import { hasNative } from '../../src/io/native';
import { TCP_RST, type Frame } from './helpers/frames';
import { Bg, BgGroup, sleep, until, has } from './helpers/bg';

const TSVS = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
const CAPTURE = join(__dirname, 'helpers', 'capture.js');
const TCP_TOOLS = join(__dirname, 'helpers', 'tcp-tools.js');

const skip = labSkipReason() ??
  (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined) ??
  (!has(['curl', '--version']) ? 'curl not installed' : undefined) ??
  (!has(['arping', '-V']) ? 'arping not installed' : undefined);

interface Mode {
  name: string;
  capture: 'afpacket' | 'pcap' | 'tun';
  /** veth offloads switched to this before the mode runs (the lab starts with them off). */
  offloads?: 'on';
  args: string[];
  ipForward: 0 | 1;
  /** The director answers ARP for the VIP. */
  ownsVip: boolean;
  /** First client port of this mode's curl connections (kept apart between modes). */
  portBase: number;
}

const TUN = 'tsvscm0';
const MODES: Mode[] = [
  { name: 'afpacket', capture: 'afpacket', args: ['--capture', 'afpacket'], ipForward: 0, ownsVip: true, portBase: 20001 },
  { name: 'pcap', capture: 'pcap', args: ['--capture', 'pcap'], ipForward: 0, ownsVip: true, portBase: 21001 },
  { name: 'tun', capture: 'tun', args: ['--capture', 'tun', '--tun', TUN, '--tun-routes'], ipForward: 1, ownsVip: false, portBase: 22001 },
  // TSO super-packets and partial checksums through the TUN device's vnet headers
  { name: 'tun, offloads on', capture: 'tun', offloads: 'on', args: ['--capture', 'tun', '--tun', TUN, '--tun-routes'], ipForward: 1, ownsVip: false, portBase: 23001 },
];

/** Every process started here, stopped by its PID at the end whatever happened. */
const started = new BgGroup();
const startBg = (ns: string, argv: string[]): Bg => started.start(ns, argv);

function yamlOf(lab: Lab): string {
  const [rs1, rs2, rs3] = lab.realServers;
  const svc = (port: number, proto: string, sched: string, rs: Array<[string, number]>) =>
    [`  - vip: ${lab.vip}`, `    port: ${port}`, `    protocol: ${proto}`, `    scheduler: ${sched}`, '    realservers:',
      ...rs.flatMap(([a, w]) => [`      - address: ${a}`, `        weight: ${w}`])].join('\n');
  return ['services:',
    svc(80, 'tcp', 'wlc', [[rs1.ip, 1], [rs2.ip, 2], [rs3.ip, 3]]),
    svc(7, 'udp', 'rr', lab.realServers.map((r) => [r.ip, 1])),
    svc(9000, 'tcp', 'wlc', lab.realServers.map((r) => [r.ip, 1])),
    ''].join('\n');
}

function statusOf(file: string): DaemonStatus | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DaemonStatus;
  } catch {
    return undefined;
  }
}

/** `ports.length` new connections with curl, each from its own local port; the bodies. */
async function curlFromPorts(lab: Lab, ports: number[]): Promise<string[]> {
  const sep = '@@capture-modes@@';
  const argv = ['ip', 'netns', 'exec', lab.client.ns, 'curl'];
  ports.forEach((p, i) => {
    if (i > 0) argv.push('--next');
    argv.push('-sS', '--noproxy', '*', '--connect-timeout', '3', '--max-time', '3', '-H', 'Connection: close',
      '--local-port', String(p), '-w', `\n${sep} %{http_code}\n`, `http://${lab.vip}/`);
  });
  const r = await run(argv, { check: false, timeoutMs: 3500 * ports.length + 3000 });
  const bodies: string[] = [];
  const re = new RegExp(`\\n${sep} (\\d+)\\n`, 'g');
  let last = 0;
  for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) {
    if (m[1] !== '200') break;
    bodies.push(r.stdout.slice(last, m.index).trim());
    last = m.index + m[0].length;
  }
  assert.equal(bodies.length, ports.length, `curl: ${bodies.length} of ${ports.length} answered (exit ${r.code}): ${r.stderr.trim()}`);
  return bodies;
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

test('the data plane in every capture mode: afpacket, pcap, tun (routed lab, 3 real servers)', { skip, timeout: 420_000 }, async (t) => {
  await withLab({ realServers: 3, routed: true, offloads: 'off' }, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-capture-modes-'));
    const removeDir = () => rmSync(dir, { recursive: true, force: true });
    process.once('exit', removeDir);
    const director = lab.director;
    const router = lab.router!;
    const rsByName = new Map(lab.realServers.map((r) => [r.name, r]));
    try {
      for (const rs of lab.realServers) {
        const sink = startBg(rs.ns, [process.execPath, TCP_TOOLS, 'sink', '--name', rs.name, '--port', '9000', '--ttl', '600']);
        await until(() => /^READY /m.test(sink.out) || !sink.running, 8000, `the sink on ${rs.name}`);
      }
      const config = join(dir, 'services.yaml');
      writeFileSync(config, yamlOf(lab));

      for (const mode of MODES) {
        await t.test(`--capture ${mode.name}`, { timeout: 120_000 }, async (mt) => {
          if (mode.offloads) await Promise.all(vethEnds(lab).map(([ns, ifname]) => setOffloads(ns, ifname, mode.offloads!)));
          await run(['ip', 'netns', 'exec', director.ns, 'sysctl', '-qw', `net.ipv4.ip_forward=${mode.ipForward}`]);
          const tag = mode.name.replace(/\W+/g, '-');
          const statusFile = join(dir, `${tag}.status.json`);
          const cliCap = startBg(lab.client.ns, [process.execPath, CAPTURE, '--ifname', lab.client.ifname, '--max-ms', '120000']);
          await until(() => /^READY /m.test(cliCap.out) || !cliCap.running, 8000, 'the client capture');
          const daemon = startBg(director.ns, [process.execPath, TSVS, 'daemon', '--interface', director.ifname, '--config', config,
            '--status-file', statusFile, '--socket', join(dir, `${tag}.sock`), ...mode.args]);
          const log = () => daemon.err + daemon.out;
          try {
            await until(() => /: director on /.test(daemon.err) || !daemon.running, 10_000, () => `the start-up line; log: ${log()}`);
            assert.ok(daemon.running, `the daemon runs: ${log()}`);
            assert.match(log(), new RegExp(`vnet headers ${mode.capture === 'pcap' ? 'off' : 'on'}, capture ${mode.capture}`));
            await until(() => {
              const s = statusOf(statusFile);
              return s && s.unresolved.length === 0 && s.services.length === 3;
            }, 8000, () => `every real server resolved; log: ${log()}`);

            await mt.test('ARP for the VIP on the LAN', async () => {
              const a = await arping(lab, lab.vip, { ns: router.ns, iface: router.ifname, count: 2, deadlineS: 2 });
              if (mode.ownsVip) assert.deepEqual(a.macs, [director.mac], `the director answers ARP for the VIP (${a.replies} replies)`);
              else assert.equal(a.replies, 0, 'nobody answers ARP for a routed VIP');
            });

            await mt.test('ping through the VIP', async () => {
              const p = await ping(lab, lab.vip, { count: 3, deadlineS: 3 });
              assert.equal(p.received, 3);
            });

            await mt.test('wlc 1:2:3 over 60 new TCP connections', async (tt) => {
              const n = countBy(await curlFromPorts(lab, Array.from({ length: 60 }, (_, i) => mode.portBase + i)));
              tt.diagnostic(`${mode.name}: ${JSON.stringify(n)}`);
              const [c1, c2, c3] = [n.rs1 ?? 0, n.rs2 ?? 0, n.rs3 ?? 0];
              assert.equal(c1 + c2 + c3, 60);
              assert.ok(c1 < c2 && c2 < c3, `counts follow the weights: ${JSON.stringify(n)}`);
              for (const [c, want] of [[c1, 10], [c2, 20], [c3, 30]]) assert.ok(Math.abs(c - want) <= 4, `~${want}: ${JSON.stringify(n)}`);
            });

            await mt.test('a 4 MB TCP stream arrives whole at one real server', async (tt) => {
              const bytes = 4 << 20;
              await sleep(1100); // a status snapshot from before the stream
              const rx0 = statusOf(statusFile)!.pipeline.rxFrames;
              const r = await nsRun(lab.client.ns, [process.execPath, TCP_TOOLS, 'stream', '--host', lab.vip, '--port', '9000', '--bytes', String(bytes), '--timeout-ms', '20000'], { timeoutMs: 25_000, check: false });
              const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { reply?: string; sha256?: string; error?: string };
              assert.equal(res.error, undefined, `stream: ${r.stdout} ${r.stderr}`);
              const m = /^(rs\d+) (\d+) ([0-9a-f]{64})$/.exec(res.reply ?? '');
              assert.ok(m && rsByName.has(m[1]), `sink reply: ${res.reply}`);
              assert.equal(Number(m[2]), bytes);
              assert.equal(m[3], res.sha256);
              await sleep(1100);
              const frames = statusOf(statusFile)!.pipeline.rxFrames - rx0;
              tt.diagnostic(`${mode.name}: the stream took ${frames} frames through the director`);
              // 4 MB in MTU-sized segments is about 2,900 frames (plus the ACK-less rest);
              // as TSO super-packets it is far fewer.
              if (mode.offloads) assert.ok(frames < 1500, `super-packets through the TUN device: ${frames} frames`);
              else assert.ok(frames >= 2800, `MTU-sized frames: ${frames}`);
            });

            await mt.test('UDP from 6 source ports: rr over the 3 real servers, replies from the VIP', async () => {
              const seen: string[] = [];
              for (let i = 0; i < 6; i++) {
                const replies = await udpSend(lab, lab.vip, 7, [`${tag}${i}a`, `${tag}${i}b`]);
                assert.equal(replies.length, 2, `datagrams from source port #${i} answered`);
                for (const rep of replies) assert.deepEqual([rep.address, rep.port], [lab.vip, 7]);
                const names = new Set(replies.map((rep) => rep.data.split(':')[0]));
                assert.equal(names.size, 1, 'one source port sticks to one server');
                seen.push([...names][0]);
              }
              assert.deepEqual(Object.keys(countBy(seen)).sort(), ['rs1', 'rs2', 'rs3'], `each real server got some: ${JSON.stringify(countBy(seen))}`);
            });

            await mt.test('no RST from the VIP reached the client; no forwarding drops', async () => {
              await sleep(150);
              const r = await cliCap.stop('SIGTERM', 3000);
              assert.ok(/^END \d+$/m.test(cliCap.out), `the client capture ended cleanly (${JSON.stringify(r)})`);
              const frames = cliCap.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Frame);
              const fromVip = frames.filter((f) => f.ip?.src === lab.vip && f.tcp);
              assert.ok(fromVip.length > 100, `the client saw the replies (${fromVip.length} TCP frames from the VIP)`);
              const rst = fromVip.filter((f) => f.tcp!.flags & TCP_RST);
              assert.deepEqual(rst.map((f) => `${f.ip!.src}:${f.tcp!.sport} -> ${f.ip!.dst}:${f.tcp!.dport}`), []);
              const s = statusOf(statusFile)!;
              assert.equal(s.pipeline.txFailed, 0, `no TX failure: ${JSON.stringify(s.pipeline)}`);
              for (const k of ['unresolved_dest', 'runt', 'bad_ip', 'bad_l4']) assert.equal(s.drops[k] ?? 0, 0, `no ${k} drops: ${JSON.stringify(s.drops)}`);
            });

            await mt.test('SIGTERM: exit 0 within 3 s, nothing left behind', async () => {
              const r = await daemon.stop('SIGTERM', 3000);
              assert.deepEqual([r.code, r.signal, r.killed], [0, null, false], `exit ${JSON.stringify(r)}; log: ${log()}`);
              assert.doesNotMatch(log(), /^\s+at /m, 'no stack trace');
              const routes = await run(['ip', '-n', director.ns, 'route', 'show', `${lab.vip}/32`]);
              assert.equal(routes.stdout.trim(), '', 'no route for the VIP is left');
              const link = await run(['ip', '-n', director.ns, 'link', 'show', TUN], { check: false });
              assert.notEqual(link.code, 0, 'no TUN device is left');
            });
          } finally {
            if (daemon.running) await daemon.stop('SIGTERM', 3000);
            if (cliCap.running) await cliCap.stop('SIGTERM', 3000);
          }
        });
      }
    } finally {
      await started.stopAll(2000);
      await run(['ip', 'netns', 'exec', director.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=0'], { check: false });
      removeDir();
      process.removeListener('exit', removeDir);
    }
  });
});
