// src/ha/vrrp/instance.ts with a fake clock: start-up, Master_Down_Interval and skew,
// preemption on / off / delayed, priority 0 on shutdown, ties, fault; and vrrp.ts's
// dispatching: malformed or foreign packets are counted by reason and change nothing.
import { ScriptCheck, trackOutcome } from '../../src/ha/vrrp/track';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VrrpInstanceConfig, VrrpState } from '../../src/ha/vrrp/config';
import { VrrpInstance } from '../../src/ha/vrrp/instance';
import { AUTH_NONE, AUTH_PASS, encodePacket, passAuthData, type Advert } from '../../src/ha/vrrp/packet';
import { VrrpRunner } from '../../src/ha/vrrp/vrrp';
import { FakeClock, PEER, US, VIP, instanceConfig } from './vrrp-fixtures';

const cfg = instanceConfig;

function make(over: Partial<VrrpInstanceConfig> = {}) {
  const clock = new FakeClock();
  const sent: Advert[] = [];
  const states: [VrrpState, VrrpState, string][] = [];
  const drops: string[] = [];
  const inst = new VrrpInstance(cfg(over), US, clock, {
    send: (a) => sent.push(a),
    onState: (f, t, why) => states.push([f, t, why]),
    onDrop: (r) => drops.push(r),
  });
  return { clock, sent, states, drops, inst };
}

const advert = (priority: number, over: Partial<Advert> = {}): Advert => ({
  version: 3, vrid: 51, priority, intervalCs: 100, addrs: [VIP], authType: AUTH_NONE, authData: new Uint8Array(8), ...over,
});

test('skew and Master_Down_Interval: v3 scales with the interval, v2 in seconds', () => {
  const a = make({ priority: 100 }).inst;
  assert.equal(a.skewMs(), (156 * 1000) / 256); // 609.375 ms
  assert.equal(a.masterDownMs(), 3000 + 609.375);
  const b = make({ priority: 200, advertIntCs: 50 }).inst;
  assert.equal(b.skewMs(), (56 * 500) / 256);
  assert.equal(b.masterDownMs(), 1500 + (56 * 500) / 256);
  const c = make({ priority: 254, version: 2 }).inst;
  assert.equal(c.skewMs(), 2000 / 256);
});

test('alone: BACKUP, then MASTER after Master_Down_Interval, adverts every interval', () => {
  const { clock, sent, inst } = make({ priority: 100 });
  inst.start();
  assert.equal(inst.state, 'BACKUP');
  clock.advance(3609);
  assert.equal(inst.state, 'BACKUP');
  clock.advance(1);
  assert.equal(inst.state, 'MASTER');
  assert.equal(sent.length, 1);
  clock.advance(3000);
  assert.equal(sent.length, 4);
  assert.ok(sent.every((a) => a.priority === 100 && a.vrid === 51 && a.intervalCs === 100));
});

test('priority 255 and state MASTER start as MASTER at once', () => {
  for (const over of [{ priority: 255 }, { initialState: 'MASTER' as const }]) {
    const { inst, sent } = make(over);
    inst.start();
    assert.equal(inst.state, 'MASTER');
    assert.equal(sent.length, 1);
  }
});

test('backup: the master adverts keep it BACKUP; silence makes it MASTER within 3 intervals + skew', () => {
  const { clock, inst } = make({ priority: 100 });
  inst.start();
  for (let i = 0; i < 10; i++) {
    clock.advance(1000);
    inst.receive(advert(150), PEER);
  }
  assert.equal(inst.state, 'BACKUP');
  assert.equal(inst.masterIp, PEER);
  clock.advance(3609);
  assert.equal(inst.state, 'BACKUP');
  clock.advance(1);
  assert.equal(inst.state, 'MASTER');
});

test('v3 backup adopts the master advertised interval', () => {
  const { clock, inst } = make({ priority: 100 });
  inst.start();
  inst.receive(advert(150, { intervalCs: 200 }), PEER);
  assert.equal(inst.masterAdverCs, 200);
  clock.advance(6000 + (156 * 2000) / 256 - 1);
  assert.equal(inst.state, 'BACKUP');
  clock.advance(2);
  assert.equal(inst.state, 'MASTER');
});

test('priority 0 from the master: the backup takes over after Skew_Time only', () => {
  const { clock, inst } = make({ priority: 100 });
  inst.start();
  inst.receive(advert(150), PEER);
  clock.advance(500);
  inst.receive(advert(0), PEER);
  clock.advance(610);
  assert.equal(inst.state, 'MASTER');
  assert.equal(clock.t, 1110);
});

test('stop(): a master sends priority 0 and goes to INIT', () => {
  const { inst, sent, states } = make({ priority: 255 });
  inst.start();
  inst.stop();
  assert.equal(sent.at(-1)!.priority, 0);
  assert.equal(inst.state, 'INIT');
  assert.deepEqual(states.map((s) => s[1]), ['MASTER', 'INIT']);
});

test('master: a higher priority advert makes it BACKUP; a lower one is answered at once', () => {
  const { clock, inst, sent } = make({ priority: 100, initialState: 'MASTER' });
  inst.start();
  const n = sent.length;
  inst.receive(advert(50), PEER);
  assert.equal(inst.state, 'MASTER');
  assert.equal(sent.length, n + 1, 'answered a lower-priority advert');
  inst.receive(advert(200), PEER);
  assert.equal(inst.state, 'BACKUP');
  clock.advance(500);
  assert.equal(inst.state, 'BACKUP');
});

test('equal priorities: the higher IP address wins', () => {
  const low = make({ priority: 100, initialState: 'MASTER' });
  low.inst.start();
  low.inst.receive(advert(100), PEER); // PEER .3 > US .2
  assert.equal(low.inst.state, 'BACKUP');
  const high = make({ priority: 100, initialState: 'MASTER' });
  high.inst.start();
  high.inst.receive(advert(100), 0xc0000201); // .1 < .2
  assert.equal(high.inst.state, 'MASTER');
});

test('preempt (default): a higher-priority backup takes over from a lower master', () => {
  const { clock, inst, states } = make({ priority: 200 });
  let at = -1;
  const onState = states.push.bind(states);
  states.push = (...x) => ((at = x[0][1] === 'MASTER' ? clock.t : at), onState(...x));
  inst.start();
  for (let t = 0; t < 5000; t += 1000) {
    if (inst.state === 'BACKUP') inst.receive(advert(100), PEER);
    clock.advance(1000);
  }
  assert.equal(inst.state, 'MASTER');
  assert.equal(at, 3000 + (56 * 1000) / 256, 'at Master_Down_Interval after start: the adverts did not restart the timer');
});

test('nopreempt: a higher-priority backup stays BACKUP while the master lives', () => {
  const { clock, inst } = make({ priority: 200, preempt: false });
  inst.start();
  for (let i = 0; i < 30; i++) {
    inst.receive(advert(100), PEER);
    clock.advance(1000);
  }
  assert.equal(inst.state, 'BACKUP');
  clock.advance(4000); // the master dies: we take over all the same
  assert.equal(inst.state, 'MASTER');
});

test('preempt_delay: the lower master is tolerated for the delay, then preempted', () => {
  const { clock, inst } = make({ priority: 200, preemptDelaySec: 10 });
  inst.start();
  let masterAt = -1;
  for (let i = 0; i < 30 && masterAt < 0; i++) {
    if (inst.state === 'BACKUP') inst.receive(advert(100), PEER);
    clock.advance(1000);
    if (inst.state === 'MASTER') masterAt = clock.t;
  }
  assert.ok(masterAt >= 10000 && masterAt <= 10000 + 3000 + 250, `took over at ${masterAt} ms`);
});

test('fault: link down gives up mastership; link up comes back as BACKUP (nopreempt keeps it there)', () => {
  const { clock, inst, states } = make({ priority: 200, preempt: false });
  inst.start();
  clock.advance(4000);
  assert.equal(inst.state, 'MASTER');
  inst.setFault(true);
  assert.equal(inst.state, 'FAULT');
  inst.receive(advert(100), PEER); // ignored
  clock.advance(10000);
  assert.equal(inst.state, 'FAULT');
  inst.setFault(false);
  assert.equal(inst.state, 'BACKUP');
  for (let i = 0; i < 10; i++) {
    inst.receive(advert(100), PEER);
    clock.advance(1000);
  }
  assert.equal(inst.state, 'BACKUP');
  assert.deepEqual(states.map((s) => s[1]), ['BACKUP', 'MASTER', 'FAULT', 'INIT', 'BACKUP']);
});

test('instance-level checks: version, auth, v2 interval, address list, own packets: counted, no effect', () => {
  const { clock, inst, drops } = make({ priority: 100, version: 2, authType: AUTH_PASS, authPass: 'secret' });
  inst.start();
  const good = advert(150, { version: 2, authType: AUTH_PASS, authData: passAuthData('secret') });
  inst.receive({ ...good, version: 3 }, PEER);
  inst.receive({ ...good, authData: passAuthData('wrong') }, PEER);
  inst.receive({ ...good, authType: AUTH_NONE }, PEER);
  inst.receive({ ...good, intervalCs: 200 }, PEER);
  inst.receive({ ...good, addrs: [VIP + 1] }, PEER);
  inst.receive(good, US);
  assert.deepEqual(drops, ['version', 'auth', 'auth', 'interval', 'addresses', 'own']);
  assert.equal(inst.counters.advertsReceived, 0);
  clock.advance(3700);
  assert.equal(inst.state, 'MASTER', 'none of them restarted the Master_Down_Timer');
});

test('runner: malformed datagrams and foreign VRIDs are counted by reason; the state is untouched', () => {
  const clock = new FakeClock();
  const active: boolean[] = [];
  const garps: number[][] = [];
  const sentPkts: Uint8Array[] = [];
  const r = new VrrpRunner({ instances: [cfg({ priority: 100 })], warnings: [], scripts: [] }, {
    owner: { setVipsActive: (_v, a) => active.push(a), announceVips: (v) => garps.push(v) },
    log: () => undefined,
    addressOf: () => US,
    clock,
    openSocket: () => ({ send: (p) => sentPkts.push(p), close: () => undefined }),
    linkUp: () => true,
    linkPollMs: 1e9,
  });
  r.start();
  const good = encodePacket(advert(150), PEER, 0xe0000012);
  r.receive('eth0', good);
  const mutations: [(p: Uint8Array) => void, string][] = [
    [(p) => (p[8] = 64), 'ttl'],
    [(p) => (p[20] = 0x21), 'length'], // as v2 it lacks the 8 bytes of authentication data
    [(p) => (p[21] = 52), 'checksum'],
    [(p) => (p[23] = 3), 'length'],
  ];
  for (const [m, reason] of mutations) {
    const p = good.slice();
    m(p);
    r.receive('eth0', p);
    assert.ok(r.drops[reason as keyof typeof r.drops] > 0, reason);
  }
  r.receive('eth0', encodePacket(advert(150, { vrid: 52 }), PEER, 0xe0000012));
  r.receive('eth0', encodePacket(advert(150, { version: 2 }), PEER, 0xe0000012));
  assert.equal(r.drops.vrid, 1);
  assert.equal(r.drops.version, 1);
  assert.equal(r.instances()[0].state, 'BACKUP');
  // they did not restart the timer: silence since the one good advert -> MASTER
  clock.advance(3610);
  assert.equal(r.instances()[0].state, 'MASTER');
  assert.deepEqual(active, [true]);
  assert.equal(garps.length, 5, 'garp_master_repeat rounds at once');
  clock.advance(5000);
  assert.equal(garps.length, 10, 'and again after garp_master_delay');
  r.stop();
  assert.deepEqual(active, [true, false]);
  assert.equal(sentPkts.at(-1)![22], 0, 'priority 0 on stop');
});

test('runner: notify scripts run on BACKUP, MASTER, FAULT and stop, each followed by the generic notify', () => {
  const clock = new FakeClock();
  const runs: string[][] = [];
  const logs: string[] = [];
  const r = new VrrpRunner({
    instances: [cfg({ priority: 100, notify: { master: ['/m.sh', 'a'], backup: ['/b.sh'], fault: ['/f.sh'], stop: ['/s.sh'], any: ['/n.sh'] } })], warnings: [], scripts: [],
  }, {
    owner: { setVipsActive: () => undefined, announceVips: () => undefined },
    log: (m) => logs.push(m),
    addressOf: () => US,
    clock,
    openSocket: () => ({ send: () => undefined, close: () => undefined }),
    linkUp: () => true,
    linkPollMs: 1e9,
    runScript: (argv, _t, done) => {
      runs.push(argv);
      done(argv[0] === '/f.sh' ? 3 : 0, '');
    },
  });
  r.start();
  assert.deepEqual(runs.splice(0), [['/b.sh'], ['/n.sh', 'INSTANCE', 'VI_1', 'BACKUP', '100']]);
  clock.advance(3610);
  assert.deepEqual(runs.splice(0), [['/m.sh', 'a'], ['/n.sh', 'INSTANCE', 'VI_1', 'MASTER', '100']]);
  r.instances()[0].setFault(true);
  assert.deepEqual(runs.splice(0), [['/f.sh'], ['/n.sh', 'INSTANCE', 'VI_1', 'FAULT', '100']]);
  assert.ok(logs.some((l) => l.includes('notify_fault /f.sh: exit status 3')), logs.join('\n'));
  assert.equal(r.scripts.failures, 1);
  r.instances()[0].setFault(false); // through INIT to BACKUP: no script for INIT
  assert.deepEqual(runs.splice(0), [['/b.sh'], ['/n.sh', 'INSTANCE', 'VI_1', 'BACKUP', '100']]);
  r.stop();
  assert.deepEqual(runs.splice(0), [['/s.sh'], ['/n.sh', 'INSTANCE', 'VI_1', 'STOP', '100']]);
});

test('runner: tracking moves the priority by weights and holds FAULT for weight 0 (scripts and interfaces)', () => {
  const clock = new FakeClock();
  const sent: Uint8Array[] = [];
  const logs: string[] = [];
  const exit = new Map<string, number>([['/chk-web', 0], ['/chk-db', 0]]);
  const links = new Map<string, boolean>([['eth0', true], ['eth1', true], ['eth2', true]]);
  const script = (name: string, argv: string, weight: number, rise = 1, fall = 2) => ({ name, line: 1, argv: [argv], intervalSec: 1, timeoutSec: 1, weight, rise, fall });
  const r = new VrrpRunner({
    instances: [cfg({
      priority: 100,
      trackScripts: [{ name: 'web', weight: undefined, line: 1 }, { name: 'db', weight: 0, line: 1 }],
      trackInterfaces: [{ name: 'eth1', weight: 20, line: 1 }, { name: 'eth2', weight: undefined, line: 1 }],
    })],
    warnings: [],
    scripts: [script('web', '/chk-web', -30), script('db', '/chk-db', 50), script('unused', '/x', 0)],
  }, {
    owner: { setVipsActive: () => undefined, announceVips: () => undefined },
    log: (m) => logs.push(m),
    addressOf: () => US,
    clock,
    openSocket: () => ({ send: (p) => sent.push(p), close: () => undefined }),
    linkUp: (i) => links.get(i) ?? false,
    linkPollMs: 1e9,
    runScript: (argv, _t, done) => done(exit.get(argv[0]) ?? 1, ''),
  });
  const inst = r.instances()[0];
  r.start();
  assert.deepEqual([...r.checks.keys()], ['web', 'db'], 'only tracked scripts run');
  // scripts good at once (rise 1); eth1 up: +20; web's -30 applies only when bad; db's weight is overridden to 0
  assert.equal(inst.priority, 120);
  clock.advance(3610);
  assert.equal(inst.state, 'MASTER');
  assert.equal(sent.at(-1)![22], 120, 'the advert carries the tracked priority');
  // web fails: fall 2 -> bad after two runs; priority 120 - 30 = 90, advertised at once
  exit.set('/chk-web', 1);
  clock.advance(1000);
  assert.equal(inst.priority, 120, 'one failure is not enough (fall 2)');
  clock.advance(1000);
  assert.equal(inst.priority, 90);
  assert.equal(sent.at(-1)![22], 90);
  assert.ok(logs.some((l) => l.includes('check script web is now bad')), logs.join('\n'));
  // db (weight 0) fails: FAULT
  exit.set('/chk-db', 1);
  clock.advance(2000);
  assert.equal(inst.state, 'FAULT');
  assert.ok(logs.some((l) => /MASTER -> FAULT: check script db fails/.test(l)), logs.join('\n'));
  exit.set('/chk-db', 0);
  clock.advance(1000);
  assert.equal(inst.state, 'BACKUP', 'back from FAULT when the check is good again');
  // a tracked interface with weight 0 going down: FAULT; eth1 (weight 20) down: -20
  links.set('eth2', false);
  (r as unknown as { pollLinks(f: (i: string) => boolean): void }).pollLinks((i) => links.get(i) ?? false);
  assert.equal(inst.state, 'FAULT');
  links.set('eth2', true);
  links.set('eth1', false);
  (r as unknown as { pollLinks(f: (i: string) => boolean): void }).pollLinks((i) => links.get(i) ?? false);
  assert.equal(inst.state, 'BACKUP');
  assert.equal(inst.priority, 70, '100 - 30 (web bad) + 0 (eth1 down)');
  assert.equal(r.status().instances[0].priority, 70, 'the status shows the tracked priority');
  r.stop();
});

test('tracking: an address owner keeps 255; the priority stays within 1..254', () => {
  const check = (status: 'good' | 'bad', weight: number) => ({ status, cfg: { weight } }) as unknown as ScriptCheck;
  const tr = (priority: number, w: number, st: 'good' | 'bad') =>
    trackOutcome(cfg({ priority, trackScripts: [{ name: 's', weight: undefined, line: 1 }] }), () => true, () => check(st, w)).priority;
  assert.equal(tr(255, -100, 'bad'), 255);
  assert.equal(tr(10, -100, 'bad'), 1);
  assert.equal(tr(250, 100, 'good'), 254);
  assert.equal(tr(100, 100, 'bad'), 100);
});

test('runner: reload changes a master in place (priority, VIPs, advert_int), starts new instances, stops removed ones', () => {
  const clock = new FakeClock();
  const sent: Uint8Array[] = [];
  const logs: string[] = [];
  const active: [number[], boolean][] = [];
  const garps: number[][] = [];
  const VIP2 = 0xc0000265;
  const VIP3 = 0xc0000266;
  const runs: string[][] = [];
  const r = new VrrpRunner({ instances: [cfg({ priority: 100, notify: { stop: ['/stop.sh'] } })], warnings: [], scripts: [] }, {
    owner: { setVipsActive: (v, a) => active.push([v, a]), announceVips: (v) => garps.push(v) },
    log: (m) => logs.push(m),
    addressOf: () => US,
    clock,
    openSocket: () => ({ send: (p) => sent.push(p), close: () => undefined }),
    linkUp: () => true,
    linkPollMs: 1e9,
    runScript: (argv, _t, done) => {
      runs.push(argv);
      done(0, '');
    },
  });
  r.start();
  clock.advance(3610);
  const vi1 = r.instances()[0];
  assert.equal(vi1.state, 'MASTER');
  const transitions = vi1.counters.transitions;
  active.length = 0;
  garps.length = 0;
  // VI_1: priority 100 -> 150, VIP swapped for VIP2, advert_int 2; VI_2 new
  const rep1 = r.reload({
    instances: [cfg({ priority: 150, vips: [VIP2], advertIntCs: 200, notify: { stop: ['/stop.sh'] } }), cfg({ name: 'VI_2', vrid: 52, vips: [VIP3] })], warnings: [], scripts: [],
  });
  assert.deepEqual(rep1, { added: ['VI_2'], changed: ['VI_1'], restarted: [], removed: [] });
  assert.equal(vi1.state, 'MASTER', 'a master stays master');
  assert.equal(vi1.counters.transitions, transitions, 'no state change');
  assert.equal(vi1.priority, 150);
  assert.equal(sent.at(-1)![22], 150, 'the new priority advertised at once');
  assert.deepEqual(active.slice(0, 2), [[[VIP], false], [[VIP2], true]], 'the old VIP given up, the new one taken');
  assert.deepEqual(garps[0], [VIP2], 'and announced');
  assert.deepEqual(active[2], [[VIP3], false], 'a new instance starts with its VIPs on standby');
  const vi2 = r.instances()[1];
  assert.equal(vi2.state, 'BACKUP');
  const before = sent.length;
  clock.advance(2000);
  assert.ok(sent.slice(before).some((p) => p[22] === 150 && p[21] === 51), 'VI_1 adverts every 2 s now');
  // remove VI_1, change VI_2's VRID (restart)
  const rep2 = r.reload({ instances: [cfg({ name: 'VI_2', vrid: 53, vips: [VIP3] })], warnings: [], scripts: [] });
  assert.deepEqual(rep2, { added: [], changed: [], restarted: ['VI_2'], removed: ['VI_1'] });
  assert.equal(vi1.state, 'INIT');
  assert.equal(sent.some((p) => p[21] === 51 && p[22] === 0), true, 'the removed master resigned with priority 0');
  assert.deepEqual(runs.at(-1), ['/stop.sh'], 'notify_stop for the removed instance');
  assert.equal(r.instances().length, 1);
  assert.equal(r.instances()[0].cfg.vrid, 53);
  assert.equal(r.instances()[0].state, 'BACKUP');
  assert.deepEqual(r.allVips(), [VIP3]);
  r.stop();
});
