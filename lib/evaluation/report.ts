import type { EvaluationDocument } from './evaluation-document';
import { checkDirectional, checkInvariance, checkSlices, fmt, type RuleOutcome } from './gate';
import type { Interval } from '../stats/intervals';
import { isLowerBetter, METRIC_NAMES, type TaskEvaluation } from './metrics';
import { htmlPage, htmlSection } from './html-page';
import { barChart, escapeXml, heatmap, lineChart, PALETTE, shorten } from './svg-charts';

/**
 * The evaluation report: one self-contained HTML page (inline CSS and SVG; no script, font, stylesheet or
 * image from anywhere else), rendered on the server from the evaluation document and the training history.
 * Opens from a presigned link in the Temporal UI, offline, years later.
 */

export interface LossPoint {
  epoch: number;
  trainLoss?: number;
  validationLoss?: number;
}

/**
 * Reads the train stage's history JSON leniently: an array of epochs or an object holding one under
 * `epochs` or `history`; per epoch `trainLoss`/`loss` and `validationLoss`/`valLoss`/`val_loss`.
 * Anything else gives no points (the report then says so) rather than failing the evaluation.
 */
export function parseLossHistory(raw: unknown): LossPoint[] {
  const list = Array.isArray(raw)
    ? raw
    : isRecord(raw)
      ? Array.isArray(raw.epochs)
        ? raw.epochs
        : Array.isArray(raw.history)
          ? raw.history
          : []
      : [];
  const points: LossPoint[] = [];
  list.forEach((entry: unknown, i) => {
    if (!isRecord(entry)) return;
    const epoch = finite(entry.epoch) ?? i + 1;
    const trainLoss = finite(entry.trainLoss) ?? finite(entry.loss);
    const validationLoss = finite(entry.validationLoss) ?? finite(entry.valLoss) ?? finite(entry.val_loss);
    if (trainLoss === undefined && validationLoss === undefined) return;
    points.push({ epoch, trainLoss, validationLoss });
  });
  return points;
}

export function renderReport(document: EvaluationDocument, history: LossPoint[]): string {
  const blessed = document.decision === 'blessed';
  const title = `${document.model} — evaluation: ${document.decision}`;
  const sections = [
    header(document),
    htmlSection('Metrics: challenger, baselines and champion', metricsTable(document)),
    htmlSection('Charts', `<div class="charts">${charts(document, history).join('')}</div>`),
    document.challenger.perClass ? htmlSection('Per class', perClassTable(document.challenger)) : '',
    document.slices.length > 0
      ? htmlSection('Slices', `<div class="charts">${document.slices.map(sliceChart).join('')}</div>`)
      : '',
    document.invariance.length + document.directional.length > 0
      ? htmlSection('Behavioural tests', behaviouralTable(document))
      : '',
    htmlSection('Gate rules', rulesTable(document.rules)),
    footer(document),
  ];
  return htmlPage({ title, style: STYLE, bodyClass: blessed ? 'blessed' : 'rejected', sections });
}

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #0f172a; margin: 0 auto; padding: 24px; max-width: 1320px; background: #f8fafc; }
h1 { font-size: 22px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 0 0 12px; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.meta { color: #475569; overflow-wrap: anywhere; }
.decision { display: inline-block; padding: 2px 12px; border-radius: 999px; font-weight: 700; color: #fff; text-transform: uppercase; letter-spacing: .04em; }
.blessed .decision { background: #16a34a; } .rejected .decision { background: #dc2626; }
ul.reasons { margin: 10px 0 0; padding-left: 20px; } ul.reasons li { overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
th { background: #f1f5f9; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { overflow-wrap: anywhere; max-width: 820px; }
.better { color: #15803d; } .worse { color: #b91c1c; }
.pass { color: #15803d; font-weight: 600; } .fail { color: #b91c1c; font-weight: 600; } .skip { color: #64748b; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } .charts svg { max-width: 100%; height: auto; background: #fff; }
.note { color: #64748b; font-size: 13px; }
footer { color: #64748b; font-size: 12px; overflow-wrap: anywhere; }
`;

function header(d: EvaluationDocument): string {
  const reasons = d.reasons.map((r) => `<li>${escapeXml(r)}</li>`).join('');
  return `<section>
<h1>${escapeXml(d.model)} <span class="decision">${escapeXml(d.decision)}</span></h1>
<div class="meta">${escapeXml(d.task)} · ${d.testRows} test rows · run ${escapeXml(d.workflowId)} · ${escapeXml(d.createdAt)}</div>
<ul class="reasons">${reasons}</ul>
</section>`;
}

function metricsTable(d: EvaluationDocument): string {
  const champion = d.baselines.champion;
  const names = METRIC_NAMES[d.task];
  const head = [
    'metric',
    'challenger',
    `${Math.round((d.evidence?.confidence ?? 0.95) * 100)}% interval`,
    `zero-rule (${d.task === 'regression' ? 'train mean' : 'train class frequencies'})`,
    `random (${d.task === 'regression' ? 'normal, train mean and sd' : 'stratified'})`,
  ];
  if (champion) head.push(`champion v${champion.version}`, 'change vs champion');
  const rows = names.map((name) => {
    const value = d.challenger.metrics[name];
    const cells = [
      `<td>${escapeXml(name)}${name === d.mainMetric ? ' <span class="note">(main)</span>' : ''}${isLowerBetter(name) ? ' <span class="note">↓</span>' : ''}</td>`,
      numCell(value),
      intervalCell(value, d.challenger.intervals?.[name]),
    ];
    cells.push(numCell(d.baselines.zeroRule.metrics[name]), numCell(d.baselines.random.metrics[name]));
    if (champion) {
      const base = champion.metrics?.[name];
      cells.push(numCell(base));
      if (value === undefined || base === undefined || !Number.isFinite(value) || !Number.isFinite(base))
        cells.push('<td class="num">–</td>');
      else {
        const change = value - base;
        const improved = isLowerBetter(name) ? change < 0 : change > 0;
        const cls = change === 0 ? '' : improved ? 'better' : 'worse';
        cells.push(`<td class="num ${cls}">${change > 0 ? '+' : ''}${fmt(change)}</td>`);
      }
    }
    return `<tr>${cells.join('')}</tr>`;
  });
  const note = champion?.error
    ? `<p class="note">The champion could not be evaluated on this split: ${escapeXml(champion.error)}</p>`
    : '';
  return `<table><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>
<p class="note">All on the same ${d.testRows}-row test split; ↓ marks lower-is-better metrics${d.task === 'binary' ? `; threshold metrics at ${fmt(d.decisionThreshold)}${d.thresholdChoice ? ` (${escapeXml(d.thresholdChoice.note)})` : ''}` : ''}. Intervals: Wilson for proportions, DeLong for ROC-AUC, normal for mean losses, a seeded bootstrap over test rows for the rest.</p>${note}${decidedBy(d)}`;
}

/** "[lo, hi]" and, for metrics on a 0–1 scale, a small error bar drawn to that scale. */
function intervalCell(value: number | undefined, interval: Interval | undefined): string {
  if (!interval || !Number.isFinite(interval.lower) || !Number.isFinite(interval.upper))
    return '<td class="num">–</td>';
  const text = `[${fmt(interval.lower)}, ${fmt(interval.upper)}]`;
  const unit = value !== undefined && value >= 0 && value <= 1 && interval.lower >= 0 && interval.upper <= 1;
  const x = (v: number) => (4 + v * 92).toFixed(1);
  const bar = unit
    ? `<svg width="100" height="12" viewBox="0 0 100 12" role="img" aria-label="${escapeXml(text)}"><line x1="4" y1="6" x2="96" y2="6" stroke="#e2e8f0"/><line x1="${x(interval.lower)}" y1="6" x2="${x(interval.upper)}" y2="6" stroke="#334155" stroke-width="2"/><line x1="${x(interval.lower)}" y1="2" x2="${x(interval.lower)}" y2="10" stroke="#334155"/><line x1="${x(interval.upper)}" y1="2" x2="${x(interval.upper)}" y2="10" stroke="#334155"/><circle cx="${x(value)}" cy="6" r="2.5" fill="#2563eb"/></svg> `
    : '';
  return `<td class="num" title="${escapeXml(interval.method)}">${bar}${escapeXml(text)}</td>`;
}

function charts(d: EvaluationDocument, history: LossPoint[]): string[] {
  const result: string[] = [];
  const curves = d.challenger.curves;
  const championCurves = d.baselines.champion?.evaluation?.curves;
  const championName = `champion v${d.baselines.champion?.version ?? ''}`;
  if (curves) {
    const roc = [{ name: 'challenger', points: curves.roc.map((p) => [p.fpr, p.tpr] as const) }];
    if (championCurves)
      roc.push({ name: championName, points: championCurves.roc.map((p) => [p.fpr, p.tpr] as const) });
    result.push(
      lineChart({
        title: `ROC curve (AUC ${fmt(d.challenger.metrics.roc_auc ?? Number.NaN)})`,
        xLabel: 'false positive rate',
        yLabel: 'true positive rate',
        series: roc,
        xDomain: [0, 1],
        yDomain: [0, 1],
        diagonal: true,
      }),
    );
    const pr = [{ name: 'challenger', points: curves.pr.map((p) => [p.recall, p.precision] as const) }];
    if (championCurves)
      pr.push({ name: championName, points: championCurves.pr.map((p) => [p.recall, p.precision] as const) });
    result.push(
      lineChart({
        title: `Precision-recall (AP ${fmt(d.challenger.metrics.pr_auc ?? Number.NaN)})`,
        xLabel: 'recall',
        yLabel: 'precision',
        series: pr,
        xDomain: [0, 1],
        yDomain: [0, 1],
      }),
    );
    result.push(
      lineChart({
        title: `Calibration (ECE ${fmt(d.challenger.metrics.ece ?? Number.NaN)})`,
        xLabel: 'mean predicted probability',
        yLabel: 'observed positive rate',
        series: [
          {
            name: 'challenger',
            points: curves.calibration.map((b) => [b.meanPredicted, b.observedRate] as const),
            mode: 'line+points',
          },
        ],
        xDomain: [0, 1],
        yDomain: [0, 1],
        diagonal: true,
      }),
    );
  }
  if (d.challenger.confusion) {
    const { labels, counts } = d.challenger.confusion;
    result.push(
      heatmap({
        title: 'Confusion matrix',
        rowLabels: labels,
        columnLabels: labels,
        rowTitle: 'actual',
        columnTitle: 'predicted',
        counts,
      }),
    );
  }
  if (d.regressionSample && d.regressionSample.length > 0) {
    result.push(
      lineChart({
        title: `Predicted vs actual (${d.regressionSample.length} rows)`,
        xLabel: 'actual',
        yLabel: 'predicted',
        series: [{ name: 'rows', points: d.regressionSample, mode: 'points' }],
        diagonal: true,
      }),
    );
  }
  const train = history.filter((p) => p.trainLoss !== undefined).map((p) => [p.epoch, p.trainLoss as number] as const);
  const validation = history
    .filter((p) => p.validationLoss !== undefined)
    .map((p) => [p.epoch, p.validationLoss as number] as const);
  if (train.length + validation.length > 0) {
    const mode = Math.max(train.length, validation.length) <= 30 ? 'line+points' : 'line';
    result.push(
      lineChart({
        title: 'Loss curves',
        xLabel: 'epoch',
        yLabel: 'loss',
        series: [
          { name: 'train loss', points: train, color: PALETTE[0], mode },
          { name: 'validation loss', points: validation, color: PALETTE[1], mode, dashed: true },
        ],
      }),
    );
  } else {
    result.push('<p class="note">No training history was available for loss curves.</p>');
  }
  return result;
}

function perClassTable(evaluation: TaskEvaluation): string {
  const rows = (evaluation.perClass ?? []).map(
    (c) =>
      `<tr><td class="text">${escapeXml(shorten(c.label, 120))}</td>${numCell(c.precision)}${numCell(c.recall)}${numCell(c.f1)}<td class="num">${c.support}</td></tr>`,
  );
  return `<table><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function sliceChart(measurement: EvaluationDocument['slices'][number]): string {
  const outcomes = checkSlices(measurement);
  const lower = isLowerBetter(measurement.metric);
  const bars = measurement.slices.map((slice, i) => {
    const passed = outcomes[i]?.passed;
    return {
      label: slice.value,
      value: slice.metricValue,
      status: passed === true ? ('pass' as const) : passed === false ? ('fail' as const) : ('not-judged' as const),
      note: `n=${slice.size}${passed === null ? ' · not judged' : ''}`,
    };
  });
  const domain: [number, number] | undefined = [
    'accuracy',
    'precision',
    'recall',
    'f1',
    'roc_auc',
    'pr_auc',
    'macro_f1',
    'micro_f1',
  ].includes(measurement.metric)
    ? [0, 1]
    : undefined;
  return barChart({
    title: `${measurement.metric} by ${shorten(measurement.column, 40)}`,
    valueLabel: measurement.metric,
    bars,
    reference: { value: measurement.floor, label: `${lower ? 'ceiling' : 'floor'} ${fmt(measurement.floor)}` },
    domain,
  });
}

function behaviouralTable(d: EvaluationDocument): string {
  const rows: string[] = [];
  for (const m of d.invariance) {
    rows.push(
      `<tr><td>invariance</td><td class="text">${escapeXml(shorten(m.column, 120))}</td><td class="text">${escapeXml(m.perturbation)}</td><td class="num">mean |Δ| ${fmt(m.meanAbsChange)} (max ${fmt(m.maxAbsChange)})</td><td class="num">&lt; ${fmt(m.epsilon)}</td>${statusCell(checkInvariance(m).passed)}</tr>`,
    );
  }
  for (const m of d.directional) {
    const observed =
      m.meanChange === undefined
        ? escapeXml(m.note ?? 'not run')
        : `mean Δ ${fmt(m.meanChange)}; ${fmt((m.wrongWayShare ?? 0) * 100)}% of rows the other way`;
    rows.push(
      `<tr><td>directional</td><td class="text">${escapeXml(shorten(m.column, 120))}</td><td class="text">${m.delta === undefined ? '–' : `raised by ${fmt(m.delta)} (1 sd)`}</td><td class="num">${observed}</td><td class="num">${m.direction === 'increase' ? 'mean Δ ≥ 0' : 'mean Δ ≤ 0'}</td>${statusCell(checkDirectional(m).passed)}</tr>`,
    );
  }
  return `<table><thead><tr><th>test</th><th>column</th><th>perturbation</th><th>observed</th><th>expected</th><th>result</th></tr></thead><tbody>${rows.join('')}</tbody></table>
<p class="note">Scores: binary P(positive), multiclass the largest class-probability change, regression the predicted value.</p>`;
}

/** Which rule decided, in one line: the failed rules when rejected, the waiting reason when a person must approve. */
function decidedBy(d: EvaluationDocument): string {
  const failed = d.rules.filter((r) => r.passed === false).map((r) => r.rule);
  const text =
    d.decision === 'rejected'
      ? `Decided by: ${[...new Set(failed)].join(', ')} (failed).`
      : d.approvalRequired
        ? `Blessed, but promotion waits for a person: ${d.approvalRequired}`
        : `Blessed: every judged rule passed at α ${fmt(d.evidence?.alpha ?? 0.05)} (one-sided).`;
  return `<p class="note"><strong>${escapeXml(text)}</strong></p>`;
}

function rulesTable(rules: RuleOutcome[]): string {
  const rows = rules.map(
    (r) => `<tr><td>${escapeXml(r.rule)}</td>${statusCell(r.passed)}<td class="text">${escapeXml(r.message)}</td></tr>`,
  );
  return `<table><thead><tr><th>rule</th><th>result</th><th>detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function footer(d: EvaluationDocument): string {
  const refs = Object.entries(d.inputs).map(
    ([name, ref]) => `${escapeXml(name)}: ${escapeXml(ref.uri)} (sha256 ${escapeXml(ref.sha256.slice(0, 12))}…)`,
  );
  return `<footer>Generated by trainyard in ${Math.round(d.evaluateMs)} ms.<br>${refs.join('<br>')}</footer>`;
}

function statusCell(passed: boolean | null): string {
  if (passed === true) return '<td class="pass">✔ pass</td>';
  if (passed === false) return '<td class="fail">✘ fail</td>';
  return '<td class="skip">– not judged</td>';
}

function numCell(value: number | undefined): string {
  return `<td class="num">${value === undefined || !Number.isFinite(value) ? '–' : fmt(value)}</td>`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
