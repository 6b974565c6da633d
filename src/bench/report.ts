// The bench's written output: a plain-text table (one block per workload, a row per peer,
// "median (min-max)" per metric, a ratio to nft DR), the goals as met / not met, and the
// JSON file (the runner's results plus the evaluated goals).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BenchResults } from './runner';
import type { Summary } from './stats';
import { ceilingText, evaluateTargets, ratioTo, type TargetResult } from './targets';

export const REFERENCE_PEER = 'nft-dr';

export interface BenchReport extends BenchResults {
  targets: TargetResult[];
  /** ping p50 of each peer minus the no-director row's, µs. */
  addedLatencyUs: Record<string, number>;
}

export function buildReport(res: BenchResults): BenchReport {
  const added: Record<string, number> = {};
  const none = res.results.none?.['ping.p50Us']?.median;
  if (none !== undefined) {
    for (const p of res.peers) {
      const v = res.results[p.id]?.['ping.p50Us']?.median;
      if (v !== undefined && p.id !== 'none') added[p.id] = v - none;
    }
  }
  return { ...res, targets: evaluateTargets(res.results), addedLatencyUs: added };
}

/** Significant digits suited to the magnitude. */
export function fmt(x: number): string {
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

export function cell(s: Summary | undefined): string {
  if (!s) return '—';
  return s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median);
}

function pad(rows: string[][]): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join('  ').trimEnd()).join('\n');
}

export function renderTable(rep: BenchReport): string {
  const out: string[] = [];
  const s = rep.settings;
  out.push(`tsvs bench: median of ${s.runs} run(s) of ${s.seconds} s (min–max); ${rep.host.cpus} CPUs, kernel ${rep.host.kernel}`);
  for (const w of rep.workloads) {
    const metrics = rep.metrics.filter((m) => m.workload === w);
    const head = ['peer', ...metrics.map((m) => `${m.id} [${m.unit}]`)];
    const primary = metrics[0];
    head.push(`${primary.id} / ${REFERENCE_PEER}`);
    const rows = [head];
    for (const p of rep.peers) {
      const r = rep.results[p.id] ?? {};
      if (!metrics.some((m) => r[m.id]) && !p.skipped) continue;
      if (p.skipped) {
        rows.push([p.label, ...metrics.map(() => '—'), 'skipped']);
        continue;
      }
      const ratio = ratioTo(rep.results, primary.id, p.id, REFERENCE_PEER);
      rows.push([p.label, ...metrics.map((m) => cell(r[m.id])), ratio === undefined ? '—' : `×${ratio.toFixed(2)}`]);
    }
    if (rows.length === 1) continue;
    out.push('', `== ${w}: ${metrics.map((m) => m.label).join('; ')}`, pad(rows));
  }
  if (Object.keys(rep.addedLatencyUs).length) {
    out.push('', 'added ping latency p50 over no director: ' +
      Object.entries(rep.addedLatencyUs).map(([p, v]) => `${p} ${v >= 0 ? '+' : ''}${v.toFixed(0)} µs`).join(', '));
  }
  out.push('', 'goals (benchmark targets, not test assertions):');
  const goalRows = [['goal', 'value', 'want', 'status']];
  for (const t of rep.targets) {
    const ceiling = ceilingText(t);
    goalRows.push([t.label, t.value === undefined ? '—' : t.kind === 'diff' ? t.value.toFixed(0) : t.value.toFixed(2), `${t.op} ${t.goal}`,
      t.status + (t.note && t.status === 'n/a' ? ` (${t.note})` : '') + (ceiling ? `; ${ceiling}` : '')]);
  }
  out.push(pad(goalRows));
  const skipped = rep.peers.filter((p) => p.skipped);
  const noted = rep.peers.filter((p) => p.notes.length);
  if (skipped.length || noted.length) {
    out.push('', 'notes:');
    for (const p of skipped) out.push(`  ${p.label}: skipped: ${p.skipped}`);
    for (const p of noted) for (const n of p.notes.slice(0, 6)) out.push(`  ${p.label}: ${n}`);
  }
  return `${out.join('\n')}\n`;
}

export function writeJson(file: string, rep: BenchReport): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(rep, null, 2)}\n`);
}
