// TCP throughput: iperf3 from the client to the target, 1 and 8 parallel streams, with the
// lab's veth offloads (tx checksum, TSO, GSO, GRO) all on and then all off (lab-notes 4-5).
// One run measures all four; they are interleaved so that drift hits them alike. The
// peers hash by client address for this port so iperf3's control and data connections
// meet on one real server (lab-notes 9). The offloads are left on afterwards, or in the
// one mode a peer is constrained to (InstalledPeer.offloads: tsvs --capture pcap cannot
// inject TSO super-frames, so it runs the offloads-off rows only and notes the others).

import { join } from 'node:path';
import { nsRun, startInNs, stopPid } from '../../lab/exec';
import { execIn } from '../../lab/netns';
import { setOffloads } from '../../lab/offloads';
import { sleep } from '../../lab/run';
import { vethEnds } from '../../lab/topology';
import type { Lab } from '../../lab/state';
import { PORTS, type InstalledPeer, type MetricDef, type Workload } from '../types';

export const OFFLOAD_MODES = ['on', 'off'] as const;
export const STREAMS = [1, 8] as const;

export const tcpMetricId = (offloads: string, streams: number) => `tcp.${offloads}.${streams}`;

export const TCP_METRICS: readonly MetricDef[] = OFFLOAD_MODES.flatMap((o) => STREAMS.map((p) => ({
  id: tcpMetricId(o, p), label: `iperf3 ${p} stream${p > 1 ? 's' : ''}, offloads ${o}`, unit: 'Gbps', better: 'higher' as const,
})));

/** Received bits per second from `iperf3 -J`, or an error message. */
export function parseIperf(json: string): number | string {
  try {
    const j = JSON.parse(json) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
    if (j.end?.sum_received) return j.end.sum_received.bits_per_second;
    return j.error ?? 'no result';
  } catch {
    return 'no JSON from iperf3';
  }
}

/** The offload modes this peer can be measured in (the peer's row note says why not the others). */
export function offloadModesFor(installed: Pick<InstalledPeer, 'offloads'>): Array<'on' | 'off'> {
  const c = installed.offloads;
  return c ? OFFLOAD_MODES.filter((m) => m === c.only) : [...OFFLOAD_MODES];
}

async function offloads(lab: Lab, mode: 'on' | 'off'): Promise<void> {
  await Promise.all(vethEnds(lab).map(([ns, ifname]) => setOffloads(ns, ifname, mode)));
}

export const tcpWorkload: Workload = {
  id: 'tcp',
  label: 'TCP throughput (iperf3)',
  metrics: TCP_METRICS,
  runBoundMs: (s) => 4 * (s.seconds * 1000 + 15_000),
  prepare: async (ctx) => {
    const pids = ctx.lab.realServers.map((rs) =>
      startInNs(rs.ns, ['iperf3', '-s', '-p', String(PORTS.iperf)], join(ctx.dir, `iperf3-${rs.name}.log`)).pid);
    for (const rs of ctx.lab.realServers) {
      for (let i = 0; ; i++) {
        const ss = await execIn(rs.ns, ['ss', '-Hltn', `sport = :${PORTS.iperf}`], { check: false });
        if (ss.stdout.includes(`:${PORTS.iperf}`)) break;
        if (i > 100) throw new Error(`iperf3 -s on ${rs.name} is not listening`);
        await sleep(50);
      }
    }
    return async () => {
      for (const pid of pids) await stopPid(pid, { graceMs: 1000 });
      await offloads(ctx.lab, ctx.installed.offloads?.only ?? 'on');
    };
  },
  runOnce: async (ctx) => {
    const out: Record<string, number> = {};
    const errors: string[] = [];
    const s = ctx.settings.seconds;
    for (const mode of offloadModesFor(ctx.installed)) {
      await offloads(ctx.lab, mode);
      for (const p of STREAMS) {
        const r = await nsRun(ctx.lab.client.ns, ['iperf3', '-c', ctx.installed.target, '-p', String(PORTS.iperf), '-t', String(s),
          '-P', String(p), '-J', '--connect-timeout', '3000'], { check: false, timeoutMs: s * 1000 + 15_000 });
        const bps = parseIperf(r.stdout);
        if (typeof bps === 'number') out[tcpMetricId(mode, p)] = bps / 1e9;
        else errors.push(`offloads ${mode} -P ${p}: ${bps}${r.timedOut ? ' (timed out)' : ''}`);
        await sleep(200); // iperf3 -s takes a moment to accept the next test
      }
    }
    if (Object.keys(out).length === 0) throw new Error(`iperf3: ${errors.join('; ')}`);
    return { values: out, notes: errors };
  },
};
