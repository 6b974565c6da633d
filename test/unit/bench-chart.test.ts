// The SVG chart generator: a well-formed standalone document, every label present and
// escaped, whiskers for min-max, missing bars shown as text, and no NaN anywhere; and the
// chart built from a report that lacks rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, renderChart, type ChartSpec } from '../../src/bench/chart-svg';
import { chartSpec } from '../../src/bench/chart-data';
import { buildReport } from '../../src/bench/report';
import { sampleResults } from './bench-fixture';

/** Tags balance (a small well-formedness check: no parser dependency). */
function assertWellFormed(svg: string): void {
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes ${stack.at(-1)}`);
    else stack.push(name);
  }
  assert.deepEqual(stack, []);
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
  // text content has no raw '<' or '&' (only entities)
  for (const m of svg.matchAll(/>([^<]*)</g)) assert.doesNotMatch(m[1], /&(?!(lt|gt|amp|quot|apos);)/);
}

const spec: ChartSpec = {
  title: 'A <test> & chart',
  subtitle: 'median of 3',
  series: [{ id: 'a', label: 'tsvs' }, { id: 'b', label: 'nft DR' }, { id: 'c', label: 'HAProxy' }],
  groups: [
    { title: 'UDP [Mpps]', note: 'higher is better', bars: [
      { series: 'a', value: 0.3, min: 0.28, max: 0.33, label: '0.30 Mpps ×1.11' },
      { series: 'b', value: 0.27, min: 0.26, max: 0.27 },
      { series: 'c', missing: 'not applicable' },
    ] },
    { title: 'all zero', bars: [{ series: 'a', value: 0 }, { series: 'b', value: NaN }] },
  ],
  footer: ['command: tsvs bench'],
};

test('renders a well-formed SVG with titles, legend, labels, whiskers and missing bars', () => {
  const svg = renderChart(spec);
  assertWellFormed(svg);
  for (const s of ['A &lt;test&gt; &amp; chart', 'UDP [Mpps]', 'tsvs', 'nft DR', 'HAProxy', '0.30 Mpps ×1.11', '0.270', 'not applicable', 'higher is better', 'command: tsvs bench']) {
    assert.ok(svg.includes(s), `missing ${s}`);
  }
  assert.equal((svg.match(/<g stroke="#222"/g) ?? []).length, 2, 'two whiskers');
  assert.ok(svg.includes('n/a'), 'a NaN value is drawn as missing');
});

test('escapeXml', () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
});

test('chart from a report: ratios to nft DR, skipped and absent rows', () => {
  const rep = buildReport(sampleResults());
  const c = chartSpec(rep);
  const svg = renderChart(c);
  assertWellFormed(svg);
  assert.ok(svg.includes('×1.22 vs nft DR'), 'UDP ratio label');
  assert.ok(svg.includes('skipped: tsvs --workers 2 (Unknown option &apos;--workers&apos;)'), 'skipped peers in the footer');
  assert.ok(svg.includes('not measured / not applicable'), 'haproxy has no UDP bar');
  assert.deepEqual(c.series.map((x) => x.id), ['tsvs', 'nft-dr', 'nft-dnat', 'haproxy', 'none']);
});
