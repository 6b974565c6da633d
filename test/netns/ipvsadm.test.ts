// The ipvsadm control plane end to end (needs root; skipped otherwise). In a flat lab with
// 3 real servers, `tsvs daemon` starts EMPTY in the director namespace (no config) and is
// configured only through tsvsadm, which runs in the root namespace (the control socket is
// a file, reachable from any namespace), line by line as the director script of the LVS
// documents does it:
//   -C; -A -t VIP:ssh -s rr; three -a ... -g -w 1; --set 259200 0 0; -L --timeout; -L -n;
//   -L --stats; then a wlc HTTP service with weights 1000/500/800.
// Then: new HTTP connections through the VIP spread in the weights' order and rough ratio
// and are counted by -L -n --stats; wrong commands change nothing; `tsvsadm -S -n` saved,
// the daemon stopped (SIGTERM by PID), a fresh daemon with --rules FILE lists the same
// services and real servers, and so does a third, empty one after tsvsadm-restore.
// Every process started here is stopped by its PID in a finally; then the lab goes down.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { httpGet, pidMatches, startInNs, stopPid } from '../../src/lab/exec';
import { run } from '../../src/lab/run';
import type { Lab } from '../../src/lab/state';
import type { DaemonStatus } from '../../src/control/daemon';
import { hasNative } from '../../src/io/native';
import { has } from './helpers/bg';

const ROOT = join(__dirname, '..', '..', '..');
const TSVS = join(ROOT, 'dist', 'src', 'cli', 'tsvs.js');
const TSVSADM = join(ROOT, 'dist', 'src', 'cli', 'tsvsadm.js');
const RESTORE = join(ROOT, 'bin', 'tsvsadm-restore');

const skip = labSkipReason() ??
  (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined) ??
  (!has(['curl', '--version']) ? 'curl not installed' : undefined);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Daemon {
  pid: number;
  sock: string;
  log: string;
  status: string;
}

/** Starts `tsvs daemon --interface eth0 --socket SOCK [extra]` in the director namespace. */
async function startDaemon(lab: Lab, dir: string, tag: string, extra: string[] = []): Promise<Daemon> {
  const sock = join(dir, `${tag}.sock`); // also the marker: stopPid checks it is in the command line
  const log = join(dir, `${tag}.log`);
  const status = join(dir, `${tag}.status.json`);
  const bg = startInNs(lab.director.ns, [process.execPath, TSVS, 'daemon', '--interface', lab.director.ifname, '--socket', sock, '--status-file', status, ...extra], log);
  const d = { pid: bg.pid, sock, log, status };
  started.push(d);
  const end = Date.now() + 15_000;
  for (;;) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (/: director on /.test(text) && existsSync(sock)) return d;
    if (!pidMatches(d.pid)) throw new Error(`the daemon ${tag} exited at start: ${text}`);
    if (Date.now() > end) throw new Error(`the daemon ${tag} did not come up in 15 s: ${text}`);
    await sleep(50);
  }
}

const started: Daemon[] = [];

async function stopDaemon(d: Daemon): Promise<void> {
  const r = await stopPid(d.pid, { marker: d.sock, graceMs: 5000 });
  assert.ok(r === 'stopped' || r === 'gone', `daemon ${d.pid}: ${r}`);
}

/** Waits until the daemon's status shows `n` services and every real server resolved. */
async function waitResolved(d: Daemon, n: number): Promise<DaemonStatus> {
  const end = Date.now() + 10_000;
  let last = '';
  for (;;) {
    try {
      last = readFileSync(d.status, 'utf8');
      const s = JSON.parse(last) as DaemonStatus;
      if (s.services.length === n && s.unresolved.length === 0) return s;
    } catch {
      /* not written yet, or mid-rename */
    }
    if (Date.now() > end) throw new Error(`daemon: ${n} services with all real servers resolved not reached: ${last}`);
    await sleep(100);
  }
}

interface AdmResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs tsvsadm ARGS in the root namespace against daemon `d`. */
async function adm(d: Daemon, args: string[], input?: string): Promise<AdmResult> {
  const r = await run([process.execPath, TSVSADM, ...args], { check: false, timeoutMs: 15_000, env: { ...process.env, TSVS_SOCKET: d.sock }, input });
  return { stdout: r.stdout, stderr: r.stderr, code: r.code };
}

async function ok(d: Daemon, line: string): Promise<string> {
  const r = await adm(d, line.split(' '));
  assert.equal(r.code, 0, `tsvsadm ${line}: exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, '', `tsvsadm ${line}`);
  return r.stdout;
}

/** `-L -n` without the counters (ActiveConn, InActConn): services and real servers only. */
function shape(list: string): string[] {
  return list
    .split('\n')
    .filter((l) => /^(TCP|UDP|SCTP|FWM) /.test(l) || l.startsWith('  -> '))
    .map((l) => (l.startsWith('  -> ') && !l.includes('RemoteAddress') ? l.trim().split(/\s+/).slice(0, 4).join(' ') : l.trim().split(/\s+/).join(' ')));
}

test('tsvsadm drives a live daemon: the LVS director script, wlc traffic, save and restore (3 real servers)', { skip, timeout: 150_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ipvsadm-'));
  try {
    await withLab({ realServers: 3 }, async (lab) => {
      const vip = lab.vip;
      const rs1 = lab.realServers[0];
      let d = await startDaemon(lab, dir, 'first');
      try {
        await t.test('the daemon starts empty', async () => {
          const list = await ok(d, '-L -n');
          assert.match(list, /^IP Virtual Server version 1\.2\.1 \(size=\d+\)\nProt LocalAddress:Port Scheduler Flags\n {2}-> RemoteAddress:Port {11}Forward Weight ActiveConn InActConn\n$/);
        });

        await t.test('the director script of the LVS documents, line by line', async () => {
          await ok(d, '-C');
          await ok(d, `-A -t ${vip}:ssh -s rr`);
          for (const rs of lab.realServers) await ok(d, `-a -t ${vip}:ssh -r ${rs.ip} -g -w 1`);
          await ok(d, '--set 259200 0 0');
          assert.equal(await ok(d, '-L --timeout'), 'Timeout (tcp tcpfin udp): 259200 120 300\n');
          const list = await ok(d, '-L -n');
          const lines = shape(list).filter((l) => !l.includes('RemoteAddress'));
          assert.equal(lines.length, 4, list);
          assert.equal(lines[0], `TCP ${vip}:22 rr`);
          // Every real server is there, by DR, on the service's port (22, from /etc/services).
          for (const rs of lab.realServers) assert.match(list, new RegExp(`^ {2}-> ${rs.ip.replace(/\./g, '\\.')}:22 +Route +1 +0 +0 *$`, 'm'));
          assert.match(list, new RegExp(`^TCP {2}${vip.replace(/\./g, '\\.')}:22 rr *$`, 'm'));
          const named = await ok(d, '-L');
          assert.match(named, /:ssh rr/, 'without -n the port is a service name again');
          const stats = await ok(d, '-L --stats');
          assert.match(stats, /Prot LocalAddress:Port +Conns +InPkts +OutPkts +InBytes +OutBytes/);
          assert.match(stats, /:ssh +0 +0 +0 +0 +0/);
        });

        await t.test('a wlc HTTP service 1000:500:800 gets new connections in that proportion, counted by --stats', async () => {
          await ok(d, `-A -t ${vip}:80 -s wlc`);
          const weights = [1000, 500, 800];
          for (let i = 0; i < 3; i++) await ok(d, `-a -t ${vip}:80 -r ${lab.realServers[i].ip}:80 -g -w ${weights[i]}`);
          await waitResolved(d, 2);
          const n = 46;
          const got = await httpGet(lab, `http://${vip}/`, { count: n, keepAlive: false, timeoutMs: 3000 });
          assert.deepEqual(got.connects, new Array(n).fill(1), 'a new connection per request');
          const per = lab.realServers.map((rs) => got.bodies.filter((b) => b === `${rs.name}\n`).length);
          assert.equal(per[0] + per[1] + per[2], n, `bodies: ${JSON.stringify(got.bodies)}`);
          t.diagnostic(`wlc 1000:500:800 over ${n} connections: ${per.join(':')}`);
          assert.ok(per[0] > per[2] && per[2] > per[1], `order rs1 > rs3 > rs2: ${per.join(':')}`);
          // Expected 20 : 10 : 16; allow a few either way.
          const expect = weights.map((w) => (n * w) / 2300);
          per.forEach((p, i) => assert.ok(Math.abs(p - expect[i]) <= 4, `rs${i + 1}: ${p} connections, expected about ${expect[i].toFixed(1)}`));
          const stats = await ok(d, '-L -n --stats');
          const svc = new RegExp(`^TCP {2}${vip.replace(/\./g, '\\.')}:80 +(\\d+) +(\\d+) +(\\d+) +(\\d+) +(\\d+)`, 'm').exec(stats);
          assert.ok(svc, stats);
          assert.equal(Number(svc[1]), n, `service Conns: ${stats}`);
          assert.ok(Number(svc[2]) >= n * 3, 'InPkts: at least SYN, ACK+request, FIN per connection');
          assert.equal(Number(svc[3]), 0, 'OutPkts: direct routing, replies do not pass the director');
          lab.realServers.forEach((rs, i) => {
            const m = new RegExp(`^ {2}-> ${rs.ip.replace(/\./g, '\\.')}:80 +(\\d+) +(\\d+)`, 'm').exec(stats);
            assert.ok(m, stats);
            assert.equal(Number(m[1]), per[i], `${rs.name} Conns`);
            assert.ok(Number(m[2]) > 0, `${rs.name} InPkts`);
          });
        });

        await t.test('wrong commands change nothing', async () => {
          const before = await ok(d, '-L -n');
          const bad: Array<[string, RegExp]> = [
            [`-a -t ${vip}:80 -r 192.0.2.14:80 -g -w 70000`, /weight/i],
            [`-A -t ${vip}:8080 -s nosuchsched`, /scheduler/i],
            [`-a -t ${vip}:8080 -r ${rs1.ip}:8080 -g -w 1`, /service/i],
            [`-e -t ${vip}:80 -r 192.0.2.99:80 -g -w 5`, /./],
            [`-A -t ${vip}:80 -s rr`, /exists/i],
          ];
          for (const [line, msg] of bad) {
            const r = await adm(d, line.split(' '));
            assert.notEqual(r.code, 0, `tsvsadm ${line} should fail`);
            assert.match(r.stderr, msg, `tsvsadm ${line}`);
            assert.equal(r.stdout, '');
          }
          assert.equal(await ok(d, '-L -n'), before);
        });

        await t.test('tsvsadm -S -n, a restart with --rules FILE, and tsvsadm-restore into an empty daemon', async () => {
          const rulesFile = join(dir, 'ipvsadm.rules');
          const saved = await ok(d, '-S -n');
          writeFileSync(rulesFile, saved);
          assert.match(saved, new RegExp(`^-A -t ${vip.replace(/\./g, '\\.')}:80 -s wlc$`, 'm'));
          const want = shape(await ok(d, '-L -n'));
          assert.equal(want.length, 1 + (1 + 3) * 2, want.join('\n'));
          await stopDaemon(d);
          assert.ok(!existsSync(d.sock), 'the socket goes with the daemon');

          d = await startDaemon(lab, dir, 'second', ['--rules', rulesFile]);
          assert.match(readFileSync(d.log, 'utf8'), new RegExp(`rules from ${rulesFile.replace(/\./g, '\\.')}: 8 command\\(s\\) applied`));
          assert.deepEqual(shape(await ok(d, '-L -n')), want);
          await waitResolved(d, 2);
          const after = await httpGet(lab, `http://${vip}/`, { count: 3, keepAlive: false });
          assert.equal(after.bodies.length, 3, 'traffic flows after the restart');
          await stopDaemon(d);

          d = await startDaemon(lab, dir, 'third');
          assert.deepEqual(shape(await ok(d, '-L -n')).filter((l) => !l.includes('RemoteAddress')), [], 'starts empty');
          const r = await run([RESTORE], { check: false, timeoutMs: 20_000, env: { ...process.env, TSVS_SOCKET: d.sock }, input: `# ipvsadm rules saved by tsvsadm -S -n\n${saved}` });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stderr, '');
          assert.deepEqual(shape(await ok(d, '-L -n')), want);
        });
      } finally {
        for (const s of started) await stopPid(s.pid, { marker: s.sock, graceMs: 3000 });
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
