// The data plane end to end (needs root): `tsvs daemon` runs in the director namespace of a
// flat lab with 3 real servers (src/lab) and real clients go through the VIP 192.0.2.100:
//   - wlc 1:2:3 over new TCP connections, one kept-alive connection and one 4 MB stream
//     staying on one server, UDP from several source ports spread by rr;
//   - only the director answers ARP/ping for the VIP, and the director's kernel sends no
//     RST (an independent AF_PACKET capture, helpers/capture.ts, on the director's eth0);
//   - on the real servers' link the forwarded frames carry the VIP, the RS MAC and TTL-1;
//   - malformed frames injected from the client are counted by reason, answered with ICMP
//     time exceeded when their TTL runs out, and never stop the daemon;
//   - SIGHUP reloads: weight 0 keeps existing connections but gets no new ones, a removed
//     real server gets nothing, a broken file leaves the running configuration alone;
//   - SIGTERM and SIGINT exit 0; start-up mistakes are one line on stderr and an exit code;
//     a real server nobody answers ARP for is named in a warning and skipped.
// One lab for the whole file (the machine is small); each step is bounded in time and
// everything started here is stopped by its PID in a finally (then the lab goes down).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { arping, httpGet, neighbour, nsRun, ping, pidMatches, udpSend } from '../../src/lab/exec';
import { run } from '../../src/lab/run';
import type { Lab } from '../../src/lab/state';
import type { DaemonStatus } from '../../src/control/daemon';
import { hasNative } from '../../src/io/native';
import { TCP_ACK, TCP_RST, TCP_SYN, fixIpChecksum, tcpFrame, toHex, wr16, type Frame } from './helpers/frames';
import { Bg, BgGroup, sleep, until, has } from './helpers/bg';

const TSVS = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
const HELPERS = join(__dirname, 'helpers');
const CAPTURE = join(HELPERS, 'capture.js');
/** libpcap (the `cap` package): the independent capture path for the real servers' link. */
const PCAP_CAPTURE = join(HELPERS, 'pcap-capture.js');
const INJECT = join(HELPERS, 'inject.js');
const TCP_TOOLS = join(HELPERS, 'tcp-tools.js');

const skip = labSkipReason() ??
  (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined) ??
  (!has(['curl', '--version']) ? 'curl not installed' : undefined) ??
  (!has(['arping', '-V']) ? 'arping not installed' : undefined);


// ===================================================================================
// Background processes in a namespace: our own children, stopped by their PID
// ===================================================================================

/** Every process started here, stopped by its PID at the end whatever happened. */
const started = new BgGroup();
const startBg = (ns: string, argv: string[]): Bg => started.start(ns, argv);

/** A capture (helpers/capture.ts) on `ifname` in `ns`; frames() parses what it printed so far. */
class Capture {
  private constructor(readonly bg: Bg, readonly what: string) {}

  static async start(ns: string, what: string, ifname = 'eth0', tool = CAPTURE): Promise<Capture> {
    const bg = startBg(ns, [process.execPath, tool, '--ifname', ifname, '--max-ms', '150000']);
    await until(() => /^READY /m.test(bg.out) || !bg.running, 8000, `capture in ${ns}`);
    if (!/^READY /m.test(bg.out)) throw new Error(`capture in ${ns} failed: ${bg.err.trim()}`);
    return new Capture(bg, what);
  }

  frames(): Frame[] {
    return this.bg.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Frame);
  }

  /** Stops it (after a short wait for the last frames) and returns everything it saw. */
  async stop(): Promise<Frame[]> {
    await sleep(150);
    const r = await this.bg.stop('SIGTERM', 3000);
    assert.ok(/^END \d+$/m.test(this.bg.out), `capture ${this.what} ended cleanly (${JSON.stringify(r)}, ${this.bg.err.trim()})`);
    return this.frames();
  }
}

// ===================================================================================
// The daemon
// ===================================================================================

interface RsSpec {
  address: string;
  weight?: number;
}
interface SvcSpec {
  port: number;
  protocol: 'tcp' | 'udp';
  scheduler: string;
  realservers: RsSpec[];
}

function yamlOf(vip: string, services: SvcSpec[]): string {
  const out = ['# written by test/netns/dataplane.test.ts', 'services:'];
  for (const s of services) {
    out.push(`  - vip: ${vip}`, `    port: ${s.port}`, `    protocol: ${s.protocol}`, `    scheduler: ${s.scheduler}`, '    realservers:');
    for (const r of s.realservers) out.push(`      - address: ${r.address}`, `        weight: ${r.weight ?? 1}`);
  }
  return `${out.join('\n')}\n`;
}

class TsvsDaemon {
  private constructor(readonly bg: Bg, readonly configFile: string, readonly statusFile: string, readonly socketFile: string, readonly startedAt: number) {}

  /** Starts `tsvs daemon` on the director's eth0 and waits for its start-up line. */
  static async start(lab: Lab, dir: string, tag: string, yaml: string): Promise<TsvsDaemon> {
    const configFile = join(dir, `${tag}.yaml`);
    const statusFile = join(dir, `${tag}.status.json`);
    writeFileSync(configFile, yaml);
    const t0 = Date.now();
    const socketFile = join(dir, `${tag}.sock`); // never the shared default /run/tsvs/tsvs.sock
    const bg = startBg(lab.director.ns, [process.execPath, TSVS, 'daemon', '--interface', lab.director.ifname, '--config', configFile,
      '--status-file', statusFile, '--socket', socketFile]);
    const d = new TsvsDaemon(bg, configFile, statusFile, socketFile, t0);
    await until(() => /: director on /.test(bg.err) || !bg.running, 10_000, () => `the daemon's start-up line; log: ${d.log}`);
    if (!bg.running) throw new Error(`the daemon exited at start: ${d.log}`);
    return d;
  }

  get pid(): number {
    return this.bg.pid;
  }

  get log(): string {
    return this.bg.err + this.bg.out;
  }

  get alive(): boolean {
    return this.bg.running && pidMatches(this.bg.pid, TSVS);
  }

  status(): DaemonStatus | undefined {
    try {
      return JSON.parse(readFileSync(this.statusFile, 'utf8')) as DaemonStatus;
    } catch {
      return undefined;
    }
  }

  async waitStatus(pred: (s: DaemonStatus) => boolean, ms: number, what: string): Promise<DaemonStatus> {
    return until(() => {
      const s = this.status();
      return s && pred(s) ? s : undefined;
    }, ms, () => `${what}; status ${JSON.stringify(this.status()?.unresolved)} log: ${this.log}`);
  }

  /** A status snapshot written after this call (the daemon writes one each second). */
  async freshStatus(): Promise<DaemonStatus> {
    const t = Date.now();
    await until(() => {
      try {
        return statSync(this.statusFile).mtimeMs > t + 1;
      } catch {
        return false;
      }
    }, 4000, 'a fresh status file');
    return this.status()!;
  }

  /** Rewrites the config, sends SIGHUP (by PID) and returns the daemon's SIGHUP log line. */
  async reload(yaml: string): Promise<string> {
    const before = this.log.match(/SIGHUP: .*/g)?.length ?? 0;
    writeFileSync(this.configFile, yaml);
    this.bg.signal('SIGHUP');
    await until(() => (this.log.match(/SIGHUP: .*/g)?.length ?? 0) > before, 5000, 'the SIGHUP log line');
    return this.log.match(/SIGHUP: .*/g)![before];
  }
}

/** Dest address -> field, for service proto/port in a status snapshot. */
function destField(s: DaemonStatus, proto: number, port: number, f: (d: DaemonStatus['services'][0]['dests'][0]) => number): Map<string, number> {
  const svc = s.services.find((x) => x.proto === proto && x.port === port);
  assert.ok(svc, `service ${proto}/${port} in the status`);
  return new Map(svc.dests.map((d) => [d.addr, f(d)]));
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

const bodiesOf = (r: { bodies: string[] }) => r.bodies.map((b) => b.trim());

/** A long-lived HTTP/1.1 keep-alive client (helpers/tcp-tools.ts keepalive) in the client namespace. */
class KeepAliveClient {
  private seen = 0;
  private constructor(readonly bg: Bg) {}

  static async open(lab: Lab, host: string, port: number): Promise<KeepAliveClient> {
    const bg = startBg(lab.client.ns, [process.execPath, TCP_TOOLS, 'keepalive', '--host', host, '--port', String(port), '--max-ms', '60000']);
    await until(() => /^READY /m.test(bg.out) || !bg.running, 8000, 'the keep-alive client to connect');
    if (!/^READY /m.test(bg.out)) throw new Error(`keep-alive client: ${bg.out} ${bg.err}`);
    return new KeepAliveClient(bg);
  }

  private replies(): Array<{ n?: number; status?: number; body?: string; server?: string; closed?: boolean; error?: string }> {
    return this.bg.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  }

  /** `count` requests on the one connection; the real-server names that answered. */
  async get(count: number): Promise<string[]> {
    for (let i = 0; i < count; i++) this.bg.write('get');
    const want = this.seen + count;
    await until(() => this.replies().filter((r) => r.n).length >= want || this.replies().some((r) => r.closed), 8000, () => `${count} keep-alive replies (${this.bg.out})`);
    const all = this.replies();
    const closed = all.find((r) => r.closed);
    assert.equal(closed, undefined, `the kept-alive connection stays open: ${JSON.stringify(closed)}`);
    const got = all.filter((r) => r.n).slice(this.seen, want);
    this.seen = want;
    for (const r of got) assert.equal(r.status, 200);
    return got.map((r) => r.server ?? '?');
  }

  async close(): Promise<void> {
    this.bg.write('quit');
    await Promise.race([this.bg.closed, sleep(2000)]);
    if (this.bg.running) await this.bg.stop();
  }
}

/**
 * New TCP connections with curl (Connection: close), one per port of `ports`, each from that
 * local port: `--next` gives every transfer its own --local-port, all in one curl process.
 * Fixed ports below the ephemeral range keep these connections apart from every earlier one:
 * the kernel's ephemeral-port walk is shared by all namespaces with the same addresses (a
 * lab beside ours moves it), and a SYN that reuses the 4-tuple of a connection the director
 * still holds (SYN_RECV, or FIN_WAIT, the last state DR sees) follows that connection, as
 * in IPVS with conn_reuse_mode=1, instead of being scheduled.
 */
async function curlFromPorts(lab: Lab, url: string, ports: number[]): Promise<{ bodies: string[]; ports: number[]; connects: number[] }> {
  const sep = '@@dataplane@@';
  const argv = ['ip', 'netns', 'exec', lab.client.ns, 'curl'];
  ports.forEach((p, i) => {
    if (i > 0) argv.push('--next');
    argv.push('-sS', '--noproxy', '*', '--connect-timeout', '3', '--max-time', '3', '-H', 'Connection: close',
      '--local-port', String(p), '-w', `\n${sep} %{http_code} %{num_connects} %{local_port}\n`, url);
  });
  const r = await run(argv, { check: false, timeoutMs: 3500 * ports.length + 3000 });
  const out = { bodies: [] as string[], ports: [] as number[], connects: [] as number[] };
  const re = new RegExp(`\\n${sep} (\\d+) (\\d+) (\\d+)\\n`, 'g');
  let last = 0;
  for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) {
    if (m[1] !== '200') break;
    out.bodies.push(r.stdout.slice(last, m.index).trim());
    out.connects.push(Number(m[2]));
    out.ports.push(Number(m[3]));
    last = m.index + m[0].length;
  }
  if (out.bodies.length !== ports.length) {
    throw new Error(`curl through ${url} from ports ${ports[0]}..: ${out.bodies.length} of ${ports.length} answered (exit ${r.code}): ${r.stderr.trim()}`);
  }
  assert.deepEqual(out.ports, ports, 'each connection from its own local port');
  return out;
}

/** `n` consecutive port numbers from `first` (keep them below 32768, out of the ephemeral range). */
const portRange = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i);

/** Runs `tsvs daemon ARGS` in `ns` to completion (it is expected to refuse to start). */
async function daemonOnce(ns: string, dir: string, args: string[], prefix: string[] = []): Promise<{ code: number; stderr: string; stdout: string; timedOut: boolean }> {
  const r = await run(['ip', 'netns', 'exec', ns, ...prefix, process.execPath, TSVS, 'daemon', '--socket', join(dir, 'refused.sock'), ...args], { check: false, timeoutMs: 15_000 });
  return { code: r.code, stderr: r.stderr, stdout: r.stdout, timedOut: r.timedOut };
}

function assertRefusal(r: { code: number; stderr: string; timedOut: boolean }, code: number, re: RegExp): void {
  assert.equal(r.timedOut, false, 'the daemon should refuse to start, not run');
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^tsvs daemon: /);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

// ===================================================================================
// The tests
// ===================================================================================

test('tsvs daemon forwards through the VIP by direct routing (namespace lab, 3 real servers)', { skip, timeout: 240_000 }, async (t) => {
  await withLab({ realServers: 3 }, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-dataplane-'));
    chmodSync(dir, 0o755); // the not-root case reads its config as nobody
    const removeDir = () => rmSync(dir, { recursive: true, force: true });
    process.once('exit', removeDir); // also when a signal ends the run (withLab's hooks exit)
    const [rs1, rs2, rs3] = lab.realServers;
    /** Client port -> real server, of the wlc test's connections (they stay in the table, FIN_WAIT). */
    const wlcServerOf = new Map<number, string>();
    const rsByName = new Map(lab.realServers.map((r) => [r.name, r]));
    const vip = lab.vip;
    const director = lab.director;
    const client = lab.client;
    const baseServices: SvcSpec[] = [
      { port: 80, protocol: 'tcp', scheduler: 'wlc', realservers: [{ address: rs1.ip, weight: 1 }, { address: rs2.ip, weight: 2 }, { address: rs3.ip, weight: 3 }] },
      { port: 7, protocol: 'udp', scheduler: 'rr', realservers: lab.realServers.map((r) => ({ address: r.ip })) },
      { port: 9000, protocol: 'tcp', scheduler: 'wlc', realservers: lab.realServers.map((r) => ({ address: r.ip })) },
    ];
    try {
      // ---- set-up: a sink on every real server, whole-run captures, the daemon ----------
      for (const rs of lab.realServers) {
        const sink = startBg(rs.ns, [process.execPath, TCP_TOOLS, 'sink', '--name', rs.name, '--port', '9000', '--ttl', '300']);
        await until(() => /^READY /m.test(sink.out) || !sink.running, 8000, `the sink on ${rs.name}`);
      }
      const dirCap = await Capture.start(director.ns, 'director eth0');
      const cliCap = await Capture.start(client.ns, 'client eth0');
      const daemon = await TsvsDaemon.start(lab, dir, 'main', yamlOf(vip, baseServices));
      await daemon.waitStatus((s) => s.unresolved.length === 0 && s.services.length === 3, 8000, 'every real server resolved');
      assert.match(daemon.log, new RegExp(`director on ${director.ifname} \\(${director.mac}, ${director.ip}\\): 3 service\\(s\\)`));
      for (const rs of lab.realServers) assert.match(daemon.log, new RegExp(`real server ${rs.ip.replace(/\./g, '\\.')} is at ${rs.mac}`));

      await t.test('only the director answers ARP and ping for the VIP', { timeout: 20_000 }, async () => {
        const a = await arping(lab, vip, { count: 2, deadlineS: 3 });
        assert.ok(a.replies >= 2, `arping got ${a.replies} replies`);
        assert.deepEqual(a.macs, [director.mac], 'every ARP reply carries the director\'s MAC');
        const p = await ping(lab, vip, { count: 3, deadlineS: 3 });
        assert.equal(p.received, 3, 'ping through the VIP');
        assert.equal((await neighbour(client.ns, vip))?.mac, director.mac, 'the client resolved the VIP to the director');
        const replies = dirCap.frames().filter((f) => f.arp?.op === 2 && f.arp.spa === vip);
        assert.ok(replies.length >= 2 && replies.every((f) => f.srcMac === director.mac && f.arp!.sha === director.mac), 'ARP replies for the VIP leave the director with its MAC');
      });

      await t.test('wlc 1:2:3: 90 new TCP connections spread by weight', { timeout: 40_000 }, async (tt) => {
        const before = destField(daemon.status()!, 6, 80, (d) => d.stats.conns);
        const r = await curlFromPorts(lab, `http://${vip}/`, portRange(20001, 90));
        r.ports.forEach((p, i) => wlcServerOf.set(p, r.bodies[i]));
        assert.ok(r.connects.every((c) => c === 1), 'one new connection per request');
        const n = countBy(bodiesOf(r));
        tt.diagnostic(`wlc counts ${JSON.stringify(n)}`);
        const [c1, c2, c3] = [n.rs1 ?? 0, n.rs2 ?? 0, n.rs3 ?? 0];
        assert.equal(c1 + c2 + c3, 90, JSON.stringify(n));
        assert.ok(c1 < c2 && c2 < c3, `counts follow the weights 1 < 2 < 3: ${JSON.stringify(n)}`);
        for (const [c, want] of [[c1, 15], [c2, 30], [c3, 45]]) assert.ok(Math.abs(c - want) <= Math.max(4, want * 0.2), `~${want} expected: ${JSON.stringify(n)}`);
        // The status counters agree with what the client saw.
        const after = destField(await daemon.freshStatus(), 6, 80, (d) => d.stats.conns);
        for (const rs of lab.realServers) assert.equal((after.get(rs.ip) ?? 0) - (before.get(rs.ip) ?? 0), n[rs.name] ?? 0, `status conns of ${rs.name}`);
      });

      await t.test('a kept-alive connection stays on one real server for 50 requests', { timeout: 30_000 }, async () => {
        const r = await httpGet(lab, `http://${vip}/`, { count: 50, keepAlive: true });
        assert.deepEqual(r.connects, [1, ...new Array(49).fill(0)], 'curl reused one connection');
        const names = new Set(bodiesOf(r));
        assert.equal(names.size, 1, `one server answered all 50: ${[...names].join(' ')}`);
      });

      await t.test('a 4 MB TCP stream through the VIP arrives whole at one real server', { timeout: 30_000 }, async () => {
        const bytes = 4 << 20;
        const r = await nsRun(client.ns, [process.execPath, TCP_TOOLS, 'stream', '--host', vip, '--port', '9000', '--bytes', String(bytes), '--timeout-ms', '20000'], { timeoutMs: 25_000, check: false });
        const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { reply?: string; sha256?: string; error?: string };
        assert.equal(res.error, undefined, `stream: ${r.stdout} ${r.stderr}`);
        const m = /^(rs\d+) (\d+) ([0-9a-f]{64})$/.exec(res.reply ?? '');
        assert.ok(m, `sink reply: ${res.reply}`);
        assert.ok(rsByName.has(m[1]));
        assert.equal(Number(m[2]), bytes, 'every byte arrived');
        assert.equal(m[3], res.sha256, 'and unchanged');
        const conns = destField(await daemon.freshStatus(), 6, 9000, (d) => d.stats.conns);
        assert.deepEqual([...conns.values()].sort(), [0, 0, 1], 'one connection, on one server');
        assert.equal(conns.get(rsByName.get(m[1])!.ip), 1);
      });

      await t.test('UDP through the VIP from 6 source ports: rr over the 3 real servers, replies from the VIP', { timeout: 30_000 }, async () => {
        const seen: string[] = [];
        for (let i = 0; i < 6; i++) {
          const replies = await udpSend(lab, vip, 7, [`p${i}a`, `p${i}b`]);
          assert.equal(replies.length, 2, `datagrams from source port #${i} answered`);
          for (const rep of replies) assert.deepEqual([rep.address, rep.port], [vip, 7], 'the reply comes from the VIP');
          const names = new Set(replies.map((rep) => rep.data.split(':')[0]));
          assert.equal(names.size, 1, 'one source port sticks to one server');
          assert.deepEqual(replies.map((rep) => rep.data.split(':')[1]).sort(), [`p${i}a`, `p${i}b`]);
          seen.push([...names][0]);
        }
        const n = countBy(seen);
        assert.deepEqual(Object.keys(n).sort(), ['rs1', 'rs2', 'rs3'], `each real server got some: ${JSON.stringify(n)}`);
        // Exactly 2 each unless the client happened to pick a source port again (then that
        // datagram follows its existing connection, as in IPVS): so at least one each.
        for (const c of Object.values(n)) assert.ok(c >= 1 && c <= 3, `rr: ${JSON.stringify(n)}`);
      });

      await t.test('on the real servers\' link (libpcap capture): VIP as destination IP, RS MAC, TTL decremented by one', { timeout: 30_000 }, async () => {
        const caps = await Promise.all(lab.realServers.map((rs) => Capture.start(rs.ns, `${rs.name} eth0 (pcap)`, 'eth0', PCAP_CAPTURE)));
        const mark = cliCap.frames().length;
        await httpGet(lab, `http://${vip}/`, { count: 6, keepAlive: false });
        await udpSend(lab, vip, 7, ['ttl-check']);
        const rsFrames = await Promise.all(caps.map((c) => c.stop()));
        const keyOf = (f: Frame) => `${f.ip!.proto}/${f.tcp?.sport ?? f.udp?.sport}`;
        const sentAll = cliCap.frames().filter((f) => f.out && f.ip?.dst === vip);
        const thisRun = new Set(cliCap.frames().slice(mark).filter((f) => f.out && f.ip?.dst === vip).map(keyOf));
        assert.ok(thisRun.size >= 7, 'the client capture saw the requests');
        const clientTtl = new Map(sentAll.map((f) => [keyOf(f), f.ip!.ttl]));
        let checked = 0;
        let syns = 0;
        lab.realServers.forEach((rs, i) => {
          for (const f of rsFrames[i].filter((x) => x.ip?.dst === vip)) {
            const key = keyOf(f);
            assert.equal(f.dstMac, rs.mac, `${rs.name}: destination MAC is the real server's`);
            assert.equal(f.srcMac, director.mac, `${rs.name}: it came from the director`);
            assert.equal(f.ip!.src, client.ip, 'the client address is kept');
            assert.ok(f.ip!.csumOk, `${rs.name}: IP header checksum valid after the TTL change`);
            const before = clientTtl.get(key);
            assert.ok(before !== undefined, `${rs.name}: frame ${key} was sent by the client`);
            assert.equal(f.ip!.ttl, before - 1, `${rs.name}: TTL ${before} -> ${f.ip!.ttl}`);
            if (f.tcp && (f.tcp.flags & TCP_SYN) && thisRun.has(key)) syns++;
            checked++;
          }
        });
        assert.equal(syns, 6, 'all six SYNs reached a real server');
        assert.ok(checked >= 6 * 3, `frames checked: ${checked}`);
        assert.equal(new Set(sentAll.map((f) => f.ip!.ttl)).size, 1, 'the client sends with one TTL');
      });

      await t.test('malformed frames are counted by reason; TTL 1 gets ICMP time exceeded; the daemon keeps going', { timeout: 30_000 }, async () => {
        const rsCaps = await Promise.all(lab.realServers.map((rs) => Capture.start(rs.ns, `${rs.name} eth0`)));
        const before = await daemon.freshStatus();
        const mark = cliCap.frames().length;
        const base = { dstMac: director.mac, srcMac: client.mac, src: client.ip, dst: vip, dport: 80 };
        const syn = (sport: number, extra: Partial<Parameters<typeof tcpFrame>[0]> = {}) => tcpFrame({ ...base, sport, flags: TCP_SYN, ...extra });
        // Truncated IPv4 header: IHL says 60 bytes, 40 are there.
        const truncHdr = syn(30001);
        truncHdr[14] = 0x4f;
        fixIpChecksum(truncHdr);
        // IHL 4 (< 5).
        const badIhl = syn(30002);
        badIhl[14] = 0x44;
        fixIpChecksum(badIhl);
        // Version 6 in an IPv4 frame.
        const badVer = syn(30003);
        badVer[14] = 0x65;
        fixIpChecksum(badVer);
        // Total length 1000 in a 54-byte frame.
        const longTot = syn(30004);
        wr16(longTot, 16, 1000);
        fixIpChecksum(longTot);
        // A first fragment (MF set).
        const frag = syn(30005, { moreFragments: true });
        // IP options (IHL 6, four NOPs), a valid SYN: must be forwarded.
        const withOpts = syn(30006, { ipOptions: [1, 1, 1, 1] });
        // TTL 1.
        const ttl1 = syn(30007, { ttl: 1 });
        // TCP header cut to 10 bytes (IP total length says so too).
        const shortTcp = syn(30008);
        wr16(shortTcp, 16, 30);
        fixIpChecksum(shortTcp);
        // An ACK for no connection.
        const lonelyAck = tcpFrame({ ...base, sport: 30009, flags: TCP_ACK, ack: 12345 });
        // Protocol 47 (GRE) to the VIP.
        const gre = syn(30010);
        gre[23] = 47;
        fixIpChecksum(gre);
        const frames = [truncHdr.subarray(0, 14 + 40), badIhl, badVer, longTot, frag, withOpts, ttl1, shortTcp.subarray(0, 14 + 30), lonelyAck, gre];
        const inj = await nsRun(client.ns, [process.execPath, INJECT, client.ifname, ...frames.map(toHex)], { timeoutMs: 10_000 });
        assert.match(inj.stdout, /RESULT \{"sent":10,"errors":\[\]\}/);

        // The ICMP time exceeded for the TTL-1 SYN, from the director to the client.
        const te = await until(() => cliCap.frames().slice(mark).find((f) => f.icmp?.type === 11), 3000, 'ICMP time exceeded at the client');
        assert.equal(te.icmp!.code, 0);
        assert.deepEqual([te.ip!.src, te.ip!.dst, te.srcMac, te.dstMac], [director.ip, client.ip, director.mac, client.mac]);
        assert.ok(te.ip!.csumOk && te.icmp!.csumOk, 'IP and ICMP checksums valid');
        assert.deepEqual(te.icmp!.inner && [te.icmp!.inner.src, te.icmp!.inner.dst, te.icmp!.inner.proto, te.icmp!.inner.sport, te.icmp!.inner.dport], [client.ip, vip, 6, 30007, 80], 'it quotes the expired SYN');

        const after = await until(() => {
          const s = daemon.status();
          return s && (s.drops.not_syn ?? 0) > (before.drops.not_syn ?? 0) && (s.drops.unsupported ?? 0) > (before.drops.unsupported ?? 0) ? s : undefined;
        }, 4000, 'the drops in the status file');
        const delta = (k: string) => (after.drops[k] ?? 0) - (before.drops[k] ?? 0);
        assert.deepEqual(
          { runt: delta('runt'), bad_ip: delta('bad_ip'), fragment: delta('fragment'), ttl_expired: delta('ttl_expired'), bad_l4: delta('bad_l4'), unsupported: delta('unsupported') },
          { runt: 2, bad_ip: 2, fragment: 1, ttl_expired: 1, bad_l4: 1, unsupported: 1 },
          `drops before ${JSON.stringify(before.drops)} after ${JSON.stringify(after.drops)}`,
        );
        assert.ok(delta('not_syn') >= 1, 'the lonely ACK is counted as not_syn');
        assert.ok(after.pipeline.icmpErrors - before.pipeline.icmpErrors >= 1, 'an ICMP error was sent');

        // The SYN with IP options reached a real server, options intact, TTL decremented.
        const rsFrames = await Promise.all(rsCaps.map((c) => c.stop()));
        const got = rsFrames.flat().filter((f) => f.tcp?.sport === 30006 && f.ip?.dst === vip);
        assert.equal(got.length >= 1, true, 'the SYN with IP options was forwarded');
        assert.deepEqual([got[0].ip!.ihl, got[0].ip!.ttl, got[0].ip!.csumOk, got[0].srcMac], [6, 63, true, director.mac]);
        // Nothing else of the injected set reached a real server.
        const leaked = rsFrames.flat().filter((f) => f.ip?.dst === vip && (f.tcp?.sport ?? 0) >= 30001 && (f.tcp?.sport ?? 0) <= 30010 && f.tcp?.sport !== 30006);
        assert.deepEqual(leaked.map((f) => f.tcp?.sport), [], 'malformed frames are not forwarded');

        assert.ok(daemon.alive, 'the daemon is still running');
        const ok = await curlFromPorts(lab, `http://${vip}/`, portRange(25001, 3));
        assert.ok(bodiesOf(ok).every((b) => rsByName.has(b)), 'a normal request through the VIP still works');
      });

      await t.test('the director\'s kernel sent no RST (capture on the director and the client)', { timeout: 20_000 }, async (tt) => {
        const dFrames = await dirCap.stop();
        const cFrames = await cliCap.stop();
        const fromDirector = dFrames.filter((f) => f.srcMac === director.mac && f.tcp);
        tt.diagnostic(`director capture: ${dFrames.length} frames, ${fromDirector.length} TCP frames sent by the director; client capture: ${cFrames.length} frames`);
        assert.ok(fromDirector.length > 300, `the director capture saw the forwarded traffic (${fromDirector.length} TCP frames)`);
        const originated = fromDirector.filter((f) => f.ip!.src !== client.ip || f.ip!.dst !== vip);
        assert.deepEqual(originated.map((f) => `${f.ip!.src}:${f.tcp!.sport} -> ${f.ip!.dst}:${f.tcp!.dport} flags ${f.tcp!.flags}`), [],
          'every TCP frame leaving the director is a forwarded client frame (no RST or anything else of its own)');
        for (const f of fromDirector) assert.ok(lab.realServers.some((r) => r.mac === f.dstMac), 'forwarded frames go to a real server\'s MAC');
        const rstFromVip = [...dFrames, ...cFrames].filter((f) => f.ip?.src === vip && f.tcp && (f.tcp.flags & TCP_RST));
        assert.deepEqual(rstFromVip.map((f) => `${f.srcMac} ${f.ip!.src}:${f.tcp!.sport} -> ${f.ip!.dst}:${f.tcp!.dport}`), [], 'no RST from the VIP reached the client');
        // Replies come from the real servers straight to the client, from the VIP.
        const replies = cFrames.filter((f) => f.ip?.src === vip && f.tcp && !f.out);
        assert.ok(replies.length > 0 && replies.every((f) => lab.realServers.some((r) => r.mac === f.srcMac)), 'replies come straight from the real servers');
      });

      await t.test('SIGHUP: weight 0 keeps its kept-alive connection but gets no new ones; a removed server gets nothing', { timeout: 60_000 }, async () => {
        const ka = await KeepAliveClient.open(lab, vip, 80);
        let step = 'first requests';
        try {
          const first = await ka.get(3);
          assert.equal(new Set(first).size, 1, `one server on one connection: ${first}`);
          const sticky = rsByName.get(first[0])!;
          // weight 0 for the server holding the kept-alive connection
          const zeroed = baseServices.map((s) => (s.port !== 80 ? s : { ...s, realservers: s.realservers.map((r) => (r.address === sticky.ip ? { ...r, weight: 0 } : r)) }));
          step = 'weight 0';
          const line = await daemon.reload(yamlOf(vip, zeroed));
          assert.match(line, /SIGHUP: reloaded .*: added 0, changed 1, removed 0; connections kept: \d+/);
          const st = await daemon.freshStatus();
          assert.equal(destField(st, 6, 80, (d) => d.weight).get(sticky.ip), 0);
          assert.deepEqual(await ka.get(3), [sticky.name, sticky.name, sticky.name], 'the kept-alive connection is still answered by the same server');
          const fresh = (await curlFromPorts(lab, `http://${vip}/`, portRange(21001, 30))).bodies;
          assert.equal(fresh.filter((b) => b === sticky.name).length, 0, `no new connection to the weight-0 server: ${JSON.stringify(countBy(fresh))}`);
          assert.equal(fresh.length, 30);

          // remove one of the two others
          step = 'removal';
          const removed = lab.realServers.find((r) => r !== sticky)!;
          const remaining = lab.realServers.find((r) => r !== sticky && r !== removed)!;
          const without = zeroed.map((s) => (s.port !== 80 ? s : { ...s, realservers: s.realservers.filter((r) => r.address !== removed.ip) }));
          const line2 = await daemon.reload(yamlOf(vip, without));
          assert.match(line2, /SIGHUP: reloaded .*: added 0, changed 0, removed 1;/);
          const st2 = await daemon.freshStatus();
          assert.deepEqual([...destField(st2, 6, 80, (d) => d.weight).keys()].sort(), [sticky.ip, remaining.ip].sort(), 'the removed server is gone from the service');
          const after = (await curlFromPorts(lab, `http://${vip}/`, portRange(22001, 20))).bodies;
          assert.deepEqual(countBy(after), { [remaining.name]: 20 }, 'new connections go only to the remaining server with a weight');
          // As IPVS (conn_reuse_mode=1, expire_nodest_conn=0): a SYN reusing the 4-tuple of a
          // connection still held for the removed server (FIN_WAIT, the last state DR sees) is
          // dropped as dest_gone, not rescheduled. This is why the connections above come from
          // fresh local ports.
          const oldPort = [...wlcServerOf].find(([, name]) => name === removed.name)?.[0];
          if (oldPort !== undefined) {
            const gone = (await daemon.freshStatus()).drops.dest_gone ?? 0;
            const synAgain = tcpFrame({ dstMac: director.mac, srcMac: client.mac, src: client.ip, dst: vip, sport: oldPort, dport: 80, flags: TCP_SYN, seq: 777 });
            await nsRun(client.ns, [process.execPath, INJECT, client.ifname, toHex(synAgain)], { timeoutMs: 10_000 });
            await daemon.waitStatus((x) => (x.drops.dest_gone ?? 0) === gone + 1, 3000, 'dest_gone + 1 for a SYN on a connection of the removed server');
          }
          assert.deepEqual(await ka.get(2), [sticky.name, sticky.name], 'the weight-0 server still serves its kept-alive connection');

          // a broken file on reload: logged, the running configuration stays
          step = 'broken file';
          const line3 = await daemon.reload('services:\n  - vip: [\n');
          assert.match(line3, /SIGHUP: .*line \d+.*; the running configuration is unchanged/);
          assert.doesNotMatch(daemon.log, /^\s+at /m, 'no stack trace in the log');
          const still = (await curlFromPorts(lab, `http://${vip}/`, portRange(23001, 4))).bodies;
          assert.deepEqual(countBy(still), { [remaining.name]: 4 });
          assert.ok(daemon.alive, 'the daemon keeps running');
        } catch (e) {
          // Enough context to tell a data-plane fault from a timing one.
          const err = e as Error;
          err.message += `\n  at step "${step}"; keep-alive client: ${ka.bg.out.trim().split('\n').slice(-4).join(' | ')} ${ka.bg.err.trim()}` +
            `\n  daemon log (tail): ${daemon.log.trim().split('\n').slice(-6).join(' | ')}\n  drops: ${JSON.stringify(daemon.status()?.drops)}`;
          throw err;
        } finally {
          await ka.close();
        }
      });

      await t.test('SIGTERM stops the daemon cleanly: exit 0 within 3 s', { timeout: 10_000 }, async () => {
        const r = await daemon.bg.stop('SIGTERM', 3000);
        assert.deepEqual([r.code, r.signal, r.killed], [0, null, false], `exit ${JSON.stringify(r)}; log: ${daemon.log}`);
        assert.match(daemon.log, /SIGTERM: stopping/);
        assert.doesNotMatch(daemon.log, /^\s+at /m);
        assert.ok(!pidMatches(daemon.pid));
        assert.ok(daemon.status(), 'the last status snapshot is there');
        assert.ok(!existsSync(daemon.socketFile), 'the control socket is removed');
      });

      await t.test('an unresolvable real server: warned about within 4 s, skipped; SIGINT exits 0', { timeout: 30_000 }, async () => {
        const ghost = '192.0.2.77';
        const d = await TsvsDaemon.start(lab, dir, 'ghost', yamlOf(vip, [
          { port: 80, protocol: 'tcp', scheduler: 'wlc', realservers: [{ address: rs1.ip }, { address: ghost }, { address: rs2.ip }] },
        ]));
        let done = false;
        try {
          await until(() => /warning: real server 192\.0\.2\.77 does not answer ARP/.test(d.log), 5000, () => `the warning; log: ${d.log}`);
          // Timed by the daemon's own log stamps (start-up line -> warning), so a slow node
          // start on a busy machine does not count; and bounded from our spawn too.
          const stamp = (re: RegExp) => Date.parse(d.log.split('\n').find((l) => re.test(l))!.split(' ')[0]);
          const logged = (stamp(/warning: real server 192\.0\.2\.77/) - stamp(/: director on /)) / 1000;
          assert.ok(logged <= 4, `warned ${logged.toFixed(1)} s after start-up`);
          assert.ok(Date.now() - d.startedAt <= 8000, 'and within 8 s of being started');
          const warnings = d.log.split('\n').filter((l) => /warning/.test(l));
          assert.equal(warnings.length, 1, `only the ghost is warned about: ${warnings.join(' | ')}`);
          const st = await d.waitStatus((s) => s.unresolved.length === 1, 3000, 'only the ghost unresolved');
          assert.deepEqual(st.unresolved, [ghost]);
          const bodies = (await curlFromPorts(lab, `http://${vip}/`, portRange(24001, 12))).bodies;
          const n = countBy(bodies);
          assert.deepEqual(Object.keys(n).sort(), ['rs1', 'rs2'], `connections go to the two live servers: ${JSON.stringify(n)}`);
          assert.ok(d.alive);
          const r = await d.bg.stop('SIGINT', 3000);
          done = true;
          assert.deepEqual([r.code, r.signal, r.killed], [0, null, false], `SIGINT exit ${JSON.stringify(r)}; log: ${d.log}`);
          assert.match(d.log, /SIGINT: stopping/);
          assert.doesNotMatch(d.log, /^\s+at /m);
        } finally {
          if (!done) await d.bg.stop('SIGTERM', 3000);
        }
      });

      await t.test('start-up mistakes: one line on stderr, no stack trace, the exit code', { timeout: 60_000 }, async (tt) => {
        const cfg = join(dir, 'good.yaml');
        writeFileSync(cfg, yamlOf(vip, [baseServices[0]]));
        chmodSync(cfg, 0o644);

        await tt.test('an interface that does not exist: exit 1', async () => {
          assertRefusal(await daemonOnce(director.ns, dir, ['--interface', 'nosuch0', '--config', cfg]), 1, /interface nosuch0 does not exist/);
        });

        await tt.test('not root: exit 1, says root or CAP_NET_RAW', async (t3) => {
          const probe = await run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', `require(${JSON.stringify(TSVS)})`], { check: false, timeoutMs: 10_000 });
          if (probe.code !== 0) {
            t3.skip(`cannot run the CLI as nobody here: ${probe.stderr.trim().split('\n')[0]}`);
            return;
          }
          const r = await daemonOnce(director.ns, dir, ['--interface', director.ifname, '--config', cfg], ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']);
          assertRefusal(r, 1, /root|CAP_NET_RAW/);
        });

        await tt.test('the VIP on an interface of the director: exit 1, says the kernel would send RST', async () => {
          await run(['ip', '-n', director.ns, 'addr', 'add', `${vip}/32`, 'dev', director.ifname]);
          try {
            assertRefusal(await daemonOnce(director.ns, dir, ['--interface', director.ifname, '--config', cfg]), 1, /VIP 192\.0\.2\.100 .*kernel would .*RST/);
            // Positive control for the RST check above: with the VIP on it, the director's
            // kernel does answer a connection to the VIP with an RST, and the capture sees it.
            const cap = await Capture.start(director.ns, 'director eth0 (VIP held by the kernel)');
            const r = await httpGet(lab, `http://${vip}/`, { allowFail: true, timeoutMs: 2000 });
            assert.equal(r.statuses[0] ?? 0, 0, 'nothing listens on the director');
            const frames = await cap.stop();
            assert.ok(frames.some((f) => f.out && f.ip?.src === vip && f.tcp && (f.tcp.flags & TCP_RST)), 'the kernel\'s RST is visible to the capture');
          } finally {
            await run(['ip', '-n', director.ns, 'addr', 'del', `${vip}/32`, 'dev', director.ifname], { check: false });
          }
        });

        await tt.test('a YAML syntax error: exit 2 with its line number', async () => {
          const bad = join(dir, 'syntax.yaml');
          writeFileSync(bad, `services:\n  - vip: ${vip}\n    port: 80\n    realservers:\n      - address: ${rs1.ip}\n      weight: 1\n`);
          assertRefusal(await daemonOnce(director.ns, dir, ['--interface', director.ifname, '--config', bad]), 2, /syntax\.yaml.*line 6\b/);
        });

        await tt.test('an unknown scheduler: exit 2 with the line number', async () => {
          const bad = join(dir, 'sched.yaml');
          writeFileSync(bad, `services:\n  - vip: ${vip}\n    port: 80\n    realservers:\n      - address: ${rs1.ip}\n  - vip: ${vip}\n    port: 81\n    scheduler: nosuch\n`);
          assertRefusal(await daemonOnce(director.ns, dir, ['--interface', director.ifname, '--config', bad]), 2, /line 6\b.*unknown scheduler "nosuch"/);
        });
      });
    } finally {
      await started.stopAll(2000);
      removeDir();
      process.removeListener('exit', removeDir);
    }
  });
});
