// The tsvs daemon variants of the bench: one line each, their pinning (CPUs 1..N, wrapping
// onto trafgen's CPU 0 with a note), the offload modes the TCP workload measures for a
// constrained peer (pcap: off only), and the no-director ceiling beside the 2-workers goal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartSpec } from '../../src/bench/chart-data';
import { PEER_IDS } from '../../src/bench/peers';
import { TSVS_VARIANTS, workerPinning, workersOf } from '../../src/bench/peers/tsvs';
import { buildReport, renderTable } from '../../src/bench/report';
import { summarize } from '../../src/bench/stats';
import { ceilingText, evaluateTarget, TARGETS } from '../../src/bench/targets';
import { offloadModesFor } from '../../src/bench/workloads/tcp-iperf';
import { sampleResults } from './bench-fixture';

test('the variants: ids, flags, hooks', () => {
  const ids = TSVS_VARIANTS.map((v) => v.id);
  assert.deepEqual(ids, ['tsvs', 'tsvs-w2', 'tsvs-tun', 'tsvs-pcap', 'tsvs-v3']);
  for (const id of ids) assert.ok(PEER_IDS.includes(id));
  const by = (id: string) => TSVS_VARIANTS.find((v) => v.id === id)!;
  assert.deepEqual(by('tsvs-tun').args.slice(0, 2), ['--capture', 'tun']);
  assert.ok(by('tsvs-tun').args.includes('--tun-routes'));
  assert.ok(by('tsvs-tun').prepare);
  assert.ok(by('tsvs-pcap').prepare);
  assert.deepEqual(by('tsvs-v3').args, ['--rx-ring', 'v3']);
  assert.equal(by('tsvs').prepare, undefined);
});

test('workersOf reads --workers, 1 without it or when malformed', () => {
  assert.equal(workersOf([]), 1);
  assert.equal(workersOf(['--workers', '2']), 2);
  assert.equal(workersOf(['--capture', 'tun', '--workers', '4']), 4);
  assert.equal(workersOf(['--workers']), 1);
  assert.equal(workersOf(['--workers', 'x']), 1);
});

test('pinning: CPUs 1..N, wrapping onto trafgen CPU 0 with a note', () => {
  assert.deepEqual(workerPinning(1, 2), { cpus: '1', note: undefined });
  assert.deepEqual(workerPinning(1, 8), { cpus: '1', note: undefined });
  assert.deepEqual(workerPinning(2, 4), { cpus: '1,2', note: undefined });
  assert.deepEqual(workerPinning(3, 4), { cpus: '1,2,3', note: undefined });
  const shared = workerPinning(2, 2);
  assert.equal(shared.cpus, '0,1');
  assert.match(shared.note!, /2 workers on 2 CPUs.*shares CPU 0 with trafgen/);
  assert.equal(workerPinning(4, 2).cpus, '0,1');
  assert.equal(workerPinning(1, 1).cpus, '0');
  assert.match(workerPinning(1, 1).note!, /shares it with trafgen/);
});

test('offload modes: both without a constraint, one with', () => {
  assert.deepEqual(offloadModesFor({}), ['on', 'off']);
  assert.deepEqual(offloadModesFor({ offloads: { only: 'off', why: 'pcap' } }), ['off']);
  assert.deepEqual(offloadModesFor({ offloads: { only: 'on', why: 'x' } }), ['on']);
});

const w2Def = TARGETS.find((t) => t.id === 'workers2')!;

function withW2(w2: number[], tsvs: number[], none: number[]) {
  const res = sampleResults();
  res.results['tsvs-w2'] = { 'udp.mpps': summarize(w2)! };
  res.results.tsvs = { ...res.results.tsvs, 'udp.mpps': summarize(tsvs)! };
  res.results.none = { ...res.results.none, 'udp.mpps': summarize(none)! };
  res.peers = res.peers.map((p) => (p.id === 'tsvs-w2' ? { id: p.id, label: p.label, notes: [] } : p));
  return res;
}

test('2 workers / 1 worker carries the no-director ceiling (none / tsvs)', () => {
  const res = withW2([0.36], [0.3], [0.39]);
  const t = evaluateTarget(w2Def, res.results);
  assert.equal(t.value!.toFixed(2), '1.20');
  assert.equal(t.status, 'not met');
  assert.equal(t.ceilingRatio!.toFixed(2), '1.30');
  assert.match(ceilingText(t)!, /no-director ceiling ×1\.30 of tsvs \(below the goal: the lab is the bottleneck\)/);
  const table = renderTable(buildReport(res));
  assert.match(table, /UDP pps 2 workers \/ 1 worker\s+1\.20\s+>= 1\.7\s+not met; no-director ceiling ×1\.30 of tsvs \(below the goal/);
  assert.ok(chartSpec(buildReport(res)).footer?.some((l) => /2 workers.*ceiling ×1\.30/.test(l)));
});

test('a ceiling above the goal is shown without the bottleneck remark; none missing: no ceiling', () => {
  const t = evaluateTarget(w2Def, withW2([0.5], [0.25], [0.6]).results);
  assert.equal(t.status, 'met');
  assert.equal(ceilingText(t), 'no-director ceiling ×2.40 of tsvs');
  const r = withW2([0.5], [0.25], [0.6]).results;
  delete r.none;
  const u = evaluateTarget(w2Def, r);
  assert.equal(u.ceilingRatio, undefined);
  assert.equal(ceilingText(u), undefined);
  // other targets have no ceiling
  assert.equal(evaluateTarget(TARGETS.find((x) => x.id === 'udp-vs-nftdr')!, r).ceilingRatio, undefined);
});

test('the fixture: tsvs-w2 skipped, the ceiling still shown beside n/a', () => {
  const t = evaluateTarget(w2Def, sampleResults().results);
  assert.equal(t.status, 'n/a');
  assert.equal(t.ceilingRatio!.toFixed(2), (0.44 / 0.33).toFixed(2));
});
