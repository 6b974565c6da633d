// VRRP end to end (needs root): two directors on the client's segment (a lab with
// `directors: 2`: director 192.0.2.2, director2 192.0.2.3), each running `tsvs daemon
// --vrrp`, in front of two real servers; the client reaches the VIP 192.0.2.100.
//   1. election, then SIGKILL of the master: the backup takes the VIP within 3 advert
//      intervals + skew, new connections work; the old master comes back and preempts.
//      Failover time is read from a capture on the client's segment (last advert of the
//      old master -> first advert of the new one, and its first gratuitous ARP), and the
//      established connections (4 idle keep-alive HTTP connections, 1 slow TCP stream)
//      that survive WITHOUT connection sync are counted. The backup runs keepalived
//      notify scripts (notify_backup, notify_master, notify): each change runs them.
//   2. malformed adverts injected from the client (raw socket) are counted by reason on
//      both directors and change nothing.
//   3. nopreempt + "unplugged" master (its switch port set down): the backup takes over;
//      when the link returns the old master goes FAULT -> BACKUP and stays there.
//   4. track_script (vrrp_script with weight -60): the master's failing check lowers its
//      priority below the backup's, which preempts; when the check passes it takes back.
//      Then SIGHUP with a new priority: the master stays master; a broken file is refused.
//   5. unicast peers (unicast_src_ip / unicast_peer) instead of multicast.
//   6. interop with keepalived 2.2.7 (`keepalived --vrrp`, VRRPv3) in director2: tsvs
//      master / keepalived backup and the reverse, failover both ways.
// One lab for the whole file; every wait is bounded; everything started here is stopped by
// its PID in a finally, then the lab goes down.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { arping, httpGet, neighbour, nsRun } from '../../src/lab/exec';
import type { Lab } from '../../src/lab/state';
import { hasNative } from '../../src/io/native';
import { AUTH_NONE, AUTH_PASS, encodePacket, passAuthData, type Advert } from '../../src/ha/vrrp/packet';
import { parseV4 } from '../../src/core/addr';
import type { Frame } from './helpers/frames';
import { TestResults } from './helpers/results';
import { Bg, BgGroup, sleep, until, has } from './helpers/bg';
import { TestDirector } from './helpers/vrrp-director';

const TSVS = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
const HELPERS = join(__dirname, 'helpers');
const CAPTURE = join(HELPERS, 'capture.js');
const TCP_TOOLS = join(HELPERS, 'tcp-tools.js');
const VRRP_TOOLS = join(HELPERS, 'vrrp-tools.js');
const KEEPALIVED = '/usr/sbin/keepalived';
const VIP = '192.0.2.100';
const PASS = 'tsvs-ha1';

const skip = labSkipReason() ??
  (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined) ??
  (!has(['curl', '--version']) ? 'curl not installed' : undefined);

/** Every process started here, stopped by its PID at the end whatever happened. */
const started = new BgGroup();
const startBg = (ns: string, argv: string[]): Bg => started.start(ns, argv);

const results = new TestResults();
const record = (t: TestContext, key: string, value: unknown): void => results.record(t, key, value);

// ---- configuration files -----------------------------------------------------------

const SVC_YAML = `services:
  - vip: ${VIP}
    port: 80
    scheduler: rr
    realservers: [{ address: 192.0.2.11 }, { address: 192.0.2.12 }]
  - vip: ${VIP}
    port: 9000
    scheduler: rr
    realservers: [{ address: 192.0.2.11 }, { address: 192.0.2.12 }]
`;

interface InstOpts {
  priority: number;
  version: 2 | 3;
  auth?: boolean;
  nopreempt?: boolean;
  /** unicast_src_ip and the one unicast_peer (instead of multicast). */
  unicast?: [string, string];
  /** A script for notify_master "S master", notify_backup "S backup" and the generic notify. */
  notify?: string;
  /** track_script chk: `test -e FILE` every second, weight -60 (priority 150 -> 90 while FILE is missing). */
  trackFile?: string;
}

/** keepalived.conf text (read by tsvs and by keepalived alike). */
function keepalivedConf(o: InstOpts): string {
  return `global_defs {
    vrrp_version ${o.version}
}
${o.trackFile ? `vrrp_script chk {\n    script "/usr/bin/test -e ${o.trackFile}"\n    interval 1\n    weight -60\n}\n` : ''}vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority ${o.priority}
    advert_int 1
${o.nopreempt ? '    nopreempt\n' : ''}${o.trackFile ? '    track_script {\n        chk\n    }\n' : ''}${o.unicast ? `    unicast_src_ip ${o.unicast[0]}\n    unicast_peer {\n        ${o.unicast[1]}\n    }\n` : ''}${o.auth ? `    authentication {\n        auth_type PASS\n        auth_pass ${PASS}\n    }\n` : ''}    virtual_ipaddress {
        ${VIP}/32
    }
}
`;
}

/** The same instance in the native YAML `vrrp:` section. */
function vrrpYaml(o: InstOpts): string {
  return `vrrp:
  version: ${o.version}
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: ${o.priority}
      advert_int: 1
      virtual_ipaddress: [${VIP}]
${o.nopreempt ? '      nopreempt: true\n' : ''}${o.auth ? `      authentication: { auth_type: PASS, auth_pass: ${PASS} }\n` : ''}${o.notify ? `      notify_master: "${o.notify} master"\n      notify_backup: "${o.notify} backup"\n      notify: ${o.notify}\n` : ''}`;
}

// ---- a tsvs director ---------------------------------------------------------------

class Director extends TestDirector {
  constructor(ns: string, ip: string, mac: string, dir: string, tag: string) {
    super(ns, ip, mac, dir, tag, startBg);
  }

  async start(vrrpText: string, ext: string, extra: string[] = []): Promise<void> {
    const vrrpFile = join(this.dir, `${this.tag}.vrrp.${ext}`);
    writeFileSync(vrrpFile, vrrpText);
    await this.launch(['--config', join(this.dir, 'svc.yaml'), '--vrrp', vrrpFile, ...extra]);
  }

  kill(sig: NodeJS.Signals): Promise<void> {
    return this.stop(sig);
  }
}

// ---- keepalived (VRRP only) in director2 ---------------------------------------------

class Keepalived {
  bg: Bg | null = null;
  constructor(readonly ns: string, readonly dir: string) {}

  async start(conf: string): Promise<void> {
    const f = join(this.dir, 'keepalived.conf');
    writeFileSync(f, conf);
    // Own pid files (never the system's /run/keepalived*.pid); VRRP only; stays in the foreground.
    this.bg = startBg(this.ns, [KEEPALIVED, '--vrrp', '--dont-fork', '--log-console', '--log-detail', '--no-syslog', '-f', f,
      '--pid', join(this.dir, 'keepalived.pid'), '--vrrp_pid', join(this.dir, 'keepalived-vrrp.pid')]);
    await until(() => /\(VI_1\) Entering (BACKUP|MASTER) STATE/.test(this.log) || !this.bg!.running,
      10_000, () => `keepalived start; log:\n${this.log}`);
    if (!this.bg.running) throw new Error(`keepalived exited: ${this.log}`);
  }

  get log(): string {
    return this.bg ? this.bg.out + this.bg.err : '';
  }

  /** The last "Entering X STATE" of its log. */
  state(): string {
    const all = [...this.log.matchAll(/\(VI_1\) Entering (\w+) STATE/g)];
    return all.length ? all[all.length - 1][1] : '?';
  }

  async waitState(state: string, ms: number): Promise<void> {
    await until(() => this.state() === state, ms, () => `keepalived ${state} (is ${this.state()}); log:\n${this.log.slice(-3000)}`);
  }

  async stop(): Promise<void> {
    if (!this.bg) return;
    // SIGTERM to the parent: it stops its VRRP child (priority-0 advert) and exits.
    await this.bg.stop('SIGTERM', 5000);
    this.bg = null;
  }
}

// ---- capture on the client's segment -------------------------------------------------

class Capture {
  constructor(readonly bg: Bg) {}
  static async start(ns: string): Promise<Capture> {
    const bg = startBg(ns, [process.execPath, CAPTURE, '--ifname', 'eth0', '--max-ms', '580000']);
    await until(() => /^READY /m.test(bg.out) || !bg.running, 8000, 'capture');
    if (!bg.running) throw new Error(`capture failed: ${bg.err}`);
    return new Capture(bg);
  }
  frames(): Frame[] {
    return this.bg.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Frame);
  }
}

/**
 * From the frames after `mark`: the first advert of the new master; then the last VRRP advert of the old master before the first
 * advert of the new one, and the new one's first gratuitous ARP for the VIP.
 */
function failoverTimes(frames: Frame[], mark: number, oldIp: string, newIp: string, newMac: string) {
  const f = frames.slice(mark);
  const vrrp = (ip: string) => (x: Frame) => x.ip?.proto === 112 && x.ip.src === ip;
  const firstNew = f.find((x) => vrrp(newIp)(x) && !f.some((y) => vrrp(oldIp)(y) && y.t! > x.t!));
  if (!firstNew) return null;
  // the old master's last advert may well precede the mark (it advertises once a second)
  const lastOld = [...frames].reverse().find((x) => vrrp(oldIp)(x) && x.t! <= firstNew.t!);
  const garp = f.find((x) => x.arp && x.srcMac === newMac && x.arp.spa === VIP && x.arp.tpa === VIP && x.t! >= firstNew.t! - 50);
  return {
    lastOldAdvertMs: lastOld?.t ?? null,
    firstNewAdvertMs: firstNew.t!,
    advertGapMs: lastOld ? firstNew.t! - lastOld.t! : null,
    firstGarpAfterLastOldMs: lastOld && garp ? garp.t! - lastOld.t! : null,
    newAdvertTtl: firstNew.ip!.ttl,
  };
}

// ---- established connections across a failover --------------------------------------

interface Conns {
  keepalive: Bg[];
  stream: Bg;
}

async function openConns(lab: Lab): Promise<Conns> {
  const keepalive: Bg[] = [];
  for (let i = 0; i < 4; i++) {
    const k = startBg(lab.client.ns, [process.execPath, TCP_TOOLS, 'keepalive', '--host', VIP, '--port', '80', '--max-ms', '120000']);
    await until(() => /^READY /m.test(k.out) || !k.running, 5000, 'keep-alive connection');
    k.write('get');
    await until(() => /"n":1/.test(k.out) || !k.running, 5000, () => `first GET on keep-alive ${i}: ${k.out} ${k.err}`);
    keepalive.push(k);
  }
  const stream = startBg(lab.client.ns, [process.execPath, VRRP_TOOLS, 'slowstream', '--host', VIP, '--port', '9000', '--max-ms', '120000']);
  await until(() => /^READY /m.test(stream.out) || !stream.running, 5000, () => `slow stream: ${stream.err}`);
  await sleep(300);
  return { keepalive, stream };
}

/** After a failover: one more GET on each idle connection, end of the stream; how many made it. */
async function countSurvivors(c: Conns): Promise<{ total: number; survived: number; lost: number; detail: string[] }> {
  const detail: string[] = [];
  let survived = 0;
  for (const k of c.keepalive) k.write('get');
  c.stream.write('end');
  const deadline = Date.now() + 6000;
  for (const k of c.keepalive) {
    await until(() => /"n":2/.test(k.out) || /"closed"/.test(k.out) || Date.now() > deadline, 7000, 'keep-alive outcome').catch(() => undefined);
    const ok = /"n":2/.test(k.out);
    if (ok) survived++;
    detail.push(`keepalive: ${ok ? 'ok' : /"closed"/.test(k.out) ? `closed ${k.out.trim().split('\n').pop()}` : 'no answer within 6 s'}`);
  }
  await until(() => /^\{/m.test(c.stream.out), 7000, 'stream outcome').catch(() => undefined);
  const line = c.stream.out.split('\n').find((l) => l.startsWith('{'));
  const r = line ? (JSON.parse(line) as { sent: number; reply?: string; error?: string }) : null;
  const streamOk = !!r && !r.error && new RegExp(`^rs\\d+ ${r.sent} `).test(r.reply ?? '');
  if (streamOk) survived++;
  detail.push(`stream: ${streamOk ? 'ok' : JSON.stringify(r)}`);
  for (const b of [...c.keepalive, c.stream]) await b.stop('SIGTERM', 1000);
  return { total: c.keepalive.length + 1, survived, lost: c.keepalive.length + 1 - survived, detail };
}

async function curlVip(lab: Lab, ms = 5000): Promise<string> {
  let last = '';
  await until(async () => {
    const r = await httpGet(lab, `http://${VIP}/`, { timeoutMs: 1000, allowFail: true, keepAlive: false });
    last = `${r.statuses} ${r.stderr.trim()}`;
    return r.statuses[0] === 200 && /^rs\d/.test(r.bodies[0]);
  }, ms, () => `a new connection to the VIP (${last})`, 200);
  return last;
}

async function vipMac(lab: Lab): Promise<string | undefined> {
  return (await neighbour(lab.client.ns, VIP))?.mac;
}

// ---- the test ---------------------------------------------------------------------------

test('VRRP: election, failover, preemption, malformed adverts, keepalived interop', { skip, timeout: 600_000 }, async (t) => {
  await withLab({ realServers: 2, directors: 2, serverTtlSec: 900 }, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-vrrp-'));
    writeFileSync(join(dir, 'svc.yaml'), SVC_YAML);
    const d2 = lab.director2!;
    const A = new Director(lab.director.ns, lab.director.ip, lab.director.mac, dir, 'A');
    const B = new Director(d2.ns, d2.ip, d2.mac, dir, 'B');
    try {
      for (const rs of lab.realServers) {
        const s = startBg(rs.ns, [process.execPath, TCP_TOOLS, 'sink', '--name', rs.name, '--port', '9000', '--ttl', '900']);
        await until(() => /READY/.test(s.out) || !s.running, 5000, `sink on ${rs.name}`);
      }
      const cap = await Capture.start(lab.client.ns);

      await t.test('two tsvs directors elect one master; SIGKILL of the master: the backup takes over; the old master preempts on return', async (t) => {
        const cfgA = { priority: 150, version: 2 as const, auth: true };
        await A.start(keepalivedConf(cfgA), 'conf', ['--metrics', '127.0.0.1:9101']);
        // B's notify scripts log every state change it goes through
        const notifyLog = join(dir, 'B.notify.log');
        const notifySh = join(dir, 'notify.sh');
        writeFileSync(notifySh, `#!/bin/sh\necho "$@" >> ${notifyLog}\n`, { mode: 0o755 });
        const notified = () => (existsSync(notifyLog) ? readFileSync(notifyLog, 'utf8').trim().split('\n') : []);
        await B.start(vrrpYaml({ priority: 100, version: 2, auth: true, notify: notifySh }), 'yaml');
        await A.waitState('MASTER', 8000);
        await B.waitState('BACKUP', 2000);
        await sleep(1500);
        assert.equal(B.state(), 'BACKUP', 'one master only');
        await curlVip(lab);
        assert.equal(await vipMac(lab), A.mac, 'the client reaches the VIP at the master');
        const who = await arping(lab, VIP, { count: 2 });
        assert.deepEqual(who.macs.map((m) => m.toLowerCase()), [A.mac], 'only the master answers ARP for the VIP');
        assert.ok((B.status()?.pipeline.standbyVip ?? 0) >= 2, 'the backup saw the ARP requests and left them alone');
        assert.equal(B.status()!.vrrp!.instances[0].master, A.ip);
        const m = await nsRun(lab.director.ns, ['curl', '-s', '--max-time', '3', 'http://127.0.0.1:9101/metrics']);
        assert.match(m.stdout, /tsvs_vrrp_state\{instance="VI_1",vrid="51",interface="eth0"\} 2/);
        assert.match(m.stdout, /tsvs_vrrp_adverts_sent_total\{instance="VI_1",vrid="51",interface="eth0"\} [1-9]/);
        const st = await nsRun(lab.director.ns, [process.execPath, TSVS, 'status', '--status-file', A.statusFile], { check: false });
        assert.match(st.stdout, /VI_1 +VRID 51 on eth0 +v2 +priority 150 +MASTER/);

        const conns = await openConns(lab);
        const mark = cap.frames().length;
        const tKill = Date.now();
        await A.kill('SIGKILL');
        await B.waitState('MASTER', 6000);
        const killToMasterMs = Date.now() - tKill; // includes up to 1 s of status-file lag
        await curlVip(lab, 5000);
        assert.equal(await vipMac(lab), B.mac, 'the VIP moved to the backup');
        const lost = await countSurvivors(conns);
        await sleep(300);
        const ft = failoverTimes(cap.frames(), mark, A.ip, B.ip, B.mac);
        assert.ok(ft, 'the capture saw the new master advertise');
        assert.equal(ft.newAdvertTtl, 255);
        // Master_Down_Interval = 3 × 1 s + (256 − 100)/256 s = 3.61 s after the last advert heard
        assert.ok(ft.advertGapMs! <= 3609 + 400, `failover ${ft.advertGapMs} ms within 3 intervals + skew`);
        record(t, 'sigkill_failover', { ...ft, killToMasterSeenInStatusMs: killToMasterMs });
        record(t, 'sigkill_connections_sync_off', lost);
        record(t, 'new_master_drops_after_failover', B.status()!.drops); // why the old connections die there

        // the old master comes back (preempt, the default): it takes the VIP back
        await A.start(keepalivedConf(cfgA), 'conf');
        const back = await A.waitState('MASTER', 8000);
        await B.waitState('BACKUP', 2000);
        await curlVip(lab);
        await until(async () => (await vipMac(lab)) === A.mac, 8000, 'the client learns the VIP at A again');
        record(t, 'preempt_takeback_ms_after_restart', back);
        // keepalived's notify scripts ran on B for each change: BACKUP, MASTER, BACKUP
        await until(() => notified().length >= 6, 5000, () => `B's notify scripts: ${notified().join(' | ')}`);
        const sorted = (a: string[]) => [...a].sort();
        const n = notified();
        assert.deepEqual(sorted(n.slice(0, 2)), ['INSTANCE VI_1 BACKUP 100', 'backup']);
        assert.deepEqual(sorted(n.slice(2, 4)), ['INSTANCE VI_1 MASTER 100', 'master']);
        assert.deepEqual(sorted(n.slice(4, 6)), ['INSTANCE VI_1 BACKUP 100', 'backup']);
      });

      await t.test('malformed adverts from another namespace are counted and ignored', async (t) => {
        assert.equal(A.state(), 'MASTER');
        assert.equal(B.state(), 'BACKUP');
        const before = { a: A.status()!.vrrp!, b: B.status()!.vrrp! };
        const src = parseV4('192.0.2.10');
        const group = parseV4('224.0.0.18');
        const good = (prio: number, over: Partial<Advert> = {}): Advert => ({
          version: 2, vrid: 51, priority: prio, intervalCs: 100, addrs: [parseV4(VIP)], authType: AUTH_PASS, authData: passAuthData(PASS), ...over,
        });
        const hex = (p: Uint8Array) => Buffer.from(p).toString('hex');
        const mutate = (a: Advert, fn: (p: Uint8Array) => void) => {
          const p = encodePacket(a, src, group);
          fn(p);
          return hex(p);
        };
        // Each would change something if it were accepted: priority 254 makes the master step
        // down, priority 0 makes the backup take over at once.
        const packets: [string, string][] = [];
        for (const prio of [254, 0]) {
          packets.push(
            ['ttl', mutate(good(prio), (p) => { p[8] = 64; fixIpSum(p); })],
            ['version', mutate(good(prio), (p) => { p[20] = 0x41; })],
            ['version', hex(encodePacket(good(prio, { version: 3, authType: AUTH_NONE, authData: new Uint8Array(8) }), src, group))],
            ['length', mutate(good(prio), (p) => { p[23] = 2; })],
            ['checksum', mutate(good(prio), (p) => { p[26] ^= 0x10; })],
            ['vrid', hex(encodePacket(good(prio, { vrid: 52 }), src, group))],
            ['auth', hex(encodePacket(good(prio, { authData: passAuthData('wrong') }), src, group))],
            ['auth', hex(encodePacket(good(prio, { authType: AUTH_NONE, authData: new Uint8Array(8) }), src, group))],
            ['type', mutate(good(prio), (p) => { p[20] = 0x22; })],
          );
        }
        for (let round = 0; round < 3; round++) {
          const r = await nsRun(lab.client.ns, [process.execPath, VRRP_TOOLS, 'inject', '--ifname', 'eth0', '--hex', packets.map((p) => p[1]).join(',')], { timeoutMs: 10000 });
          assert.match(r.stdout, new RegExp(`SENT ${packets.length}`), r.stderr);
        }
        await sleep(4500); // longer than Master_Down_Interval
        const after = { a: A.status()!.vrrp!, b: B.status()!.vrrp! };
        const want: Record<string, number> = {};
        for (const [reason] of packets) want[reason] = (want[reason] ?? 0) + 3;
        for (const side of ['a', 'b'] as const) {
          for (const [reason, n] of Object.entries(want)) {
            const got = (after[side].drops as Record<string, number>)[reason] - (before[side].drops as Record<string, number>)[reason];
            assert.equal(got, n, `${side}: ${reason} counted`);
          }
          assert.equal(after[side].instances[0].counters.transitions, before[side].instances[0].counters.transitions, `${side}: no state change`);
          assert.equal(after[side].instances[0].counters.priorityZeroReceived, before[side].instances[0].counters.priorityZeroReceived);
        }
        assert.equal(A.state(), 'MASTER');
        assert.equal(B.state(), 'BACKUP');
        assert.ok(A.bg?.running && B.bg?.running, 'both daemons still running');
        record(t, 'malformed_drops_A', after.a.drops);
      });

      await t.test('nopreempt, and an unplugged master: the backup takes over; the old master returns as BACKUP and stays', async (t) => {
        // SIGTERM: the master resigns with priority 0; the backup takes over after Skew_Time
        const mark0 = cap.frames().length;
        await A.kill('SIGTERM');
        const resignMs = await B.waitState('MASTER', 3000);
        await sleep(300);
        record(t, 'sigterm_priority0_failover', { ...failoverTimes(cap.frames(), mark0, A.ip, B.ip, B.mac), observedByPollMs: resignMs });
        await B.kill('SIGTERM');

        const cfgA = { priority: 150, version: 3 as const, nopreempt: true };
        await A.start(vrrpYaml(cfgA), 'yaml');
        await A.waitState('MASTER', 8000);
        await B.start(keepalivedConf({ priority: 100, version: 3 }), 'conf');
        await B.waitState('BACKUP', 3000);
        await curlVip(lab);
        await until(async () => (await vipMac(lab)) === A.mac, 5000, 'VIP at A');
        const conns = await openConns(lab);
        const mark = cap.frames().length;
        await nsRun(lab.switch.ns, ['ip', 'link', 'set', lab.director.bridgePort!, 'down']);
        try {
          await A.waitState('FAULT', 3000);
          await B.waitState('MASTER', 6000);
          await curlVip(lab, 5000);
          assert.equal(await vipMac(lab), B.mac);
          const lost = await countSurvivors(conns);
          const ft = failoverTimes(cap.frames(), mark, A.ip, B.ip, B.mac);
          assert.ok(ft && ft.advertGapMs! <= 3609 + 400, `failover ${JSON.stringify(ft)}`);
          record(t, 'linkdown_failover', ft);
          record(t, 'linkdown_connections_sync_off', lost);
        } finally {
          await nsRun(lab.switch.ns, ['ip', 'link', 'set', lab.director.bridgePort!, 'up']);
        }
        await A.waitState('BACKUP', 5000);
        await sleep(6000); // well past Master_Down_Interval: nopreempt keeps A a backup
        assert.equal(A.state(), 'BACKUP', 'nopreempt: the higher priority stays backup');
        assert.equal(B.state(), 'MASTER');
        assert.equal(await vipMac(lab), B.mac);
        await curlVip(lab);
        assert.match(A.bg!.err, /MASTER -> FAULT: interface down/);
        assert.match(A.bg!.err, /FAULT -> INIT: interface up/);
      });

      await t.test('track_script: a failing check lowers the master\'s priority, the backup preempts; the master returns when it passes', async (t) => {
        await A.kill('SIGTERM');
        await B.kill('SIGTERM');
        const flag = join(dir, 'A.healthy');
        writeFileSync(flag, '');
        await A.start(keepalivedConf({ priority: 150, version: 3, trackFile: flag }), 'conf');
        await A.waitState('MASTER', 8000);
        await B.start(keepalivedConf({ priority: 100, version: 3 }), 'conf');
        await B.waitState('BACKUP', 3000);
        rmSync(flag);
        const t0 = Date.now();
        await B.waitState('MASTER', 8000);
        const takeoverMs = Date.now() - t0;
        await A.waitState('BACKUP', 2000);
        assert.equal(A.status()!.vrrp!.instances[0].priority, 90, 'A advertises 150 - 60');
        assert.match(A.bg!.err, /check script chk is now bad/);
        assert.match(A.bg!.err, /priority 150 -> 90 \(tracking\)/);
        await until(async () => (await vipMac(lab)) === B.mac, 5000, 'the VIP moves to B');
        writeFileSync(flag, '');
        const t1 = Date.now();
        await A.waitState('MASTER', 8000);
        record(t, 'track_script_failover', { checkFailedToBackupMasterMs: takeoverMs, checkPassedToMasterBackMs: Date.now() - t1 });
        await B.waitState('BACKUP', 2000);
        assert.equal(A.status()!.vrrp!.instances[0].priority, 150);
        await until(async () => (await vipMac(lab)) === A.mac, 5000, 'the VIP returns to A');

        // SIGHUP with a new priority and without the check: A stays master, no transition
        const transitions = A.status()!.vrrp!.instances[0].counters.transitions;
        writeFileSync(join(dir, 'A.vrrp.conf'), keepalivedConf({ priority: 160, version: 3 }));
        A.bg!.signal('SIGHUP');
        await until(() => /SIGHUP: VRRP reloaded: added -, changed VI_1, restarted -, removed -/.test(A.bg!.err), 5000, () => `the reload line: ${A.bg!.err}`);
        await until(() => A.status()?.vrrp?.instances[0].priority === 160, 3000, 'the status shows priority 160');
        await sleep(1500);
        assert.equal(A.state(), 'MASTER');
        assert.equal(B.state(), 'BACKUP');
        assert.equal(A.status()!.vrrp!.instances[0].counters.transitions, transitions, 'the reload changed no state');
        // a broken file is refused; VRRP runs on as it was
        writeFileSync(join(dir, 'A.vrrp.conf'), 'vrrp_instance VI_1 {\n priority 999\n');
        A.bg!.signal('SIGHUP');
        await until(() => /SIGHUP: VRRP not reloaded: .*it runs as it was/.test(A.bg!.err), 5000, () => `the refusal: ${A.bg!.err}`);
        assert.equal(A.state(), 'MASTER');
      });

      await t.test('unicast peers (v3): election and failover without multicast', async (t) => {
        await A.kill('SIGTERM');
        await B.kill('SIGTERM');
        const mark = cap.frames().length;
        await A.start(keepalivedConf({ priority: 150, version: 3, unicast: [A.ip, B.ip] }), 'conf');
        await B.start(keepalivedConf({ priority: 100, version: 3, unicast: [B.ip, A.ip] }), 'conf');
        await A.waitState('MASTER', 8000);
        await sleep(2500);
        assert.equal(B.state(), 'BACKUP');
        assert.equal(B.status()!.vrrp!.instances[0].master, A.ip);
        assert.ok(B.status()!.vrrp!.instances[0].counters.advertsReceived >= 2);
        assert.equal(B.status()!.vrrp!.drops.checksum, 0, 'the v3 checksum covers the unicast destination');
        await curlVip(lab);
        assert.equal(await vipMac(lab), A.mac);
        // no multicast adverts on the client's segment (unicast to the peer only)
        assert.equal(cap.frames().slice(mark).filter((f) => f.ip?.proto === 112 && f.ip.dst === '224.0.0.18').length, 0);
        await A.kill('SIGTERM');
        const ms = await B.waitState('MASTER', 3000);
        await until(async () => (await vipMac(lab)) === B.mac, 5000, 'VIP at B');
        await curlVip(lab);
        record(t, 'unicast_priority0_failover_seen_in_status_ms', ms);
      });

      await t.test('interop with keepalived --vrrp (v3, and v2 with PASS): tsvs master / keepalived backup, and the reverse; failover both ways', { skip: existsSync(KEEPALIVED) ? undefined : 'keepalived not installed' }, async (t) => {
        await A.kill('SIGTERM');
        await B.kill('SIGTERM');
        const K = new Keepalived(d2.ns, dir);
        const hasVip = async () => (await nsRun(d2.ns, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(`${VIP}/32`);
        try {
          // (a) tsvs 150 master, keepalived 100 backup
          await A.start(keepalivedConf({ priority: 150, version: 3 }), 'conf');
          await A.waitState('MASTER', 8000);
          await K.start(keepalivedConf({ priority: 100, version: 3 }));
          await K.waitState('BACKUP', 5000);
          await sleep(4500); // keepalived would become master if it did not accept our adverts
          assert.equal(K.state(), 'BACKUP', 'keepalived accepts tsvs adverts');
          assert.equal(A.state(), 'MASTER', 'tsvs accepts keepalived adverts (or none arrive)');
          assert.equal(await hasVip(), false);
          await curlVip(lab);
          assert.equal(await vipMac(lab), A.mac);
          assert.equal(A.status()!.vrrp!.drops.checksum, 0);
          assert.doesNotMatch(K.log, /checksum|invalid|mismatch|wrong|bad /i, 'keepalived has no complaint about tsvs adverts');

          let mark = cap.frames().length;
          await A.kill('SIGKILL');
          await K.waitState('MASTER', 6000);
          await until(hasVip, 3000, 'keepalived adds the VIP');
          await until(async () => (await vipMac(lab)) === d2.mac, 5000, 'the client learns the VIP at keepalived');
          await sleep(300);
          record(t, 'interop_tsvs_to_keepalived_failover', failoverTimes(cap.frames(), mark, A.ip, d2.ip, d2.mac));

          // tsvs comes back with the higher priority: preempts keepalived
          await A.start(keepalivedConf({ priority: 150, version: 3 }), 'conf');
          await A.waitState('MASTER', 8000);
          await K.waitState('BACKUP', 3000);
          await until(async () => !(await hasVip()), 3000, 'keepalived removes the VIP');
          await until(async () => (await vipMac(lab)) === A.mac, 8000, 'the VIP back at tsvs');
          await curlVip(lab);
          await K.stop();

          // (b) keepalived 200 master, tsvs 150 backup
          await K.start(keepalivedConf({ priority: 200, version: 3 }));
          await K.waitState('MASTER', 8000);
          await A.waitState('BACKUP', 3000);
          await sleep(4500);
          assert.equal(A.state(), 'BACKUP', 'tsvs accepts keepalived adverts');
          assert.equal(A.status()!.vrrp!.instances[0].master, d2.ip);
          assert.equal(K.state(), 'MASTER');
          await until(async () => (await vipMac(lab)) === d2.mac, 5000, 'VIP at keepalived');
          mark = cap.frames().length;
          await K.stop(); // priority 0
          const ms = await A.waitState('MASTER', 4000);
          await until(async () => (await vipMac(lab)) === A.mac, 5000, 'the VIP back at tsvs');
          await curlVip(lab);
          await sleep(300);
          record(t, 'interop_keepalived_to_tsvs_failover', { ...failoverTimes(cap.frames(), mark, d2.ip, A.ip, A.mac), observedByPollMs: ms });

          // (c) VRRPv2 with PASS authentication: keepalived 200 master, tsvs 150 backup, then
          // keepalived 100 backup under tsvs 150
          await A.kill('SIGTERM');
          await A.start(keepalivedConf({ priority: 150, version: 2, auth: true }), 'conf');
          await K.start(keepalivedConf({ priority: 200, version: 2, auth: true }));
          await K.waitState('MASTER', 8000);
          await sleep(4500);
          assert.equal(A.state(), 'BACKUP', 'tsvs accepts keepalived v2 PASS adverts');
          assert.equal(A.status()!.vrrp!.drops.auth, 0);
          await K.stop();
          await A.waitState('MASTER', 4000);
          await K.start(keepalivedConf({ priority: 100, version: 2, auth: true }));
          await K.waitState('BACKUP', 5000);
          await sleep(4500);
          assert.equal(K.state(), 'BACKUP', 'keepalived accepts tsvs v2 PASS adverts');
          assert.equal(A.state(), 'MASTER');
          assert.doesNotMatch(K.log, /checksum|invalid|mismatch|wrong|bad /i, 'keepalived has no complaint about tsvs v2 adverts');
        } finally {
          await K.stop();
        }
      });
    } finally {
      await started.stopAll(3000);
      writeFileSync(join(tmpdir(), 'tsvs-vrrp-results.json'), `${JSON.stringify(results.values, null, 2)}\n`);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Recomputes the IPv4 header checksum after a change (TTL). */
function fixIpSum(p: Uint8Array): void {
  p[10] = 0;
  p[11] = 0;
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (p[i] << 8) | p[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  p[10] = c >> 8;
  p[11] = c & 0xff;
}
