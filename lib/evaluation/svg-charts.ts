/**
 * Small server-side SVG charts for the evaluation report: line/point charts, a heatmap and horizontal
 * bars. Hand-rolled so the report needs no browser, canvas or external script. Every string that comes
 * from data (column names, class labels, slice values) goes through `escapeXml`. The SVG is meant to be
 * inlined in HTML, where it needs no xmlns (so the page carries no URL at all).
 */

export const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#0891b2', '#b91c1c'];
const AXIS = '#475569';
const GRID = '#e2e8f0';
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

/** Escapes text for HTML and SVG content and attributes; drops characters XML cannot hold at all. */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]|\p{Surrogate}/gu, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Long labels are cut for display; the full text stays in a <title> tooltip. */
export function shorten(text: string, maxChars: number): string {
  const chars = [...text];
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`;
}

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  /** Lines join the points (default); points draws circles only (scatter). */
  mode?: 'line' | 'points' | 'line+points';
  dashed?: boolean;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** A dashed y = x reference line (ROC chance, perfect calibration). */
  diagonal?: boolean;
  width?: number;
  height?: number;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export function lineChart(spec: LineChartSpec): string {
  const legendRows = spec.series.length < 2 ? 0 : 1;
  const frame: Frame = {
    width: spec.width ?? 420,
    height: (spec.height ?? 320) + legendRows * 18,
    left: 56,
    right: 16,
    top: 34 + legendRows * 18,
    bottom: 48,
  };
  const allPoints = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xDomain = spec.xDomain ?? paddedDomain(allPoints.map(([x]) => x));
  const yDomain = spec.yDomain ?? paddedDomain(allPoints.map(([, y]) => y));
  const sx = scale(xDomain, [frame.left, frame.width - frame.right]);
  const sy = scale(yDomain, [frame.height - frame.bottom, frame.top]);
  const parts: string[] = [
    openSvg(frame, spec.title),
    titleText(frame, spec.title),
    axes(frame, xDomain, yDomain, sx, sy, spec.xLabel, spec.yLabel),
  ];
  if (spec.diagonal) {
    const lo = Math.max(xDomain[0], yDomain[0]);
    const hi = Math.min(xDomain[1], yDomain[1]);
    parts.push(
      `<line x1="${n(sx(lo))}" y1="${n(sy(lo))}" x2="${n(sx(hi))}" y2="${n(sy(hi))}" stroke="#94a3b8" stroke-dasharray="4 4"/>`,
    );
  }
  spec.series.forEach((series, i) => {
    const color = series.color ?? PALETTE[i % PALETTE.length];
    const points = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const mode = series.mode ?? 'line';
    if (mode !== 'points' && points.length > 1) {
      const path = points.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${n(sx(x))},${n(sy(y))}`).join('');
      parts.push(
        `<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 3"' : ''}><title>${escapeXml(series.name)}</title></path>`,
      );
    }
    if (mode !== 'line' || points.length === 1) {
      const radius = mode === 'points' ? 2.5 : 3.5;
      const dots = points.map(([x, y]) => `<circle cx="${n(sx(x))}" cy="${n(sy(y))}" r="${radius}"/>`).join('');
      parts.push(`<g fill="${color}" fill-opacity="${mode === 'points' ? 0.55 : 1}">${dots}</g>`);
    }
  });
  parts.push(legend(frame, spec.series));
  parts.push('</svg>');
  return parts.join('');
}

export interface HeatmapSpec {
  title: string;
  rowLabels: string[];
  columnLabels: string[];
  rowTitle: string;
  columnTitle: string;
  counts: number[][];
}

/** A confusion-matrix style grid: cell shade by share of its row, count printed in each cell. */
export function heatmap(spec: HeatmapSpec): string {
  const k = spec.columnLabels.length;
  const cell = Math.max(28, Math.min(64, Math.floor(360 / Math.max(1, k))));
  const labelWidth = 110;
  const frame: Frame = {
    width: labelWidth + 24 + cell * k + 16,
    height: 34 + 40 + cell * spec.rowLabels.length + 40,
    left: labelWidth + 24,
    right: 16,
    top: 74,
    bottom: 40,
  };
  const parts: string[] = [openSvg(frame, spec.title), titleText(frame, spec.title)];
  parts.push(
    `<text x="${frame.left + (cell * k) / 2}" y="${frame.top - 30}" text-anchor="middle" font-size="12" fill="${AXIS}">${escapeXml(spec.columnTitle)}</text>`,
  );
  spec.columnLabels.forEach((label, c) => {
    parts.push(
      `<text x="${frame.left + c * cell + cell / 2}" y="${frame.top - 8}" text-anchor="middle" font-size="11" fill="${AXIS}"><title>${escapeXml(label)}</title>${escapeXml(shorten(label, Math.max(3, Math.floor(cell / 7))))}</text>`,
    );
  });
  parts.push(
    `<text transform="translate(12 ${frame.top + (cell * spec.rowLabels.length) / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="${AXIS}">${escapeXml(spec.rowTitle)}</text>`,
  );
  spec.rowLabels.forEach((label, r) => {
    const row = spec.counts[r] ?? [];
    const rowTotal = row.reduce((a, b) => a + b, 0);
    parts.push(
      `<text x="${frame.left - 6}" y="${frame.top + r * cell + cell / 2 + 4}" text-anchor="end" font-size="11" fill="${AXIS}"><title>${escapeXml(label)}</title>${escapeXml(shorten(label, 16))}</text>`,
    );
    row.forEach((count, c) => {
      const share = rowTotal === 0 ? 0 : count / rowTotal;
      const fill =
        r === c
          ? `rgba(37,99,235,${n(0.08 + 0.85 * share)})`
          : `rgba(234,88,12,${n(share === 0 ? 0.03 : 0.15 + 0.7 * share)})`;
      const x = frame.left + c * cell;
      const y = frame.top + r * cell;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff"><title>${escapeXml(`${label} → ${spec.columnLabels[c] ?? ''}: ${count}`)}</title></rect>`,
      );
      parts.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="12" fill="${share > 0.6 ? '#fff' : '#0f172a'}">${count}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface Bar {
  label: string;
  value: number;
  /** Colour: pass (blue), fail (red), not judged (grey). */
  status: 'pass' | 'fail' | 'not-judged';
  note?: string;
}

export interface BarChartSpec {
  title: string;
  valueLabel: string;
  bars: Bar[];
  /** A vertical rule at the floor / ceiling. */
  reference?: { value: number; label: string };
  domain?: [number, number];
}

const BAR_COLORS = { pass: '#2563eb', fail: '#dc2626', 'not-judged': '#94a3b8' };

export function barChart(spec: BarChartSpec): string {
  const barHeight = 22;
  const labelWidth = 150;
  const frame: Frame = {
    width: 600,
    height: 48 + spec.bars.length * (barHeight + 6) + 48,
    left: labelWidth + 12,
    right: 150,
    top: 48,
    bottom: 48,
  };
  const values = spec.bars.map((b) => b.value).filter(Number.isFinite);
  const domain = spec.domain ?? [
    Math.min(0, ...values, spec.reference?.value ?? 0),
    Math.max(...values, spec.reference?.value ?? 0, 1e-9),
  ];
  const sx = scale(domain, [frame.left, frame.width - frame.right]);
  const parts: string[] = [openSvg(frame, spec.title), titleText(frame, spec.title)];
  const axisY = frame.height - frame.bottom;
  for (const tick of niceTicks(domain[0], domain[1], 5)) {
    parts.push(`<line x1="${n(sx(tick))}" y1="${frame.top}" x2="${n(sx(tick))}" y2="${axisY}" stroke="${GRID}"/>`);
    parts.push(
      `<text x="${n(sx(tick))}" y="${axisY + 16}" text-anchor="middle" font-size="11" fill="${AXIS}">${formatTick(tick)}</text>`,
    );
  }
  parts.push(
    `<text x="${(frame.left + frame.width - frame.right) / 2}" y="${frame.height - 8}" text-anchor="middle" font-size="12" fill="${AXIS}">${escapeXml(spec.valueLabel)}</text>`,
  );
  spec.bars.forEach((bar, i) => {
    const y = frame.top + i * (barHeight + 6);
    const x0 = sx(Math.max(domain[0], 0));
    const value = Number.isFinite(bar.value) ? bar.value : domain[0];
    const x1 = sx(value);
    const tooltip = escapeXml(
      `${bar.label}: ${Number.isFinite(bar.value) ? formatTick(bar.value) : 'n/a'}${bar.note ? ` (${bar.note})` : ''}`,
    );
    parts.push(
      `<text x="${frame.left - 6}" y="${y + barHeight / 2 + 4}" text-anchor="end" font-size="11" fill="${AXIS}"><title>${tooltip}</title>${escapeXml(shorten(bar.label, 22))}</text>`,
    );
    parts.push(
      `<rect x="${n(Math.min(x0, x1))}" y="${y}" width="${n(Math.max(1, Math.abs(x1 - x0)))}" height="${barHeight}" fill="${BAR_COLORS[bar.status]}"><title>${tooltip}</title></rect>`,
    );
    const valueText = Number.isFinite(bar.value) ? formatTick(bar.value) : 'n/a';
    parts.push(
      `<text x="${frame.width - frame.right + 8}" y="${y + barHeight / 2 + 4}" font-size="11" fill="#0f172a">${valueText}${bar.note ? ` ${escapeXml(shorten(bar.note, 24))}` : ''}</text>`,
    );
  });
  if (spec.reference) {
    const x = n(sx(spec.reference.value));
    parts.push(
      `<line x1="${x}" y1="${frame.top - 4}" x2="${x}" y2="${axisY}" stroke="#0f172a" stroke-dasharray="5 3" stroke-width="1.5"><title>${escapeXml(spec.reference.label)}</title></line>`,
    );
    parts.push(
      `<text x="${x}" y="${frame.top - 8}" text-anchor="middle" font-size="11" fill="#0f172a">${escapeXml(spec.reference.label)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Round tick values covering [min, max]: steps of 1, 2 or 5 × 10ⁿ. */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max === min) return [min];
  const rough = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function axes(
  frame: Frame,
  xDomain: [number, number],
  yDomain: [number, number],
  sx: (v: number) => number,
  sy: (v: number) => number,
  xLabel: string,
  yLabel: string,
): string {
  const parts: string[] = [];
  const bottom = frame.height - frame.bottom;
  const right = frame.width - frame.right;
  for (const tick of niceTicks(xDomain[0], xDomain[1], 5)) {
    parts.push(`<line x1="${n(sx(tick))}" y1="${frame.top}" x2="${n(sx(tick))}" y2="${bottom}" stroke="${GRID}"/>`);
    parts.push(
      `<text x="${n(sx(tick))}" y="${bottom + 16}" text-anchor="middle" font-size="11" fill="${AXIS}">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of niceTicks(yDomain[0], yDomain[1], 5)) {
    parts.push(`<line x1="${frame.left}" y1="${n(sy(tick))}" x2="${right}" y2="${n(sy(tick))}" stroke="${GRID}"/>`);
    parts.push(
      `<text x="${frame.left - 6}" y="${n(sy(tick) + 4)}" text-anchor="end" font-size="11" fill="${AXIS}">${formatTick(tick)}</text>`,
    );
  }
  parts.push(
    `<rect x="${frame.left}" y="${frame.top}" width="${right - frame.left}" height="${bottom - frame.top}" fill="none" stroke="${AXIS}"/>`,
  );
  parts.push(
    `<text x="${(frame.left + right) / 2}" y="${frame.height - 10}" text-anchor="middle" font-size="12" fill="${AXIS}">${escapeXml(xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14 ${(frame.top + bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="${AXIS}">${escapeXml(yLabel)}</text>`,
  );
  return parts.join('');
}

/** One row under the title, outside the plot, so it never hides a curve. */
function legend(frame: Frame, series: Series[]): string {
  if (series.length < 2) return '';
  const slot = (frame.width - frame.left - frame.right) / series.length;
  return series
    .map((s, i) => {
      const color = s.color ?? PALETTE[i % PALETTE.length];
      const x = frame.left + i * slot;
      const y = frame.top - 12;
      const label = escapeXml(shorten(s.name, Math.max(8, Math.floor(slot / 7) - 3)));
      return `<g font-size="11"><rect x="${n(x)}" y="${y - 4}" width="14" height="4" fill="${color}"/><text x="${n(x + 18)}" y="${y}" fill="#0f172a">${label}</text></g>`;
    })
    .join('');
}

function openSvg(frame: Frame, title: string): string {
  return `<svg viewBox="0 0 ${frame.width} ${frame.height}" width="${frame.width}" height="${frame.height}" role="img" aria-label="${escapeXml(title)}" ${FONT}>`;
}

function titleText(frame: Frame, title: string): string {
  return `<title>${escapeXml(title)}</title><text x="${frame.width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600" fill="#0f172a">${escapeXml(shorten(title, 70))}</text>`;
}

function scale(domain: [number, number], range: [number, number]): (v: number) => number {
  const span = domain[1] - domain[0] || 1;
  return (v) => range[0] + ((v - domain[0]) / span) * (range[1] - range[0]);
}

function paddedDomain(values: number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) {
    min -= Math.abs(min) * 0.1 || 1;
    max += Math.abs(max) * 0.1 || 1;
  }
  const pad = (max - min) * 0.05;
  return [min - pad, max + pad];
}

function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return value.toExponential(1);
  return String(Number(value.toPrecision(4)));
}

/** Coordinates with two decimals: smaller files, no visible difference. */
function n(value: number): string {
  return String(Math.round(value * 100) / 100);
}
