// Latency at low load: 50 pings (by default) at 20 ms intervals from the client to the
// target, p50 and p99 of the per-packet RTTs in microseconds. Through tsvs the daemon
// answers the echo itself (one pass through its receive and transmit path); through the
// nftables peers the echo is forwarded to a real server, which answers. The report turns
// these into "added latency" against the no-director row.

import { nsRun } from '../../lab/exec';
import { percentile } from '../stats';
import type { MetricDef, Workload } from '../types';

export const PING_METRICS: readonly MetricDef[] = [
  { id: 'ping.p50Us', label: 'ping RTT p50', unit: 'µs', better: 'lower' },
  { id: 'ping.p99Us', label: 'ping RTT p99', unit: 'µs', better: 'lower' },
];

/** RTTs in µs from ping's per-reply lines (`time=0.075 ms`). */
export function parsePingRtts(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/time=([\d.]+) ms/g)) out.push(Number(m[1]) * 1000);
  return out;
}

export const pingWorkload: Workload = {
  id: 'ping',
  label: 'ping RTT at low load',
  metrics: PING_METRICS,
  runBoundMs: (s) => s.pings * 20 + 15_000,
  prepare: async () => async () => undefined,
  runOnce: async (ctx) => {
    const n = ctx.settings.pings;
    const r = await nsRun(ctx.lab.client.ns, ['ping', '-n', '-c', String(n), '-i', '0.02', '-W', '1', ctx.installed.target],
      { check: false, timeoutMs: n * 20 + 10_000 });
    const rtts = parsePingRtts(r.stdout);
    if (rtts.length < Math.max(1, n / 2)) throw new Error(`ping ${ctx.installed.target}: ${rtts.length}/${n} replies`);
    return { values: { 'ping.p50Us': percentile(rtts, 50), 'ping.p99Us': percentile(rtts, 99) } };
  },
};
