// Health checks end to end (needs root): `tsvs daemon --config ldirectord.cf` in the director
// namespace of a flat lab with 3 real servers (src/lab), its monitor adding, removing and
// quiescing real servers as ldirectord does (ipvs-compat.md §4.3/§4.4), seen with
// `tsvsadm -L -n` and with real client connections through the VIP:
//   A. checktype=negotiate (service=http, receive="rs"): a stopped HTTP server leaves the
//      table within checkinterval x failurecount + checktimeout (+ slack), gets no new
//      connection, and comes back when its server restarts;
//      checktype=ping on a UDP virtual: a real that stops answering echo is removed, and
//      comes back when it answers again;
//   B. checktype=external, quiescent=yes, fallback, autoreload=yes, logfile: a failing real
//      goes to weight 0 while a kept-alive connection to it still gets answers and new
//      connections go elsewhere; when every real is down the fallback is added and it is
//      removed when one comes back; a broken file written under autoreload is reported with
//      line numbers and the table stays as it was;
//   C. `tsvs check-config` on a broken file: FILE:LINE: message lines, exit 1.
// One lab for the file; every process started here is stopped by its PID in a finally.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { nsRun, pidMatches, startInNs, stopPid } from '../../src/lab/exec';
import { run } from '../../src/lab/run';
import type { Lab, ProcRecord } from '../../src/lab/state';
import { hasNative } from '../../src/io/native';
import { Bg, BgGroup, sleep, until, has } from './helpers/bg';

const TSVS = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
const TSVSADM = join(__dirname, '..', '..', 'src', 'cli', 'tsvsadm.js');
const TCP_TOOLS = join(__dirname, 'helpers', 'tcp-tools.js');
const LDIRECTORD = '/usr/sbin/ldirectord';

const skip = labSkipReason() ??
  (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined) ??
  (!has(['curl', '--version']) ? 'curl not installed' : undefined);

const CHECKINTERVAL = 1;
const FAILURECOUNT = 2;
const CHECKTIMEOUT = 2;
/** The bound for a real to leave (or rejoin) the table, with slack for polling tsvsadm. */
const BOUND_MS = (CHECKINTERVAL * FAILURECOUNT + CHECKTIMEOUT) * 1000 + 2000;
/** A real that stops answering ping fails each check only at checktimeout: failurecount x (interval + timeout). */
const PING_BOUND_MS = FAILURECOUNT * (CHECKINTERVAL + CHECKTIMEOUT) * 1000 + 2000;

/** Every process started here, stopped by its PID at the end whatever happened. */
const started = new BgGroup();
const startBg = (ns: string, argv: string[]): Bg => started.start(ns, argv);

// ---- tsvsadm -L -n ---------------------------------------------------------------------

interface Row {
  svc: string; // "TCP 192.0.2.100:80"
  dest: string; // "192.0.2.11:80"
  fwd: string;
  weight: number;
}

async function listTable(sock: string): Promise<{ text: string; rows: Row[] }> {
  const r = await run([process.execPath, TSVSADM, '-L', '-n'], { check: false, timeoutMs: 8000, env: { ...process.env, TSVS_SOCKET: sock } });
  if (r.code !== 0) throw new Error(`tsvsadm -L -n: exit ${r.code}: ${r.stderr}`);
  const rows: Row[] = [];
  let svc = '';
  for (const line of r.stdout.split('\n')) {
    const s = /^(TCP|UDP|FWM)\s+(\S+)/.exec(line);
    if (s) svc = `${s[1]} ${s[2]}`;
    const d = /^\s+->\s+(\d+\.\d+\.\d+\.\d+:\d+)\s+(\S+)\s+(\d+)/.exec(line);
    if (d && svc) rows.push({ svc, dest: d[1], fwd: d[2], weight: Number(d[3]) });
  }
  return { text: r.stdout, rows };
}

/** dest -> weight of one service. */
async function destsOf(sock: string, svc: string): Promise<Map<string, number>> {
  const { rows } = await listTable(sock);
  return new Map(rows.filter((r) => r.svc === svc).map((r) => [r.dest, r.weight]));
}

async function waitDests(sock: string, svc: string, pred: (m: Map<string, number>) => boolean, ms: number, what: string, log: () => string): Promise<number> {
  const t0 = Date.now();
  let last = new Map<string, number>();
  await until(async () => pred((last = await destsOf(sock, svc))), ms, () => `${what}; last ${JSON.stringify([...last])}; log:\n${log()}`, 100);
  return Date.now() - t0;
}

// ---- clients ---------------------------------------------------------------------------

let nextPort = 21001;
/**
 * `n` new TCP connections with curl (Connection: close), each from its own fixed local port
 * below the ephemeral range (so no SYN reuses the 4-tuple of a connection the director
 * still holds, see dataplane.test.ts). The body of each answer ('' when it failed).
 */
async function curlNew(lab: Lab, n: number): Promise<string[]> {
  const sep = '@@health@@';
  const argv = ['ip', 'netns', 'exec', lab.client.ns, 'curl'];
  for (let i = 0; i < n; i++) {
    if (i > 0) argv.push('--next');
    argv.push('-sS', '--noproxy', '*', '--connect-timeout', '2', '--max-time', '2', '-H', 'Connection: close',
      '--local-port', String(nextPort++), '-w', `\n${sep} %{http_code}\n`, `http://${lab.vip}/`);
  }
  const r = await run(argv, { check: false, timeoutMs: 2500 * n + 3000 });
  const bodies: string[] = [];
  const re = new RegExp(`\\n${sep} (\\d+)\\n`, 'g');
  let last = 0;
  for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) {
    bodies.push(m[1] === '200' ? r.stdout.slice(last, m.index).trim() : '');
    last = m.index + m[0].length;
  }
  while (bodies.length < n) bodies.push('');
  return bodies;
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** A long-lived HTTP/1.1 keep-alive connection (helpers/tcp-tools.ts keepalive) from the client. */
class KeepAlive {
  private seen = 0;
  private constructor(readonly bg: Bg) {}

  static async open(lab: Lab): Promise<KeepAlive> {
    const bg = startBg(lab.client.ns, [process.execPath, TCP_TOOLS, 'keepalive', '--host', lab.vip, '--port', '80', '--max-ms', '60000']);
    await until(() => /^READY /m.test(bg.out) || !bg.running, 8000, 'the keep-alive client to connect');
    if (!/^READY /m.test(bg.out)) throw new Error(`keep-alive client: ${bg.out} ${bg.err}`);
    return new KeepAlive(bg);
  }

  private replies(): Array<{ n?: number; status?: number; server?: string; closed?: boolean; error?: string }> {
    return this.bg.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  }

  async get(count: number): Promise<string[]> {
    for (let i = 0; i < count; i++) this.bg.write('get');
    const want = this.seen + count;
    await until(() => this.replies().filter((r) => r.n).length >= want || this.replies().some((r) => r.closed), 8000, () => `${count} keep-alive replies (${this.bg.out})`);
    const closed = this.replies().find((r) => r.closed);
    assert.equal(closed, undefined, `the kept-alive connection stays open: ${JSON.stringify(closed)}`);
    const got = this.replies().filter((r) => r.n).slice(this.seen, want);
    this.seen = want;
    return got.map((r) => r.server ?? '?');
  }

  async close(): Promise<void> {
    this.bg.write('quit');
    await Promise.race([this.bg.closed, sleep(2000)]);
    if (this.bg.running) await this.bg.stop();
  }
}

// ---- the daemon ------------------------------------------------------------------------

/** `tsvs daemon` in the director namespace with ldirectord.cf `cf` (none when undefined). */
async function startDaemon(lab: Lab, dir: string, tag: string, cf: string | undefined): Promise<{ bg: Bg; sock: string; cfg: string; log: () => string }> {
  const cfg = join(dir, `${tag}.cf`);
  const sock = join(dir, `${tag}.sock`);
  if (cf !== undefined) writeFileSync(cfg, cf);
  const bg = startBg(lab.director.ns, [process.execPath, TSVS, 'daemon', '--interface', lab.director.ifname,
    ...(cf !== undefined ? ['--config', cfg] : []), '--socket', sock, '--status-file', join(dir, `${tag}.status.json`)]);
  const log = () => bg.err + bg.out;
  await until(() => /: director on /.test(bg.err) || !bg.running, 10_000, () => `the daemon's start-up line; log: ${log()}`);
  if (!bg.running) throw new Error(`the daemon exited at start: ${log()}`);
  return { bg, sock, cfg, log };
}

const GLOBALS = `checktimeout=${CHECKTIMEOUT}\ncheckinterval=${CHECKINTERVAL}\nfailurecount=${FAILURECOUNT}\n`;

test('health checks drive the table (namespace lab, 3 real servers, ldirectord.cf)', { skip, timeout: 150_000 }, async (t) => {
  await withLab({ realServers: 3 }, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-health-'));
    chmodSync(dir, 0o755);
    const restarted: ProcRecord[] = [];
    const icmpIgnored = new Set<string>();
    const [rs1, rs2, rs3] = lab.realServers;
    const vip = lab.vip;
    try {
      // =============================== daemon A ======================================
      const cfA = `# test/netns/health.test.ts, daemon A\n${GLOBALS}quiescent=no\n\n` +
        `virtual=${vip}:80\n${lab.realServers.map((r) => `\treal=${r.ip}:80 gate\n`).join('')}` +
        '\tservice=http\n\trequest="/"\n\treceive="rs"\n\tchecktype=negotiate\n\tscheduler=rr\n\tprotocol=tcp\n\n' +
        `virtual=${vip}:7\n${lab.realServers.map((r) => `\treal=${r.ip}:7 gate\n`).join('')}` +
        '\tchecktype=ping\n\tscheduler=rr\n\tprotocol=udp\n';
      const a = await startDaemon(lab, dir, 'a', cfA);
      const tcp80 = `TCP ${vip}:80`;
      const udp7 = `UDP ${vip}:7`;
      const hasAll = (port: number) => (m: Map<string, number>) => lab.realServers.every((r) => m.get(`${r.ip}:${port}`) === 1);
      const ms0 = await waitDests(a.sock, tcp80, hasAll(80), 10_000, 'the 3 reals added by negotiate checks', a.log);
      await waitDests(a.sock, udp7, hasAll(7), 10_000, 'the 3 reals added by ping checks', a.log);
      t.diagnostic(`daemon A: all reals of both virtuals in the table ${ms0} ms after start-up`);

      await t.test('negotiate: a stopped HTTP server leaves the table in time, gets nothing, comes back', { timeout: 45_000 }, async (tt) => {
        const proc = lab.processes.find((p) => p.host === rs2.name);
        assert.ok(proc && pidMatches(proc.pid, proc.marker), `${rs2.name}'s server runs`);
        const before = countBy(await curlNew(lab, 6));
        assert.ok((before[rs2.name] ?? 0) > 0, `rs2 gets connections before: ${JSON.stringify(before)}`);

        const t0 = Date.now();
        assert.equal(await stopPid(proc.pid, { marker: proc.marker }), 'stopped');
        await until(() => !pidMatches(proc.pid), 3000, 'rs2 server gone');
        await waitDests(a.sock, tcp80, (m) => !m.has(`${rs2.ip}:80`), BOUND_MS + 3000, 'rs2 out of -L -n', a.log);
        const downMs = Date.now() - t0;
        tt.diagnostic(`rs2 out of -L -n ${downMs} ms after its server stopped (bound ${BOUND_MS} ms = ${CHECKINTERVAL}s x ${FAILURECOUNT} + ${CHECKTIMEOUT}s + 2s slack)`);
        assert.ok(downMs <= BOUND_MS, `removed within ${BOUND_MS} ms, took ${downMs} ms`);
        assert.match(a.log(), new RegExp(`real server ${rs2.ip.replace(/\./g, '\\.')}:80 \\(TCP ${vip.replace(/\./g, '\\.')}:80\\) down`));
        const m = await destsOf(a.sock, tcp80);
        assert.deepEqual([...m.keys()].sort(), [`${rs1.ip}:80`, `${rs3.ip}:80`]);

        const after = await curlNew(lab, 12);
        const n = countBy(after);
        tt.diagnostic(`12 new connections after the removal: ${JSON.stringify(n)}`);
        assert.equal((n[rs1.name] ?? 0) + (n[rs3.name] ?? 0), 12, `all 12 answered by rs1/rs3: ${JSON.stringify(n)}`);

        // Restart its server: back in the table, and it gets connections again.
        const bg = startInNs(proc.ns, proc.argv, proc.log);
        restarted.push({ ...proc, pid: bg.pid });
        const t1 = Date.now();
        await waitDests(a.sock, tcp80, (mm) => mm.get(`${rs2.ip}:80`) === 1, BOUND_MS + 3000, 'rs2 back in -L -n', a.log);
        tt.diagnostic(`rs2 back in -L -n ${Date.now() - t1} ms after its server restarted`);
        assert.match(a.log(), new RegExp(`real server ${rs2.ip.replace(/\./g, '\\.')}:80 \\(TCP [^)]*\\) up`));
        const back = countBy(await curlNew(lab, 9));
        tt.diagnostic(`9 new connections after it came back: ${JSON.stringify(back)}`);
        assert.ok((back[rs2.name] ?? 0) >= 2, `rs2 gets connections again: ${JSON.stringify(back)}`);
      });

      await t.test('ping: a real that stops answering echo is removed, and re-added when it answers', { timeout: 30_000 }, async (tt) => {
        await nsRun(rs3.ns, ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=1']);
        icmpIgnored.add(rs3.ns);
        const t0 = Date.now();
        await waitDests(a.sock, udp7, (m) => !m.has(`${rs3.ip}:7`), PING_BOUND_MS + 3000, 'rs3 out of the UDP virtual', a.log);
        const downMs = Date.now() - t0;
        tt.diagnostic(`rs3 out of ${udp7} ${downMs} ms after it stopped answering ping (bound ${PING_BOUND_MS} ms: each failed ping waits checktimeout)`);
        assert.ok(downMs <= PING_BOUND_MS, `removed within ${PING_BOUND_MS} ms, took ${downMs} ms`);
        const m = await destsOf(a.sock, udp7);
        assert.deepEqual([...m.keys()].sort(), [`${rs1.ip}:7`, `${rs2.ip}:7`], 'the others stay');
        assert.equal((await destsOf(a.sock, tcp80)).get(`${rs3.ip}:80`), 1, 'the negotiate virtual keeps rs3');
        await nsRun(rs3.ns, ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=0']);
        icmpIgnored.delete(rs3.ns);
        const t1 = Date.now();
        await waitDests(a.sock, udp7, (mm) => mm.get(`${rs3.ip}:7`) === 1, BOUND_MS + 3000, 'rs3 back in the UDP virtual', a.log);
        tt.diagnostic(`rs3 back ${Date.now() - t1} ms after ping answers again`);
      });

      const stopA = await a.bg.stop('SIGTERM', 3000);
      assert.equal(stopA.code, 0, `daemon A exits 0 on SIGTERM: ${a.log()}`);

      // =============================== daemon B ======================================
      const check = join(dir, 'check.sh');
      writeFileSync(check, `#!/bin/sh\n# args: VIP VPORT RIP RPORT\n[ -e "${dir}/down-$3" ] && exit 1\nexit 0\n`);
      chmodSync(check, 0o755);
      const fail = (ip: string) => writeFileSync(join(dir, `down-${ip}`), '');
      const heal = (ip: string) => rmSync(join(dir, `down-${ip}`), { force: true });
      const logfile = join(dir, 'b.log');
      const cfB = `# test/netns/health.test.ts, daemon B\n${GLOBALS}autoreload=yes\nlogfile="${logfile}"\n\n` +
        `virtual=${vip}:80\n\treal=${rs1.ip}:80 gate\n\treal=${rs2.ip}:80 gate\n\tfallback=${rs3.ip}:80 gate\n` +
        `\tchecktype=external\n\tcheckcommand=${check}\n\tquiescent=yes\n\tscheduler=rr\n\tprotocol=tcp\n`;
      const b = await startDaemon(lab, dir, 'b', cfB);
      const isUp = (ip: string) => (m: Map<string, number>) => m.get(`${ip}:80`) === 1;
      await waitDests(b.sock, tcp80, (m) => isUp(rs1.ip)(m) && isUp(rs2.ip)(m) && !m.has(`${rs3.ip}:80`), 10_000, 'rs1 and rs2 up, no fallback', b.log);

      await t.test('external check + quiescent=yes: weight 0, the kept-alive connection still answered, new ones elsewhere', { timeout: 30_000 }, async (tt) => {
        const ka = await KeepAlive.open(lab);
        try {
          const [first] = await ka.get(1);
          const victim = lab.realServers.find((r) => r.name === first);
          assert.ok(victim && victim !== rs3, `the keep-alive connection is on rs1 or rs2 (${first})`);
          const other = victim === rs1 ? rs2 : rs1;
          const t0 = Date.now();
          fail(victim.ip);
          await waitDests(b.sock, tcp80, (m) => m.get(`${victim.ip}:80`) === 0, BOUND_MS + 3000, `${victim.name} quiesced (weight 0)`, b.log);
          const ms = Date.now() - t0;
          tt.diagnostic(`${victim.name} at weight 0 ${ms} ms after its external check started failing`);
          assert.ok(ms <= BOUND_MS, `quiesced within ${BOUND_MS} ms, took ${ms} ms`);
          const m = await destsOf(b.sock, tcp80);
          assert.equal(m.get(`${other.ip}:80`), 1, 'the other real keeps weight 1');
          assert.ok(!m.has(`${rs3.ip}:80`), 'no fallback while a real is up');
          assert.deepEqual(await ka.get(5), Array(5).fill(victim.name), 'the kept-alive connection still answered by the quiesced real');
          const n = countBy(await curlNew(lab, 12));
          tt.diagnostic(`12 new connections with ${victim.name} quiesced: ${JSON.stringify(n)}`);
          assert.equal(n[other.name], 12, `all 12 new connections to ${other.name}: ${JSON.stringify(n)}`);
          assert.match(readFileSync(logfile, 'utf8'), new RegExp(`real server ${victim.ip.replace(/\./g, '\\.')}:80 .*down`), 'logfile= has the down line');
        } finally {
          await ka.close();
        }
      });

      await t.test('fallback: added when every real is down, removed when one comes back', { timeout: 30_000 }, async (tt) => {
        fail(rs1.ip);
        fail(rs2.ip);
        const t0 = Date.now();
        await waitDests(b.sock, tcp80, (m) => m.get(`${rs1.ip}:80`) === 0 && m.get(`${rs2.ip}:80`) === 0 && m.get(`${rs3.ip}:80`) === 1,
          BOUND_MS + 3000, 'both reals at weight 0 and the fallback rs3 at weight 1', b.log);
        tt.diagnostic(`fallback in ${Date.now() - t0} ms after the last real failed`);
        const n = countBy(await curlNew(lab, 6));
        assert.equal(n[rs3.name], 6, `new connections go to the fallback: ${JSON.stringify(n)}`);
        heal(rs1.ip);
        const t1 = Date.now();
        await waitDests(b.sock, tcp80, (m) => m.get(`${rs1.ip}:80`) === 1 && !m.has(`${rs3.ip}:80`), BOUND_MS + 3000, 'rs1 back and the fallback removed', b.log);
        tt.diagnostic(`fallback removed ${Date.now() - t1} ms after rs1's check passed again`);
        assert.match(b.log(), /fallback server 192\.0\.2\.13:80 .*added/);
        assert.match(b.log(), /fallback server 192\.0\.2\.13:80 .*removed/);
        const n2 = countBy(await curlNew(lab, 6));
        assert.equal(n2[rs1.name], 6, `new connections go to rs1 (rs2 still at weight 0): ${JSON.stringify(n2)}`);
      });

      await t.test('autoreload: a broken file is logged with line numbers, -L -n stays exactly as it was', { timeout: 20_000 }, async (tt) => {
        const before = await listTable(b.sock);
        const errsBefore = (b.log().match(/autoreload: .*running configuration is unchanged/g) ?? []).length;
        await sleep(1100); // a new mtime second for the watcher
        writeFileSync(b.cfg, `${cfB}\tchecktimeout=soon\nvirtual=${vip}:81\n\treal=${rs1.ip}:81 sideways\n`);
        const line = await until(() => (b.log().match(/autoreload: .*running configuration is unchanged/g) ?? [])[errsBefore], 8000,
          () => `the autoreload error line; log:\n${b.log()}`);
        tt.diagnostic(line);
        assert.match(line, /line 1[4-9]/, 'the error names the broken lines');
        await sleep(2500); // a few check rounds
        const after = await listTable(b.sock);
        assert.deepEqual(after.rows, before.rows, `the table is unchanged:\n${before.text}\n---\n${after.text}`);
        assert.ok(b.bg.running, 'the daemon still runs');
      });

      const stopB = await b.bg.stop('SIGTERM', 3000);
      assert.equal(stopB.code, 0, `daemon B exits 0 on SIGTERM: ${b.log()}`);

      await t.test('tsvs check-config: FILE:LINE: message per problem, exit 1', { timeout: 15_000 }, async () => {
        const bad = join(dir, 'bad.cf');
        writeFileSync(bad, `checkinterval=1\nchecktimeout=often\n\nvirtual=${vip}:80\n\treal=${rs1.ip}:80 sideways\n\tchecktype=negotiate\n`);
        const r = await run([process.execPath, TSVS, 'check-config', bad], { check: false, timeoutMs: 10_000 });
        assert.equal(r.code, 1, `exit 1 (${r.stdout}${r.stderr})`);
        const lines = r.stderr.trim().split('\n');
        assert.ok(lines.length >= 2, `one line per problem:\n${r.stderr}`);
        for (const l of lines) assert.match(l, new RegExp(`^${bad.replace(/[.]/g, '\\.')}:\\d+: \\S`), `FILE:LINE: message: ${l}`);
        assert.ok(lines.some((l) => l.startsWith(`${bad}:2: `)), `line 2 reported:\n${r.stderr}`);
        assert.ok(lines.some((l) => l.startsWith(`${bad}:5: `)), `line 5 reported:\n${r.stderr}`);
        const good = join(dir, 'good.cf');
        writeFileSync(good, cfA);
        const g = await run([process.execPath, TSVS, 'check-config', good], { check: false, timeoutMs: 10_000 });
        assert.equal(g.code, 0, g.stderr);
        assert.match(g.stdout, /OK \(2 virtual services, 6 real servers\)/);
      });

      // ======================= daemon C, driven by stock ldirectord =====================
      await t.test('stock ldirectord (Debian) drives tsvs through the ipvsadm wrapper: a stopped real leaves -L -n', { timeout: 40_000 }, async (tt) => {
        if (!existsSync(LDIRECTORD)) {
          tt.skip(`${LDIRECTORD} is not installed (apt-get install ldirectord)`);
          return;
        }
        // tsvsadm goes where ldirectord looks, /usr/sbin/ipvsadm (§4.1: it never consults
        // PATH), with the packaged ipvsadm diverted aside; `uninstall` in the finally puts
        // everything back. ldirectord runs from a directory without an ./ipvsadm, so it
        // really uses /usr/sbin/ipvsadm.
        const sbin = dir;
        const env = { ...process.env };
        delete env.TSVS_SBIN_DIR;
        const inst = await run([process.execPath, TSVS, 'ipvsadm', 'install'], { check: false, env, timeoutMs: 10_000 });
        assert.equal(inst.code, 0, `tsvs ipvsadm install: ${inst.stdout}${inst.stderr}`);
        try {
          const c = await startDaemon(lab, dir, 'c', undefined);
          const cfg = join(dir, `ldirectord-tsvs-health-${process.pid}.cf`);
          writeFileSync(cfg, `# test/netns/health.test.ts, for stock ldirectord
${GLOBALS}quiescent=no
fork=no

` +
            `virtual=${vip}:80
	real=${rs1.ip}:80 gate
	real=${rs3.ip}:80 gate
	checktype=connect
	scheduler=rr
	protocol=tcp
`);
          const ld = startBg(lab.director.ns, ['sh', '-c', 'cd "$1" && exec env TSVS_SOCKET="$2" "$3" -d "$4" start', 'sh', sbin, c.sock, LDIRECTORD, cfg]);
          const ldLog = () => `${ld.out}${ld.err}\n--- tsvs:\n${c.log()}`;
          try {
            await waitDests(c.sock, tcp80, (m) => m.get(`${rs1.ip}:80`) === 1 && m.get(`${rs3.ip}:80`) === 1, 20_000, 'ldirectord to add rs1 and rs3', ldLog);
            const proc = lab.processes.find((p) => p.host === rs3.name)!;
            const t0 = Date.now();
            assert.equal(await stopPid(proc.pid, { marker: proc.marker }), 'stopped');
            await waitDests(c.sock, tcp80, (m) => !m.has(`${rs3.ip}:80`) && m.get(`${rs1.ip}:80`) === 1, BOUND_MS + 4000, 'ldirectord to remove rs3', ldLog);
            const ms = Date.now() - t0;
            tt.diagnostic(`under ldirectord, rs3 out of -L -n ${ms} ms after its server stopped`);
            const n = countBy(await curlNew(lab, 6));
            assert.equal(n[rs1.name], 6, `new connections go to rs1: ${JSON.stringify(n)}`);
            assert.ok(ld.running, `ldirectord still runs: ${ldLog()}`);
          } finally {
            await ld.stop('SIGTERM', 5000);
            await c.bg.stop('SIGTERM', 3000);
          }
        } finally {
          const un = await run([process.execPath, TSVS, 'ipvsadm', 'uninstall'], { check: false, env, timeoutMs: 10_000 });
          assert.equal(un.code, 0, `tsvs ipvsadm uninstall: ${un.stdout}${un.stderr}`);
        }
      });
    } finally {
      await started.stopAll(2000);
      for (const p of restarted) await stopPid(p.pid, { marker: p.marker });
      for (const ns of icmpIgnored) await nsRun(ns, ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=0'], { check: false });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
