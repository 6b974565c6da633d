// Prometheus metrics: the series and values a scrape shows for a director with traffic,
// and the /metrics HTTP endpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Addr, parseV4 } from '../../src/core/addr';
import { AF_INET, FWD_DROUTE, FWD_MASQ, IPPROTO_TCP } from '../../src/core/constants';
import { Director } from '../../src/core/director';
import { DROP_NAMES } from '../../src/core/drops';
import { PipelineStats } from '../../src/dataplane/pipeline';
import { TH_ACK, TH_FIN, TH_SYN } from '../../src/conn/tcp-states';
import { parseListen, startMetricsServer } from '../../src/metrics/http';
import { Metrics } from '../../src/metrics/metrics';

const VIP = parseV4('192.0.2.100');
const client = (n: number) => parseV4('198.51.100.1') + n;
const SVC = 'protocol="TCP",vip="192.0.2.100",port="80",fwmark=""';
const A = `${SVC},real_server="192.0.2.11:80",forward="Route"`;
const B = `${SVC},real_server="192.0.2.12:80",forward="Masq"`;

function setup() {
  const d = new Director({ maxConns: 1000 });
  const ref = { af: AF_INET as 2, proto: IPPROTO_TCP, addr: Addr.v4(VIP), port: 80, fwmark: 0 };
  d.services.addService({ ...ref, scheduler: 'rr' });
  d.services.addDest(ref, { addr: Addr.parse('192.0.2.11')!, port: 80, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  d.services.addDest(ref, { addr: Addr.parse('192.0.2.12')!, port: 80, weight: 3, fwd: FWD_MASQ, uThreshold: 0, lThreshold: 0 });
  const pkt = (c: number, port: number, flags: number, bytes: number) => d.inPacket4(IPPROTO_TCP, c, port, VIP, 80, flags, bytes);
  // Three connections (rr: one dest gets two); one of them closes (FIN -> inactive).
  for (let i = 1; i <= 3; i++) assert.ok(pkt(client(i), 1000 + i, TH_SYN, 60) > 0);
  pkt(client(1), 1001, TH_ACK, 52);
  pkt(client(1), 1001, TH_FIN | TH_ACK, 52);
  // A stray ACK for no connection: a not_syn drop.
  assert.equal(pkt(client(9), 2000, TH_ACK, 52), 0);
  const stats = new PipelineStats();
  stats.rxFrames = 7;
  stats.forwarded = 5;
  stats.arpReplies = 1;
  return { d, stats, metrics: new Metrics(d, stats) };
}

/** The value of one series in exposition text, or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('a scrape shows service, dest, drop, table and frame series with their values', async () => {
  const { d, metrics } = setup();
  const text = await metrics.text();
  const a = d.services.services[0].dests.find((x) => x.toString() === '192.0.2.11:80')!;
  const b = d.services.services[0].dests.find((x) => x.toString() === '192.0.2.12:80')!;
  assert.equal(a.stats.conns + b.stats.conns, 3);

  assert.match(text, /# TYPE tsvs_service_connections_total counter/);
  assert.equal(value(text, `tsvs_service_connections_total{${SVC}}`), 3);
  assert.equal(value(text, `tsvs_service_packets_total{${SVC},direction="in"}`), 5);
  assert.equal(value(text, `tsvs_service_packets_total{${SVC},direction="out"}`), 0);
  assert.equal(value(text, `tsvs_service_bytes_total{${SVC},direction="in"}`), 3 * 60 + 2 * 52);
  assert.equal(value(text, `tsvs_service_rate_cps{${SVC}}`), 0);
  assert.equal(value(text, `tsvs_service_rate_pps{${SVC},direction="in"}`), 0);

  assert.equal(value(text, `tsvs_dest_connections_total{${A}}`), a.stats.conns);
  assert.equal(value(text, `tsvs_dest_connections_total{${B}}`), b.stats.conns);
  assert.equal(value(text, `tsvs_dest_packets_total{${A},direction="in"}`), a.stats.inpkts);
  assert.equal(value(text, `tsvs_dest_weight{${A}}`), 1);
  assert.equal(value(text, `tsvs_dest_weight{${B}}`), 3);
  // Client 1's conn (FIN seen) is inactive on whichever dest it went to; the others active.
  const total = (name: string) => value(text, `${name}{${A}}`)! + value(text, `${name}{${B}}`)!;
  assert.equal(total('tsvs_dest_active_connections'), 2);
  assert.equal(total('tsvs_dest_inactive_connections'), 1);
  assert.equal(total('tsvs_dest_persistent_connections'), 0);
  assert.equal(value(text, `tsvs_dest_active_connections{${A}}`), a.activeConns);
  assert.equal(value(text, `tsvs_dest_inactive_connections{${B}}`), b.inactConns);

  assert.match(text, /# TYPE tsvs_drops_total counter/);
  assert.equal(value(text, 'tsvs_drops_total{reason="not_syn"}'), 1);
  assert.equal(value(text, 'tsvs_drops_total{reason="no_dest"}'), 0);
  for (const r of DROP_NAMES.slice(1)) assert.notEqual(value(text, `tsvs_drops_total{reason="${r}"}`), undefined, r);
  assert.equal(value(text, 'tsvs_drops_total{reason="none"}'), undefined);

  assert.equal(value(text, 'tsvs_conn_table_entries'), 3);
  assert.equal(value(text, 'tsvs_conn_table_capacity'), 1000);
  assert.equal(value(text, 'tsvs_conn_table_refused_total'), 0);
  assert.equal(value(text, 'tsvs_conn_table_evicted_total'), 0);

  assert.equal(value(text, 'tsvs_frames_total{kind="rx"}'), 7);
  assert.equal(value(text, 'tsvs_frames_total{kind="forwarded"}'), 5);
  assert.equal(value(text, 'tsvs_frames_total{kind="arp_replies"}'), 1);
});

test('values are read at scrape time: zeroing and deleting show up, nothing stale stays', async () => {
  const { d, metrics } = setup();
  d.services.zero(); // what tsvsadm -Z does
  let text = await metrics.text();
  assert.equal(value(text, `tsvs_service_connections_total{${SVC}}`), 0);
  assert.equal(value(text, `tsvs_dest_connections_total{${A}}`), 0);
  d.services.deleteService({ af: AF_INET, proto: IPPROTO_TCP, addr: Addr.v4(VIP), port: 80, fwmark: 0 });
  text = await metrics.text();
  assert.doesNotMatch(text, /tsvs_service_connections_total\{/);
  assert.doesNotMatch(text, /tsvs_dest_weight\{/);
});

test('parseListen accepts ADDR:PORT, [V6]:PORT and :PORT and rejects the rest clearly', () => {
  assert.deepEqual(parseListen('127.0.0.1:9100'), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseListen(':9100'), { host: undefined, port: 9100 });
  assert.deepEqual(parseListen('[::1]:9100'), { host: '::1', port: 9100 });
  assert.throws(() => parseListen('9100'), /metrics listen address '9100'.*want ADDR:PORT/);
  assert.throws(() => parseListen('localhost:9100'), /'localhost' is not an IP address/);
  assert.throws(() => parseListen('127.0.0.1:70000'), /port '70000'/);
  assert.throws(() => parseListen('127.0.0.1:'), /port ''/);
});

test('GET /metrics over HTTP: content type and a value; other paths 404', async () => {
  const { metrics } = setup();
  const server = await startMetricsServer(metrics, '127.0.0.1:0');
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), metrics.registry.contentType);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.equal(value(text, `tsvs_service_connections_total{${SVC}}`), 3);
    const nf = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(nf.status, 404);
    await nf.text();
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
  await assert.rejects(startMetricsServer(metrics, 'nope'), /want ADDR:PORT/);
});

test('health metrics: checks, transitions and each real server\'s state', async () => {
  const { Director } = await import('../../src/core/director');
  const { Metrics } = await import('../../src/metrics/metrics');
  const d = new Director();
  const fake = {
    counters: { checksRun: 7, checkFailures: 2, transitionsUp: 2, transitionsDown: 1, fallbackActivations: 1 },
    status: () => ({ 'TCP 192.0.2.100:80': [{ real: '192.0.2.11:80', status: 'up', failures: 0 }, { real: '192.0.2.12:80', status: 'down', failures: 3 }] }),
  };
  const m = new Metrics(d, null, { health: () => fake as never });
  const text = await m.registry.metrics();
  assert.match(text, /^tsvs_health_checks_total 7$/m);
  assert.match(text, /^tsvs_health_transitions_down_total 1$/m);
  assert.match(text, /^tsvs_health_fallback_activations_total 1$/m);
  assert.match(text, /^tsvs_health_real_up\{virtual="TCP 192.0.2.100:80",real_server="192.0.2.11:80"\} 1$/m);
  assert.match(text, /^tsvs_health_real_up\{virtual="TCP 192.0.2.100:80",real_server="192.0.2.12:80"\} 0$/m);
});
