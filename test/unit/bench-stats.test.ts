// The bench's statistics: percentiles with interpolation, median of odd and even counts,
// summaries that ignore non-finite samples, and the CPU accounting parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile, summarize } from '../../src/bench/stats';
import { cpuDelta, parsePidStatCpu, parseProcStatSoftirq } from '../../src/bench/cpu';

test('median of odd and even counts, unsorted input', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('percentiles interpolate between ranks', () => {
  const xs = Array.from({ length: 101 }, (_, i) => i);
  assert.equal(percentile(xs, 0), 0);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile([10, 20], 50), 15);
  assert.equal(percentile([7], 99), 7);
  assert.throws(() => percentile(xs, 101), RangeError);
});

test('summarize: median, min, max, n; NaN and Infinity ignored; none -> undefined', () => {
  const s = summarize([5, NaN, 1, 3, Infinity]);
  assert.deepEqual({ median: s?.median, min: s?.min, max: s?.max, n: s?.n }, { median: 3, min: 1, max: 5, n: 3 });
  assert.equal(summarize([]), undefined);
  assert.equal(summarize([NaN]), undefined);
});

test('softirq seconds from /proc/stat, CPU seconds from /proc/PID/stat (comm with spaces)', () => {
  const stat = 'cpu  100 0 50 9000 3 0 250 0 0 0\ncpu0 50 0 25 4500 1 0 125 0 0 0\n';
  assert.equal(parseProcStatSoftirq(stat), 2.5);
  const pid = '1234 (node (a b)) S 1 1234 1234 0 -1 4194560 100 0 0 0 300 45 0 0 20 0 11 0 100 0 0';
  assert.equal(parsePidStatCpu(pid), 3.45);
  const a = { softirqSec: 1, procSec: new Map([[1, 2], [2, 5]]), at: 0 };
  const b = { softirqSec: 1.5, procSec: new Map([[1, 3], [3, 9]]), at: 1000 };
  assert.deepEqual(cpuDelta(a, b), { softirqSec: 0.5, procSec: 1 });
});
