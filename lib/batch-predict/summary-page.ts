import { htmlPage, htmlSection } from '../evaluation/html-page';
import { barChart, escapeXml } from '../evaluation/svg-charts';
import type { BatchDrift } from './drift-table';
import type { PredictionsProfile, UnseenCategories } from './summary';

/** What the page shows: summary.json's fields (see activities/batch-predict.ts). */
export interface SummaryPageInput {
  model: string;
  modelVersion: number;
  alias?: string;
  task: string;
  decisionThreshold?: number;
  dataset: { uri: string; sha256: string; partitions: string[] | null };
  predictionsUri: string;
  rows: number;
  chunks: number;
  predictions: PredictionsProfile;
  unseenCategories: UnseenCategories[];
  convertedColumns: { column: string; from: string }[];
  warnings: string[];
  drift?: BatchDrift;
}

/**
 * The batch prediction summary as one self-contained HTML page (inline CSS and SVG, nothing loaded from
 * elsewhere), like the evaluation report. Every string that comes from the data, the input or the model is
 * escaped: column names, categories and URIs are untrusted.
 */
export function renderSummaryPage(s: SummaryPageInput): string {
  const title = `${s.model}:${s.modelVersion} — batch predictions`;
  const sections = [
    header(s),
    s.predictions.classes ? htmlSection('Predicted classes', classTable(s.predictions.classes, s.rows)) : '',
    htmlSection('Scores', scoreTable(s.predictions.scores)),
    htmlSection(
      `Warnings (${s.warnings.length})`,
      list(s.warnings, 'No warnings: the input matches the training schema.'),
    ),
    htmlSection('Categories training never saw', unseenTable(s.unseenCategories)),
    s.drift ? htmlSection('Drift from the training data', driftTable(s.drift)) : '',
    s.convertedColumns.length
      ? htmlSection(
          'Converted columns',
          table(
            ['column', 'type in the input'],
            s.convertedColumns.map((c) => [text(c.column), text(c.from)]),
          ),
        )
      : '',
  ];
  return htmlPage({ title, style: STYLE, sections });
}

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #0f172a; margin: 0 auto; padding: 24px; max-width: 1100px; background: #f8fafc; }
h1 { font-size: 22px; margin: 0 0 4px; overflow-wrap: anywhere; } h2 { font-size: 17px; margin: 0 0 12px; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.meta { color: #475569; overflow-wrap: anywhere; } .note { color: #64748b; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
th { background: #f1f5f9; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text, li { overflow-wrap: anywhere; } svg { max-width: 100%; height: auto; }
`;

function header(s: SummaryPageInput): string {
  const reference = s.alias ? `${s.model}@${s.alias} → version ${s.modelVersion}` : `${s.model}:${s.modelVersion}`;
  const partitions = s.dataset.partitions ? ` (partitions ${s.dataset.partitions.join(', ')})` : '';
  const threshold = s.decisionThreshold === undefined ? '' : ` · decision threshold ${num(s.decisionThreshold)}`;
  return `<section>
<h1>${escapeXml(reference)}</h1>
<div class="meta">${escapeXml(s.task)}${escapeXml(threshold)} · ${s.rows} rows in ${s.chunks} chunk${s.chunks === 1 ? '' : 's'}</div>
<div class="meta">dataset ${escapeXml(s.dataset.uri)}${escapeXml(partitions)} · sha256 ${escapeXml(s.dataset.sha256)}</div>
<div class="meta">predictions ${escapeXml(s.predictionsUri)}</div>
</section>`;
}

/** Cells are HTML already escaped: build them with text() or num(). */
function table(head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody></table>`;
}

function text(value: string): string {
  return `<td class="text">${escapeXml(value)}</td>`;
}

function numCell(value: number | null | undefined): string {
  return `<td class="num">${value === null || value === undefined ? '—' : escapeXml(num(value))}</td>`;
}

function num(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

function list(items: string[], empty: string): string {
  if (!items.length) return `<p class="note">${escapeXml(empty)}</p>`;
  return `<ul>${items.map((item) => `<li>${escapeXml(item)}</li>`).join('')}</ul>`;
}

function classTable(classes: Record<string, number>, rows: number): string {
  const entries = Object.entries(classes);
  const chart = barChart({
    title: 'Rows per predicted class',
    valueLabel: 'rows',
    bars: entries.map(([label, value]) => ({ label, value, status: 'pass' })),
  });
  return (
    table(
      ['class', 'rows', 'share'],
      entries.map(([c, n]) => [text(c), numCell(n), text(rows ? `${((100 * n) / rows).toFixed(1)}%` : '—')]),
    ) + chart
  );
}

function scoreTable(scores: PredictionsProfile['scores']): string {
  const columns = Object.entries(scores);
  if (!columns.length) return '<p class="note">No rows were scored.</p>';
  const names = Object.keys(columns[0]?.[1] ?? {});
  return table(
    ['score', ...names],
    columns.map(([column, values]) => [text(column), ...names.map((name) => numCell(values[name]))]),
  );
}

function unseenTable(unseen: UnseenCategories[]): string {
  if (!unseen.length) return '<p class="note">Every category was seen in training.</p>';
  return table(
    ['column', 'rows', 'share', 'examples'],
    unseen.map((u) => [
      text(u.column),
      numCell(u.rows),
      text(`${(100 * u.share).toFixed(1)}%`),
      text(u.examples.map((e) => JSON.stringify(e)).join(', ')),
    ]),
  );
}

function driftTable(drift: BatchDrift): string {
  const reference = `<p class="note">Against the version's training statistics, ${escapeXml(drift.reference)}: a chi-square test per column on the training bins, Holm-corrected, and an effect-size floor (PSI for numbers, Jensen–Shannon distance otherwise). Drift is a warning, never a failure.</p>`;
  if (drift.outcome !== 'judged') return `${reference}<p class="note">${escapeXml(drift.note ?? '')}</p>`;
  if (!drift.columns.length) return `${reference}<p class="note">No column of the input could be compared.</p>`;
  return (
    reference +
    table(
      ['column', 'chi-square', 'adjusted p', 'distance', 'floor', 'drifted', 'what moved'],
      drift.columns.map((c) => [
        text(c.column),
        numCell(c.statistic),
        numCell(c.adjustedPValue),
        text(`${c.metric} ${num(c.value)}`),
        numCell(c.floor),
        text(c.drifted ? 'yes' : 'no'),
        text(c.summary),
      ]),
    )
  );
}
