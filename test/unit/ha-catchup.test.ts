// The catch-up rule (src/ha/catchup.ts) with node:test's fake timers (setTimeout and Date):
// two end-of-walk markers end it (the first only starts the full pass), entries are counted,
// the timeout lifts the hold anyway and is counted, becoming MASTER ends it as "not needed",
// a restart resets it, and messages outside a catch-up change nothing.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { CatchUp } from '../../src/ha/catchup';

function make(timeoutSec = 60) {
  const logs: string[] = [];
  const cu = new CatchUp({ timeoutSec, log: (m) => logs.push(m) });
  return { cu, logs };
}

test.beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
test.afterEach(() => mock.timers.reset());

test('catch-up: idle until started; holds after start; messages while idle are ignored', () => {
  const { cu } = make();
  assert.equal(cu.holding, false);
  cu.onMessage(0);
  cu.onMessage(0);
  assert.equal(cu.status().phase, 'idle');
  assert.equal(cu.status().markers, 0);
  cu.start('director start');
  assert.equal(cu.holding, true);
  assert.equal(cu.status().phase, 'waiting');
  assert.equal(cu.status().secondsLeft, 60);
  assert.equal(cu.counters.started, 1);
});

test('catch-up: the first marker starts the full pass, the second ends the hold', () => {
  const { cu, logs } = make();
  cu.start('director start');
  cu.onMessage(30); // the tail of a pass we saw only partly
  cu.onMessage(0);
  assert.equal(cu.status().phase, 'walk_started');
  assert.equal(cu.holding, true, 'one marker is not enough: the pass before it was partial');
  mock.timers.tick(4_000);
  cu.onMessage(100);
  cu.onMessage(20);
  assert.equal(cu.holding, true);
  cu.onMessage(0);
  const s = cu.status();
  assert.equal(s.phase, 'caught_up');
  assert.equal(cu.holding, false);
  assert.equal(s.connsReceived, 150);
  assert.equal(s.markers, 2);
  assert.equal(s.secondsLeft, 0);
  assert.deepEqual(s.counters, { started: 1, caughtUp: 1, timedOut: 0, notNeeded: 0 });
  assert.match(s.outcome, /150 conns in 4\.0 s/);
  assert.ok(logs.some((l) => /caught up/.test(l)));
  // the timer was cancelled: the timeout does not fire later
  mock.timers.tick(120_000);
  assert.equal(cu.status().phase, 'caught_up');
  assert.equal(cu.counters.timedOut, 0);
});

test('catch-up: with no marker the timeout lifts the hold anyway, logged and counted', () => {
  const { cu, logs } = make(30);
  cu.start('director start');
  cu.onMessage(12); // a kernel master: entries, never a marker
  mock.timers.tick(10_000);
  assert.equal(cu.status().secondsLeft, 20);
  mock.timers.tick(19_999);
  assert.equal(cu.holding, true);
  mock.timers.tick(1);
  assert.equal(cu.holding, false);
  const s = cu.status();
  assert.equal(s.phase, 'timed_out');
  assert.equal(s.counters.timedOut, 1);
  assert.match(s.outcome, /no full table walk received in 30 s.*12 conns received/);
  assert.ok(logs.some((l) => /timed out/.test(l)));
  // markers after the end change nothing
  cu.onMessage(0);
  cu.onMessage(0);
  assert.equal(cu.status().phase, 'timed_out');
  assert.equal(cu.counters.caughtUp, 0);
});

test('catch-up: one marker then the timeout is still a timeout', () => {
  const { cu } = make(5);
  cu.start('x');
  cu.onMessage(0);
  mock.timers.tick(5_000);
  assert.equal(cu.status().phase, 'timed_out');
});

test('catch-up: becoming MASTER while holding ends it as not needed; not when already ended', () => {
  const { cu } = make();
  cu.start('director start');
  cu.becameMaster();
  assert.equal(cu.status().phase, 'not_needed');
  assert.equal(cu.counters.notNeeded, 1);
  mock.timers.tick(120_000);
  assert.equal(cu.counters.timedOut, 0, 'the timer was cancelled');
  cu.start('again');
  cu.onMessage(0);
  cu.onMessage(0);
  cu.becameMaster();
  assert.equal(cu.status().phase, 'caught_up');
  assert.deepEqual(cu.counters, { started: 2, caughtUp: 1, timedOut: 0, notNeeded: 1 });
});

test('catch-up: a restart resets markers, entries and the timeout', () => {
  const { cu } = make(10);
  cu.start('director start');
  cu.onMessage(5);
  cu.onMessage(0);
  mock.timers.tick(8_000);
  cu.start('interface back from FAULT');
  const s = cu.status();
  assert.equal(s.phase, 'waiting');
  assert.equal(s.markers, 0);
  assert.equal(s.connsReceived, 0);
  assert.equal(s.secondsLeft, 10);
  mock.timers.tick(8_000);
  assert.equal(cu.holding, true, 'the first timer was replaced, not kept');
  cu.onMessage(0);
  assert.equal(cu.holding, true, 'a marker from before the restart does not count');
  mock.timers.tick(2_000);
  assert.equal(cu.status().phase, 'timed_out');
  assert.equal(cu.counters.started, 2);
  assert.equal(cu.counters.timedOut, 1);
});

test('catch-up: stop() lifts the hold without an outcome and cancels the timer', () => {
  const { cu } = make(10);
  cu.start('director start');
  cu.stop();
  assert.equal(cu.holding, false);
  assert.equal(cu.status().phase, 'idle');
  mock.timers.tick(20_000);
  assert.deepEqual(cu.counters, { started: 1, caughtUp: 0, timedOut: 0, notNeeded: 0 });
});
