// Sync following VRRP (src/ha/follow.ts) with a fake SyncManager (which daemons run) and,
// for the end-to-end cases, a real VrrpInstance on a fake clock: each state change starts
// and stops the right daemons, active-active runs both, the catch-up starts at start and
// again after FAULT, markers reach it, and the hold keeps an instance from preempting (or an
// address owner from taking over after FAULT) until it is caught up.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { SyncFollower, type SyncDaemons, type SyncFollowConfig } from '../../src/ha/follow';
import type { SyncDaemonConfig, SyncState } from '../../src/ha/sync/manager';
import type { VrrpInstanceConfig, VrrpState } from '../../src/ha/vrrp/config';
import { VrrpInstance } from '../../src/ha/vrrp/instance';
import { AUTH_NONE, type Advert } from '../../src/ha/vrrp/packet';
import { FakeClock, PEER, US, VIP, instanceConfig } from './vrrp-fixtures';

class FakeSync implements SyncDaemons {
  readonly running = new Map<SyncState, SyncDaemonConfig>();
  readonly calls: string[] = [];
  onBackupMessage: ((entries: number) => void) | null = null;
  failStart = false;
  start(spec: SyncDaemonConfig): void {
    if (this.failStart) throw new Error('No such device');
    if (this.running.has(spec.state)) throw new Error('Daemon has already run');
    this.running.set(spec.state, spec);
    this.calls.push(`start ${spec.state}`);
  }
  stop(state: SyncState): void {
    if (!this.running.delete(state)) throw new Error('No daemon is running');
    this.calls.push(`stop ${state}`);
  }
  isRunning(state: SyncState): boolean {
    return this.running.has(state);
  }
  get on(): string {
    return ['master', 'backup'].filter((s) => this.running.has(s as SyncState)).join('+') || 'none';
  }
}

function followCfg(over: Partial<SyncFollowConfig> = {}): SyncFollowConfig {
  return {
    instance: 'VI_1', daemon: { mcastIfn: 'eth0', syncid: 51, group: '', peers: [] }, activeActive: false, catchUp: true, catchUpTimeoutSec: 60, ...over,
  };
}

function make(over: Partial<SyncFollowConfig> = {}) {
  const sync = new FakeSync();
  const logs: string[] = [];
  const f = new SyncFollower(sync, followCfg(over), (m) => logs.push(m));
  return { sync, f, logs };
}

test.beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
test.afterEach(() => mock.timers.reset());

test('follow: start runs the backup only and starts the catch-up', () => {
  const { sync, f } = make();
  f.start();
  assert.equal(sync.on, 'backup');
  assert.equal(f.catchUp?.status().phase, 'waiting');
  assert.equal(f.holdPreempt('VI_1'), true);
  assert.equal(f.holdPreempt('VI_2'), false, 'only the followed instance is held');
  assert.equal(sync.running.get('backup')!.syncid, 51, 'the daemon settings are passed through');
});

test('follow: MASTER = master only, BACKUP and FAULT = backup only, INIT = none', () => {
  const { sync, f } = make();
  f.start();
  const steps: Array<[VrrpState, VrrpState, string]> = [
    ['INIT', 'BACKUP', 'backup'],
    ['BACKUP', 'MASTER', 'master'],
    ['MASTER', 'BACKUP', 'backup'],
    ['BACKUP', 'MASTER', 'master'],
    ['MASTER', 'FAULT', 'backup'],
    ['FAULT', 'INIT', 'none'],
    ['INIT', 'BACKUP', 'backup'],
    ['BACKUP', 'INIT', 'none'],
  ];
  for (const [from, to, want] of steps) {
    f.onState('VI_1', from, to);
    assert.equal(sync.on, want, `${from} -> ${to}`);
    assert.equal(f.status().vrrpState, to);
  }
  f.onState('VI_2', 'BACKUP', 'MASTER');
  assert.equal(sync.on, 'none', 'another instance changes nothing');
});

test('follow: active-active runs master and backup in every running state', () => {
  const { sync, f } = make({ activeActive: true });
  f.start();
  assert.equal(sync.on, 'master+backup');
  for (const [from, to] of [['INIT', 'BACKUP'], ['BACKUP', 'MASTER'], ['MASTER', 'FAULT'], ['FAULT', 'INIT']] as Array<[VrrpState, VrrpState]>) {
    f.onState('VI_1', from, to);
    assert.equal(sync.on, to === 'INIT' ? 'none' : 'master+backup', `${from} -> ${to}`);
  }
  assert.equal(f.status().activeActive, true);
});

test('follow: switching does not restart a daemon that should keep running', () => {
  const { sync, f } = make({ activeActive: true });
  f.start();
  sync.calls.length = 0;
  f.onState('VI_1', 'INIT', 'BACKUP');
  f.onState('VI_1', 'BACKUP', 'MASTER');
  f.onState('VI_1', 'MASTER', 'BACKUP');
  assert.deepEqual(sync.calls, []);
});

test('follow: a daemon that cannot start is logged, not thrown', () => {
  const { sync, f, logs } = make();
  sync.failStart = true;
  f.start();
  assert.equal(sync.on, 'none');
  assert.ok(logs.some((l) => /sync backup: cannot start: No such device/.test(l)));
});

test('follow: markers reach the catch-up through the backup hook; MASTER before that is "not needed"', () => {
  const { sync, f } = make();
  f.start();
  sync.onBackupMessage!(10);
  sync.onBackupMessage!(0);
  sync.onBackupMessage!(0);
  assert.equal(f.catchUp?.status().phase, 'caught_up');
  assert.equal(f.holdPreempt('VI_1'), false);

  const b = make();
  b.f.start();
  b.f.onState('VI_1', 'INIT', 'BACKUP');
  b.f.onState('VI_1', 'BACKUP', 'MASTER');
  assert.equal(b.f.catchUp?.status().phase, 'not_needed');
});

test('follow: FAULT -> INIT -> BACKUP starts a new catch-up; a plain stop does not', () => {
  const { f, sync } = make();
  f.start();
  sync.onBackupMessage!(0);
  sync.onBackupMessage!(0); // caught up
  f.onState('VI_1', 'INIT', 'BACKUP');
  f.onState('VI_1', 'BACKUP', 'FAULT');
  assert.equal(f.holdPreempt('VI_1'), true, 'from FAULT on, the hold is on');
  f.onState('VI_1', 'FAULT', 'INIT');
  assert.equal(f.holdPreempt('VI_1'), true, 'still on between INIT and BACKUP');
  f.onState('VI_1', 'INIT', 'BACKUP');
  assert.equal(f.catchUp?.status().phase, 'waiting');
  assert.equal(f.catchUp?.counters.started, 2);
  mock.timers.tick(60_000);
  assert.equal(f.catchUp?.status().phase, 'timed_out', 'the new catch-up has its own timeout');
  assert.equal(f.holdPreempt('VI_1'), false);

  const s = make();
  s.f.start();
  s.f.onState('VI_1', 'INIT', 'BACKUP');
  s.f.onState('VI_1', 'BACKUP', 'INIT'); // instance stopped
  assert.equal(s.f.holdPreempt('VI_1'), false);
  assert.equal(s.f.catchUp?.counters.started, 1);
});

test('follow: without catch-up nothing is ever held', () => {
  const { f } = make({ catchUp: false });
  f.start();
  assert.equal(f.catchUp, null);
  assert.equal(f.holdPreempt('VI_1'), false);
  f.onState('VI_1', 'BACKUP', 'FAULT');
  assert.equal(f.holdPreempt('VI_1'), false);
  assert.equal(f.status().catchUp, null);
});

// ------------------------------------------------------------ with a real VRRP instance

const instCfg = instanceConfig;

function pair(over: Partial<VrrpInstanceConfig>, catchUpTimeoutSec = 60) {
  const { sync, f } = make({ catchUpTimeoutSec });
  const clock = new FakeClock();
  const inst = new VrrpInstance(instCfg(over), US, clock, {
    send: () => {},
    onState: (from, to) => f.onState('VI_1', from, to),
    onDrop: () => {},
    holdPreempt: () => f.holdPreempt('VI_1'),
  });
  const advert = (priority: number): Advert => ({ version: 3, vrid: 51, priority, intervalCs: 100, addrs: [VIP], authType: AUTH_NONE, authData: new Uint8Array(8) });
  /** A lower-priority master advertising every second for `ms`. */
  const master = (ms: number) => {
    for (let t = 0; t < ms; t += 1000) {
      inst.receive(advert(50), PEER);
      clock.advance(1000);
      mock.timers.tick(1000);
    }
  };
  return { sync, f, inst, clock, master };
}

test('follow + VRRP: a higher-priority node does not preempt a live master until caught up', () => {
  const p = pair({ priority: 200 });
  p.f.start();
  p.inst.start();
  assert.equal(p.inst.state, 'BACKUP');
  p.master(10_000);
  assert.equal(p.inst.state, 'BACKUP', 'held behind the lower-priority master');
  assert.ok(p.inst.counters.preemptHeld > 0);
  p.sync.onBackupMessage!(0);
  p.sync.onBackupMessage!(0);
  p.master(5_000);
  assert.equal(p.inst.state, 'MASTER', 'caught up: preempts');
  assert.equal(p.sync.on, 'master');
  assert.equal(p.f.catchUp?.status().phase, 'caught_up');
});

test('follow + VRRP: the timeout lifts the hold and the node preempts (counted timed_out)', () => {
  const p = pair({ priority: 200 }, 20);
  p.f.start();
  p.inst.start();
  p.master(19_000);
  assert.equal(p.inst.state, 'BACKUP');
  p.master(6_000);
  assert.equal(p.inst.state, 'MASTER');
  assert.equal(p.f.catchUp?.counters.timedOut, 1);
});

test('follow + VRRP: with no master heard the node becomes MASTER; the catch-up ends "not needed"', () => {
  const p = pair({ priority: 200 });
  p.f.start();
  p.inst.start();
  p.clock.advance(10_000);
  assert.equal(p.inst.state, 'MASTER');
  assert.equal(p.f.catchUp?.status().phase, 'not_needed');
  assert.equal(p.sync.on, 'master');
});

test('follow + VRRP: an address owner back from FAULT goes BACKUP and catches up before taking over', () => {
  const p = pair({ priority: 255 });
  p.f.start();
  p.inst.start();
  assert.equal(p.inst.state, 'BACKUP', 'priority 255 holds at start while catching up');
  p.sync.onBackupMessage!(0);
  p.sync.onBackupMessage!(0);
  p.master(4_000);
  assert.equal(p.inst.state, 'MASTER');
  p.inst.setFault(true);
  assert.equal(p.sync.on, 'backup');
  p.inst.setFault(false);
  assert.equal(p.inst.state, 'BACKUP', 'back from FAULT: catching up first');
  assert.equal(p.f.catchUp?.status().phase, 'waiting');
  assert.equal(p.f.catchUp?.counters.started, 2);
  p.master(10_000);
  assert.equal(p.inst.state, 'BACKUP');
  p.sync.onBackupMessage!(0);
  p.sync.onBackupMessage!(0);
  p.master(5_000);
  assert.equal(p.inst.state, 'MASTER');
});
