import { escapeHtml as h } from './html.js';

/** Server-drawn SVG charts: no script library, nothing fetched from the internet. */

const W = 640;

export function lineChart(points: { x: number; y: number | null }[], opts: { yMax: number; height?: number; title: string; xLabel: (x: number) => string }): string {
  const height = opts.height ?? 160;
  const pad = { l: 30, r: 8, t: 18, b: 20 };
  const valid = points.filter((p) => p.y !== null);
  if (valid.length === 0) return `<p class="muted">${h(opts.title)}: —</p>`;
  const x0 = points[0]!.x;
  const x1 = Math.max(points[points.length - 1]!.x, x0 + 1);
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const sy = (y: number) => pad.t + (1 - y / opts.yMax) * (height - pad.t - pad.b);
  // A gap (no reading) breaks the line instead of drawing a false slope across it.
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.y === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`;
    pen = true;
  }
  // Single readings between gaps would draw nothing as a path: each sample also gets a dot.
  const dots = valid.length <= 120 ? valid.map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y!).toFixed(1)}" r="2" fill="#0969da"/>`).join('') : '';
  const grid = [0, 0.5, 1].map((f) => {
    const y = sy(opts.yMax * f);
    return `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y}" y2="${y}" stroke="#eaeef2"/><text x="2" y="${y + 4}" font-size="10" fill="#57606a">${Math.round(opts.yMax * f)}</text>`;
  }).join('');
  return `<svg class="chart" viewBox="0 0 ${W} ${height}" role="img" aria-label="${h(opts.title)}"><text x="${pad.l}" y="12" font-size="11" fill="#57606a">${h(opts.title)}</text>${grid}
<path d="${d}" fill="none" stroke="#0969da" stroke-width="1.5"/>${dots}
<text x="${pad.l}" y="${height - 4}" font-size="10" fill="#57606a">${h(opts.xLabel(x0))}</text><text x="${W - pad.r}" y="${height - 4}" font-size="10" fill="#57606a" text-anchor="end">${h(opts.xLabel(x1))}</text></svg>`;
}

/** Stacked bars per bucket (sent green, failed red). */
export function barChart(buckets: { label: string; sent: number; failed: number }[], opts: { title: string; height?: number; labelEvery?: number }): string {
  const height = opts.height ?? 180;
  const pad = { l: 30, r: 8, t: 18, b: 20 };
  const max = Math.max(1, ...buckets.map((b) => b.sent + b.failed));
  const bw = (W - pad.l - pad.r) / Math.max(1, buckets.length);
  const sy = (v: number) => (v / max) * (height - pad.t - pad.b);
  const every = opts.labelEvery ?? 24;
  const bars = buckets.map((b, i) => {
    const x = pad.l + i * bw;
    const hs = sy(b.sent);
    const hf = sy(b.failed);
    const base = height - pad.b;
    return `<rect x="${x.toFixed(1)}" y="${(base - hs).toFixed(1)}" width="${Math.max(bw - 0.5, 0.5).toFixed(1)}" height="${hs.toFixed(1)}" fill="#2da44e"><title>${h(b.label)}: ${b.sent} / ${b.failed}</title></rect>`
      + (b.failed ? `<rect x="${x.toFixed(1)}" y="${(base - hs - hf).toFixed(1)}" width="${Math.max(bw - 0.5, 0.5).toFixed(1)}" height="${hf.toFixed(1)}" fill="#cf222e"/>` : '')
      + (i % every === 0 ? `<text x="${x.toFixed(1)}" y="${height - 4}" font-size="10" fill="#57606a">${h(b.label)}</text>` : '');
  }).join('');
  return `<svg class="chart" viewBox="0 0 ${W} ${height}" role="img" aria-label="${h(opts.title)}"><text x="${pad.l}" y="12" font-size="11" fill="#57606a">${h(opts.title)} (max ${max})</text>
<line x1="${pad.l}" x2="${W - pad.r}" y1="${height - pad.b}" y2="${height - pad.b}" stroke="#d0d7de"/>${bars}</svg>`;
}
