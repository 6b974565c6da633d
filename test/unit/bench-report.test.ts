// The bench's report: the goals (ratios, the CPU comparison over the no-director row, the
// added latency difference, n/a when a row is missing), the table, and the parsers of
// the tools' outputs (wrk, ping, nft counters, iperf3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, renderTable } from '../../src/bench/report';
import { evaluateTarget, evaluateTargets, TARGETS } from '../../src/bench/targets';
import { parseWrk, parseWrkDuration } from '../../src/bench/workloads/conn-rate';
import { parsePingRtts } from '../../src/bench/workloads/ping';
import { parseNftCounter, trafgenConfig } from '../../src/bench/workloads/udp-pps';
import { parseIperf } from '../../src/bench/workloads/tcp-iperf';
import { sampleResults } from './bench-fixture';

const byId = (id: string) => evaluateTargets(sampleResults().results).find((t) => t.id === id)!;

test('ratio goals on medians: met, not met', () => {
  const udp = byId('udp-vs-nftdr');
  assert.equal(udp.value!.toFixed(3), (0.33 / 0.27).toFixed(3));
  assert.equal(udp.status, 'met');
  assert.equal(byId('udp-vs-nftdnat').value!.toFixed(2), '1.50');
  assert.equal(byId('udp-vs-nftdnat').status, 'met');
  assert.equal(byId('conn-vs-haproxy').value, 1.5);
  assert.equal(byId('tcp-on-vs-nftdr').status, 'not met');
});

test('CPU per packet is compared over the no-director row; raw without one', () => {
  const cpu = byId('cpu-vs-nftdr');
  assert.equal(cpu.value, (3000 - 1800) / (2400 - 1800));
  assert.equal(cpu.status, 'not met');
  const r = sampleResults().results;
  delete r.none;
  const raw = evaluateTarget(TARGETS.find((t) => t.id === 'cpu-vs-nftdr')!, r);
  assert.equal(raw.value, 3000 / 2400);
  assert.equal(raw.status, 'met');
  assert.match(raw.note!, /raw/);
  const noisy = sampleResults().results;
  noisy.none['udp.cpuNsPerPkt'].median = 2500; // above nft DR's 2400
  const n = evaluateTarget(TARGETS.find((t) => t.id === 'cpu-vs-nftdr')!, noisy);
  assert.equal(n.value, 3000 / 2400);
  assert.match(n.note!, /noise/);
});

test('added latency is a difference in µs; missing rows give n/a', () => {
  const ping = byId('ping-added');
  assert.equal(ping.value, 45);
  assert.equal(ping.status, 'met');
  const w2 = byId('workers2');
  assert.equal(w2.status, 'n/a');
  assert.match(w2.note!, /tsvs-w2/);
  assert.equal(w2.value, undefined);
});

test('the table: a block per workload, ratios to nft DR, skipped rows, goals', () => {
  const rep = buildReport(sampleResults());
  assert.deepEqual(rep.addedLatencyUs, { tsvs: 45, 'nft-dr': 1 });
  const t = renderTable(rep);
  assert.match(t, /== udp:/);
  assert.match(t, /tsvs\s+0\.330 \(0\.300–0\.360\)/);
  assert.match(t, /×1\.22/);
  assert.match(t, /tsvs --workers 2 .*skipped/);
  assert.match(t, /UDP pps tsvs \/ nft DR\s+1\.22\s+>= 1\.2\s+met/);
  assert.match(t, /skipped: Unknown option '--workers'/);
  assert.doesNotMatch(t, /NaN|undefined/);
});

test('wrk output', () => {
  const out = `Running 5s test @ http://192.0.2.100:8080/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.21ms    2.10ms  40.00ms   80.00%
  Latency Distribution
     50%    4.95ms
     75%    6.00ms
     90%    7.10ms
     99%   12.30ms
  61234 requests in 5.00s, 9.00MB read
  Socket errors: connect 0, read 61234, write 0, timeout 2
Requests/sec:  12246.80
Transfer/sec:      1.80MB
`;
  assert.deepEqual(parseWrk(out), { rate: 12246.8, p50Ms: 4.95, p99Ms: 12.3, errors: 2 });
  assert.equal(parseWrkDuration('850.00us'), 0.85);
  assert.equal(parseWrkDuration('1.02s'), 1020);
  assert.ok(Number.isNaN(parseWrkDuration('soon')));
});

test('ping, nft counter and iperf3 parsers; trafgen frame set', () => {
  assert.deepEqual(parsePingRtts('64 bytes from 192.0.2.100: icmp_seq=1 ttl=64 time=0.075 ms\n64 bytes ... time=1.5 ms\n'), [75, 1500]);
  const nft = JSON.stringify({ nftables: [{ metainfo: {} }, { rule: { expr: [{ match: {} }, { counter: { packets: 42, bytes: 1 } }, { drop: null }] } }] });
  assert.equal(parseNftCounter(nft), 42);
  assert.equal(parseIperf(JSON.stringify({ end: { sum_received: { bits_per_second: 5e9 } } })), 5e9);
  assert.equal(parseIperf(JSON.stringify({ error: 'unable to connect' })), 'unable to connect');
  assert.equal(parseIperf('garbage'), 'no JSON from iperf3');
  const cfg = trafgenConfig({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '192.0.2.10', dstIp: '192.0.2.100', dport: 9000, flows: 1000 });
  const lines = cfg.trim().split('\n');
  assert.equal(lines.length, 1000);
  assert.equal(new Set(lines.map((l) => /sport=(\d+)/.exec(l)![1])).size, 1000);
  assert.match(lines[0], /udp\(sport=10000, dport=9000\), fill\(0x00, 18\)/);
});
