// Small statistics for bench samples: median, min, max and percentiles (nearest-rank on
// the sorted samples, linear interpolation between ranks), and a summary of one metric.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

function sorted(xs: readonly number[]): number[] {
  return xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/** The p-th percentile (0..100) with linear interpolation; NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be 0..100, not ${p}`);
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Median, min and max of the finite samples; undefined when there are none. */
export function summarize(xs: readonly number[]): Summary | undefined {
  const s = sorted(xs);
  if (s.length === 0) return undefined;
  return { median: median(s), min: s[0], max: s[s.length - 1], n: s.length, samples: [...xs] };
}
