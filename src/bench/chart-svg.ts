// A small dependency-free SVG chart: grouped horizontal bars. Each group is one metric
// (its own scale from 0), each bar one series (a peer, a fixed colour throughout), with a
// min-max whisker and a value label; a missing bar shows its reason in grey instead. The
// output is a complete standalone SVG document; all text is XML-escaped.

export interface ChartSeries {
  id: string;
  label: string;
  color?: string;
}

export interface ChartBar {
  series: string;
  /** The bar's length; undefined draws the `missing` text instead. */
  value?: number;
  min?: number;
  max?: number;
  /** Text beside the bar (default: the value). */
  label?: string;
  /** Why there is no bar (default "n/a"). */
  missing?: string;
}

export interface ChartGroup {
  title: string;
  /** A line under the title (e.g. "higher is better"). */
  note?: string;
  bars: ChartBar[];
}

export interface ChartSpec {
  title: string;
  subtitle?: string;
  series: ChartSeries[];
  groups: ChartGroup[];
  /** Text at the bottom (method, command line). */
  footer?: string[];
  width?: number;
}

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const BAR_H = 16;
const BAR_GAP = 5;
const GROUP_GAP = 22;
const LABEL_W = 170;
const VALUE_W = 230;
const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

function num(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0';
}

export function defaultLabel(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function renderChart(spec: ChartSpec): string {
  const width = spec.width ?? 980;
  const barW = width - LABEL_W - VALUE_W - 20;
  const colour = new Map(spec.series.map((s, i) => [s.id, s.color ?? PALETTE[i % PALETTE.length]]));
  const seriesLabel = new Map(spec.series.map((s) => [s.id, s.label]));
  const body: string[] = [];
  let y = 30;
  body.push(`<text x="10" y="${y}" font-size="18" font-weight="bold">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) {
    y += 20;
    body.push(`<text x="10" y="${y}" font-size="12" fill="#555">${escapeXml(spec.subtitle)}</text>`);
  }
  // legend
  y += 24;
  let lx = 10;
  for (const s of spec.series) {
    body.push(`<rect x="${lx}" y="${y - 11}" width="12" height="12" fill="${colour.get(s.id)}"/>`);
    body.push(`<text x="${lx + 16}" y="${y}" font-size="12">${escapeXml(s.label)}</text>`);
    lx += 16 + 7 * s.label.length + 18;
    if (lx > width - 150) {
      lx = 10;
      y += 18;
    }
  }
  y += 14;
  for (const g of spec.groups) {
    y += GROUP_GAP;
    body.push(`<text x="10" y="${y}" font-size="14" font-weight="bold">${escapeXml(g.title)}</text>`);
    if (g.note) body.push(`<text x="${width - 10}" y="${y}" font-size="11" fill="#555" text-anchor="end">${escapeXml(g.note)}</text>`);
    y += 8;
    const vals = g.bars.flatMap((b) => [b.value, b.max, b.min]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const top = Math.max(0, ...vals);
    const scale = top > 0 ? barW / (top * 1.05) : 0;
    const x0 = LABEL_W;
    body.push(`<line x1="${x0}" y1="${y}" x2="${x0}" y2="${y + g.bars.length * (BAR_H + BAR_GAP)}" stroke="#999"/>`);
    for (const b of g.bars) {
      const cy = y + BAR_H / 2;
      body.push(`<text x="${x0 - 6}" y="${cy + 4}" font-size="12" text-anchor="end">${escapeXml(seriesLabel.get(b.series) ?? b.series)}</text>`);
      if (b.value === undefined || !Number.isFinite(b.value)) {
        body.push(`<text x="${x0 + 6}" y="${cy + 4}" font-size="11" fill="#999">${escapeXml(b.missing ?? 'n/a')}</text>`);
      } else {
        const w = Math.max(1, Math.max(0, b.value) * scale);
        body.push(`<rect x="${x0}" y="${y}" width="${num(w)}" height="${BAR_H}" fill="${colour.get(b.series) ?? '#888'}"/>`);
        let end = x0 + w;
        if (b.min !== undefined && b.max !== undefined && Number.isFinite(b.min) && Number.isFinite(b.max)) {
          const a = x0 + Math.max(0, b.min) * scale;
          const z = x0 + Math.max(0, b.max) * scale;
          body.push(`<g stroke="#222" stroke-width="1.2"><line x1="${num(a)}" y1="${cy}" x2="${num(z)}" y2="${cy}"/>` +
            `<line x1="${num(a)}" y1="${cy - 5}" x2="${num(a)}" y2="${cy + 5}"/><line x1="${num(z)}" y1="${cy - 5}" x2="${num(z)}" y2="${cy + 5}"/></g>`);
          end = Math.max(end, z);
        }
        body.push(`<text x="${num(end + 6)}" y="${cy + 4}" font-size="12">${escapeXml(b.label ?? defaultLabel(b.value))}</text>`);
      }
      y += BAR_H + BAR_GAP;
    }
  }
  y += 10;
  for (const f of spec.footer ?? []) {
    y += 15;
    body.push(`<text x="10" y="${y}" font-size="11" fill="#555">${escapeXml(f)}</text>`);
  }
  const height = y + 15;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>
<rect width="100%" height="100%" fill="#fff"/>
${body.join('\n')}
</svg>
`;
}
