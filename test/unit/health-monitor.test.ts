// The health monitor's state logic over a real ServiceTable, with real HTTP servers on
// 127.0.0.1 and short check intervals: removal / quiescing after failurecount failures,
// restore, fallback and fallbackcommand, the concurrency bound, update() and stop().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Addr } from '../../src/core/addr';
import { AF_INET, FWD_MASQ, IPPROTO_TCP } from '../../src/core/constants';
import { ServiceTable } from '../../src/core/services';
import { HealthMonitor, type HealthEvent } from '../../src/health/monitor';
import type { HealthConfig, RealSpec, VirtualSpec } from '../../src/health/types';

const VIP = Addr.parse('192.0.2.100')!;
const LO = Addr.parse('127.0.0.1')!;

function real(port: number, weight = 3): RealSpec {
  return { addr: LO, port, fwd: FWD_MASQ, weight, uThreshold: 10, lThreshold: 5, line: 1 };
}

function virtual(reals: RealSpec[], extra: Partial<VirtualSpec> = {}): VirtualSpec {
  return {
    service: { af: AF_INET, proto: IPPROTO_TCP, addr: VIP, port: 80, fwmark: 0, scheduler: 'wrr' },
    protocol: 'tcp', reals, checktype: 'negotiate', combinedCount: 0, checkService: 'http', checkport: 0,
    request: '/', receive: '', httpmethod: 'GET', virtualhost: '', login: '', passwd: '', database: '', secret: '',
    checkcommand: '/bin/true', checktimeout: 1, negotiatetimeout: 1, checkinterval: 0.1, checkcount: 1, failurecount: 1,
    quiescent: false, fallback: null, fallbackcommand: '', line: 1, ...extra,
  };
}

function config(virtuals: VirtualSpec[], extra: Partial<HealthConfig> = {}): HealthConfig {
  return { checkinterval: 1, autoreload: false, readdquiescent: false, logfile: '', callback: '', cleanstop: true, maintenancedir: '', virtuals, ...extra };
}

/** An HTTP server that can be stopped and started again on the same port. */
class Backend {
  server: http.Server | null = null;
  port = 0;
  constructor(private readonly delayMs = 0) {}
  async start(): Promise<this> {
    const s = http.createServer((_q, r) => {
      if (this.delayMs) setTimeout(() => r.end('ok'), this.delayMs).unref();
      else r.end('ok');
    });
    await new Promise<void>((res) => s.listen(this.port, '127.0.0.1', res));
    this.port = (s.address() as AddressInfo).port;
    this.server = s;
    return this;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

function weightOf(table: ServiceTable, port: number): number | null {
  const svc = table.find({ af: AF_INET, proto: IPPROTO_TCP, addr: VIP, port: 80, fwmark: 0 });
  const d = svc?.dests.find((x) => x.port === port);
  return d ? d.weight : null;
}

test('quiescent=no: removed after failurecount failures, re-added when back; fallback and fallbackcommand', async () => {
  const b = await new Backend().start();
  const table = new ServiceTable();
  const logs: string[] = [];
  const events: HealthEvent[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-fb-'));
  const out = join(dir, 'fallback.log');
  const fb = Addr.parse('127.0.0.2')!;
  const v = virtual([real(b.port)], {
    failurecount: 3,
    fallback: { addr: fb, port: 8080, fwd: FWD_MASQ },
    fallbackcommand: `sh -c 'echo "$*" >>${out}' x`,
  });
  const mon = new HealthMonitor(table, config([v]), (m) => logs.push(m), { onChange: (e) => events.push(e) });
  mon.start();
  try {
    await until('real up', () => weightOf(table, b.port) === 3);
    const svc = table.find(v.service)!;
    assert.equal(svc.dests.find((d) => d.port === b.port)!.uThreshold, 10);
    assert.ok(logs.includes(`real server 127.0.0.1:${b.port} (TCP 192.0.2.100:80) up`), logs.join('\n'));
    await b.stop();
    const failuresBefore = mon.counters.checkFailures;
    await until('real removed', () => weightOf(table, b.port) === null);
    assert.ok(mon.counters.checkFailures - failuresBefore >= 3, 'took failurecount failures');
    assert.ok(logs.some((l) => l.startsWith(`real server 127.0.0.1:${b.port} (TCP 192.0.2.100:80) down: `)), logs.join('\n'));
    await until('fallback added', () => weightOf(table, 8080) === 1);
    assert.equal(mon.counters.fallbackActivations, 1);
    await until('fallbackcommand start', () => existsSync(out));
    await b.start();
    await until('real back', () => weightOf(table, b.port) === 3);
    await until('fallback removed', () => weightOf(table, 8080) === null);
    await until('fallbackcommand stop', () => readFileSync(out, 'utf8').split('\n').length >= 3);
    assert.equal(readFileSync(out, 'utf8'), 'start 192.0.2.100:80 tcp\nstop 192.0.2.100:80 tcp\n');
    assert.equal(mon.counters.transitionsDown, 1);
    assert.equal(mon.counters.transitionsUp, 2);
    assert.deepEqual(events.map((e) => e.kind), ['up', 'down', 'fallback-on', 'up', 'fallback-off']);
  } finally {
    await mon.stop();
    await b.stop();
  }
});

test('quiescent=yes: weight 0 (thresholds reset) when down, weight restored when back; readdquiescent', async () => {
  const b = await new Backend().start();
  const table = new ServiceTable();
  const v = virtual([real(b.port, 5)], { quiescent: true });
  const mon = new HealthMonitor(table, config([v], { readdquiescent: true }), () => {});
  mon.start();
  try {
    await until('real up', () => weightOf(table, b.port) === 5);
    await b.stop();
    await until('quiesced', () => weightOf(table, b.port) === 0);
    const d = table.find(v.service)!.dests.find((x) => x.port === b.port)!;
    assert.equal(d.uThreshold, 0);
    assert.equal(d.lThreshold, 0);
    table.deleteDest(v.service, LO, b.port);
    await until('re-added quiescent', () => weightOf(table, b.port) === 0);
    await b.start();
    await until('restored', () => weightOf(table, b.port) === 5);
    assert.equal(table.find(v.service)!.dests.find((x) => x.port === b.port)!.uThreshold, 10);
  } finally {
    await mon.stop();
    await b.stop();
  }
});

test('checktype on adds reals unchecked; off adds nothing; the service is created', async () => {
  const table = new ServiceTable();
  const on = virtual([real(1111), real(2222)], { checktype: 'on' });
  const off = virtual([real(3333)], { checktype: 'off', service: { ...on.service, port: 81 }, fallback: { addr: LO, port: 9, fwd: FWD_MASQ } });
  const mon = new HealthMonitor(table, config([on, off]), () => {});
  mon.start();
  try {
    assert.equal(weightOf(table, 1111), 3);
    assert.equal(weightOf(table, 2222), 3);
    const svc81 = table.find(off.service)!;
    assert.ok(svc81);
    await sleep(300);
    assert.equal(svc81.dests.length, 0);
    assert.equal(mon.counters.checksRun, 0);
  } finally {
    await mon.stop();
  }
});

test('the bound on checks in flight is respected, and stop() cancels slow checks promptly', async () => {
  const b = await new Backend(3000).start();
  const table = new ServiceTable();
  let active = 0;
  let peak = 0;
  const srv = b.server!;
  srv.on('request', () => {
    active++;
    peak = Math.max(peak, active);
  });
  srv.on('connection', (s) => s.on('close', () => active--));
  // Ten reals (distinct real ports; checkport points them all at the slow server).
  const reals = Array.from({ length: 10 }, (_, i) => real(20000 + i));
  const v = virtual(reals, { checkport: b.port, negotiatetimeout: 5, checktimeout: 5, checkinterval: 0.05 });
  const mon = new HealthMonitor(table, config([v]), () => {}, { maxInFlight: 3 });
  mon.start();
  try {
    await sleep(500);
    assert.equal(mon.inFlight, 3);
    assert.equal(peak, 3);
    const t0 = Date.now();
    await mon.stop();
    assert.ok(Date.now() - t0 < 500, `stop took ${Date.now() - t0} ms`);
    assert.equal(mon.inFlight, 0);
  } finally {
    await mon.stop();
    await b.stop();
  }
});

test('update(): unchanged reals keep state, removed reals leave, new reals are checked', async () => {
  const a = await new Backend().start();
  const b = await new Backend().start();
  const table = new ServiceTable();
  const logs: string[] = [];
  const mon = new HealthMonitor(table, config([virtual([real(a.port)])]), (m) => logs.push(m));
  mon.start();
  try {
    await until('a up', () => weightOf(table, a.port) === 3);
    const upsBefore = mon.counters.transitionsUp;
    mon.update(config([virtual([real(a.port, 7), real(b.port)])]));
    assert.equal(weightOf(table, a.port), 7, 'weight change applied at once');
    await until('b up', () => weightOf(table, b.port) === 3);
    assert.equal(mon.counters.transitionsUp, upsBefore + 1, 'a kept its state');
    mon.update(config([virtual([real(b.port)])]));
    assert.equal(weightOf(table, a.port), null);
    mon.update(config([]));
    assert.equal(table.find(virtual([]).service), undefined);
  } finally {
    await mon.stop();
    await a.stop();
    await b.stop();
  }
});
