// A made-up set of bench results for the report, target and chart tests.
import type { BenchResults } from '../../src/bench/runner';
import { summarize, type Summary } from '../../src/bench/stats';
import { UDP_METRICS } from '../../src/bench/workloads/udp-pps';
import { CONN_METRICS } from '../../src/bench/workloads/conn-rate';
import { PING_METRICS } from '../../src/bench/workloads/ping';
import { TCP_METRICS } from '../../src/bench/workloads/tcp-iperf';

const s = (...xs: number[]): Summary => summarize(xs)!;

export function sampleResults(): BenchResults {
  return {
    version: 1,
    date: '2026-01-01T00:00:00.000Z',
    command: 'tsvs bench',
    host: { cpus: 2, kernel: '6.x', loadavgStart: [0, 0, 0] },
    settings: { runs: 3, seconds: 5, flows: 1000, pings: 50, connections: 64 },
    workloads: ['udp', 'ping', 'conn', 'tcp'],
    metrics: [
      ...UDP_METRICS.map((m) => ({ ...m, workload: 'udp' as const })),
      ...PING_METRICS.map((m) => ({ ...m, workload: 'ping' as const })),
      ...CONN_METRICS.map((m) => ({ ...m, workload: 'conn' as const })),
      ...TCP_METRICS.map((m) => ({ ...m, workload: 'tcp' as const })),
    ],
    peers: [
      { id: 'tsvs', label: 'tsvs', notes: [] },
      { id: 'tsvs-w2', label: 'tsvs --workers 2', skipped: "Unknown option '--workers'", notes: [] },
      { id: 'nft-dr', label: 'nft DR', notes: [] },
      { id: 'nft-dnat', label: 'nft DNAT', notes: [] },
      { id: 'haproxy', label: 'HAProxy', notes: [] },
      { id: 'none', label: 'no director', notes: [] },
    ],
    results: {
      tsvs: { 'udp.mpps': s(0.3, 0.36, 0.33), 'udp.cpuNsPerPkt': s(3000), 'ping.p50Us': s(120), 'conn.rate': s(12000), 'tcp.on.1': s(10) },
      'tsvs-w2': {},
      'nft-dr': { 'udp.mpps': s(0.27, 0.28, 0.26), 'udp.cpuNsPerPkt': s(2400), 'ping.p50Us': s(76), 'conn.rate': s(11000), 'tcp.on.1': s(14) },
      'nft-dnat': { 'udp.mpps': s(0.22), 'conn.rate': s(9000) },
      haproxy: { 'conn.rate': s(8000), 'tcp.on.1': s(6) },
      none: { 'udp.mpps': s(0.44), 'udp.cpuNsPerPkt': s(1800), 'ping.p50Us': s(75) },
    },
    labs: ['tsvsbench-000000'],
  };
}
