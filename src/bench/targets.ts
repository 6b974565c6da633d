// The benchmark goals, computed from the medians: ratios between two peers on one
// metric (or a difference, for added latency), each compared with its goal and reported
// as met / not met / n/a (a row or a metric missing). These are goals, not assertions.
//
// CPU per packet is compared as the director's own cost: each peer's CPU per delivered
// packet minus the no-director row's (which holds the generator's and the real servers'
// share, see cpu.ts). Without a no-director row, or when noise puts that row above either
// peer, the raw figures are compared, and the note says so.
//
// Where the lab itself may be the bottleneck (2 workers / 1 worker: trafgen's core caps
// the delivered pps for every row), a target carries `ceiling`: the no-director row over
// the denominator (none / tsvs) is reported beside the value. The ratio cannot exceed it
// by much, so a ceiling below the goal says the lab, not tsvs, keeps the goal out of reach.

import type { Summary } from './stats';

export type Results = Record<string, Record<string, Summary>>;

export interface TargetDef {
  id: string;
  label: string;
  metric: string;
  /** Numerator peer and denominator peer (for 'diff': minuend and subtrahend). */
  a: string;
  b: string;
  kind: 'ratio' | 'diff';
  op: '>=' | '<=';
  goal: number;
  /** Subtract the no-director row from both before comparing. */
  overNone?: boolean;
  /** Report the no-director ceiling (none / b on this metric) beside the value. */
  ceiling?: boolean;
}

export const TARGETS: readonly TargetDef[] = [
  { id: 'udp-vs-nftdr', label: 'UDP pps tsvs / nft DR', metric: 'udp.mpps', a: 'tsvs', b: 'nft-dr', kind: 'ratio', op: '>=', goal: 1.2 },
  { id: 'udp-vs-nftdnat', label: 'UDP pps tsvs / nft DNAT', metric: 'udp.mpps', a: 'tsvs', b: 'nft-dnat', kind: 'ratio', op: '>=', goal: 1.5 },
  { id: 'cpu-vs-nftdr', label: 'director CPU/pkt tsvs / nft DR', metric: 'udp.cpuNsPerPkt', a: 'tsvs', b: 'nft-dr', kind: 'ratio', op: '<=', goal: 1.5, overNone: true },
  { id: 'conn-vs-nftdr', label: 'conn/s tsvs / nft DR', metric: 'conn.rate', a: 'tsvs', b: 'nft-dr', kind: 'ratio', op: '>=', goal: 1.0 },
  { id: 'conn-vs-haproxy', label: 'conn/s tsvs / HAProxy', metric: 'conn.rate', a: 'tsvs', b: 'haproxy', kind: 'ratio', op: '>=', goal: 1.4 },
  { id: 'ping-added', label: 'added ping latency p50 (µs), tsvs - none', metric: 'ping.p50Us', a: 'tsvs', b: 'none', kind: 'diff', op: '<=', goal: 50 },
  { id: 'tcp-on-vs-nftdr', label: 'iperf3 offloads on, 1 stream, tsvs / nft DR', metric: 'tcp.on.1', a: 'tsvs', b: 'nft-dr', kind: 'ratio', op: '>=', goal: 0.8 },
  { id: 'tcp-on8-vs-nftdr', label: 'iperf3 offloads on, 8 streams, tsvs / nft DR', metric: 'tcp.on.8', a: 'tsvs', b: 'nft-dr', kind: 'ratio', op: '>=', goal: 0.8 },
  { id: 'workers2', label: 'UDP pps 2 workers / 1 worker', metric: 'udp.mpps', a: 'tsvs-w2', b: 'tsvs', kind: 'ratio', op: '>=', goal: 1.7, ceiling: true },
];

export type TargetStatus = 'met' | 'not met' | 'n/a';

export interface TargetResult extends TargetDef {
  value?: number;
  status: TargetStatus;
  /** Why n/a, or how the value was formed. */
  note?: string;
  /** With `ceiling`: the no-director row / b, the most the lab lets the ratio show. */
  ceilingRatio?: number;
}

/** none / b on the target's metric, when both rows have it. */
export function ceilingRatio(t: TargetDef, r: Results): number | undefined {
  return ratioTo(r, t.metric, 'none', t.b);
}

/** "no director ×1.12 of tsvs (below the goal: the lab is the bottleneck)", or undefined. */
export function ceilingText(t: TargetResult): string | undefined {
  if (t.ceilingRatio === undefined) return undefined;
  const below = t.op === '>=' && t.ceilingRatio < t.goal;
  return `no-director ceiling ×${t.ceilingRatio.toFixed(2)} of ${t.b}${below ? ' (below the goal: the lab is the bottleneck)' : ''}`;
}

function med(r: Results, peer: string, metric: string): number | undefined {
  return r[peer]?.[metric]?.median;
}

export function evaluateTarget(t: TargetDef, r: Results): TargetResult {
  const res = evaluateRatio(t, r);
  if (!t.ceiling) return res;
  const c = ceilingRatio(t, r);
  return c === undefined ? res : { ...res, ceilingRatio: c };
}

function evaluateRatio(t: TargetDef, r: Results): TargetResult {
  let a = med(r, t.a, t.metric);
  let b = med(r, t.b, t.metric);
  if (a === undefined || b === undefined) {
    const missing = [a === undefined ? t.a : undefined, b === undefined ? t.b : undefined].filter(Boolean).join(' and ');
    return { ...t, status: 'n/a', note: `no ${t.metric} for ${missing}` };
  }
  let note: string | undefined;
  if (t.overNone) {
    const none = med(r, 'none', t.metric);
    if (none !== undefined && a > none && b > none) {
      a -= none;
      b -= none;
      note = `each minus the no-director row (${none.toFixed(0)})`;
    } else {
      note = none === undefined ? 'raw figures (no no-director row)' : 'raw figures (the no-director row is not below both: noise)';
    }
  }
  let value: number;
  if (t.kind === 'diff') value = a - b;
  else {
    if (b === 0) return { ...t, status: 'n/a', note: `${t.b} is 0` };
    value = a / b;
  }
  const ok = t.op === '>=' ? value >= t.goal : value <= t.goal;
  return { ...t, value, status: ok ? 'met' : 'not met', note };
}

export function evaluateTargets(r: Results, defs: readonly TargetDef[] = TARGETS): TargetResult[] {
  return defs.map((t) => evaluateTarget(t, r));
}

/** a/b on medians for a metric, for "×1.2 vs nft DR" labels; undefined if either is missing. */
export function ratioTo(r: Results, metric: string, peer: string, ref: string): number | undefined {
  const a = med(r, peer, metric);
  const b = med(r, ref, metric);
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}
