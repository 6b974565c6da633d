// Turns a bench report into the chart: one group per headline metric (delivered UDP pps,
// CPU per packet, conn/s, conn p99, ping p50 and p99, iperf3 in its four settings), a bar
// per peer with its min-max whisker, labelled with the median, the unit and the ratio to
// nft DR. Peers that do not carry a workload say so instead of a bar; skipped peers
// (a daemon variant this build lacks) are left out and named in the footer.

import { defaultLabel, type ChartSpec } from './chart-svg';
import { REFERENCE_PEER, type BenchReport } from './report';
import { ceilingText, ratioTo } from './targets';

export const CHART_METRICS = ['udp.mpps', 'udp.cpuNsPerPkt', 'conn.rate', 'conn.p99Ms', 'ping.p50Us', 'ping.p99Us', 'tcp.on.1', 'tcp.on.8', 'tcp.off.1', 'tcp.off.8'];

export function chartSpec(rep: BenchReport): ChartSpec {
  const s = rep.settings;
  const shown = rep.peers.filter((p) => !p.skipped);
  const skipped = rep.peers.filter((p) => p.skipped).map((p) => `${p.label} (${p.skipped})`);
  const groups = [];
  for (const id of CHART_METRICS) {
    const m = rep.metrics.find((x) => x.id === id);
    if (!m) continue;
    const bars = shown.map((p) => {
      const sum = rep.results[p.id]?.[id];
      if (!sum) return { series: p.id, missing: 'not measured / not applicable' };
      const r = p.id === REFERENCE_PEER ? undefined : ratioTo(rep.results, id, p.id, REFERENCE_PEER);
      const label = `${defaultLabel(sum.median)} ${m.unit}${r === undefined ? '' : `  ×${r.toFixed(2)} vs nft DR`}`;
      return { series: p.id, value: sum.median, min: sum.min, max: sum.max, label };
    });
    groups.push({ title: `${m.label} [${m.unit}]`, note: m.better === 'higher' ? 'higher is better' : 'lower is better', bars });
  }
  const goals = rep.targets.filter((t) => t.status !== 'n/a').map((t) => {
    const c = ceilingText(t);
    return `${t.label} ${t.value!.toFixed(2)} (${t.op} ${t.goal}): ${t.status}${c ? `; ${c}` : ''}`;
  });
  return {
    title: 'tsvs beside its peers, namespace lab (veth + bridge)',
    subtitle: `median of ${s.runs} run(s) × ${s.seconds} s, whiskers min–max; ${rep.host.cpus} vCPUs (shared), kernel ${rep.host.kernel}; ${rep.date}`,
    series: shown.map((p) => ({ id: p.id, label: p.label })),
    groups,
    footer: [...goals, ...(skipped.length ? [`skipped: ${skipped.join('; ')}`] : []), `command: ${rep.command}`],
  };
}
