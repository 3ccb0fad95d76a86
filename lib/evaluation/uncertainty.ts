import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createSeededRandom } from '../data/seeded-random';
import { binomialUpperTail, normalQuantile, normalSurvival } from '../stats/distributions';
import {
  meanAndStandardError,
  normalInterval,
  percentileInterval,
  wilsonInterval,
  type Interval,
} from '../stats/intervals';
import {
  averagePrecision,
  binaryCounts,
  evaluatePredictions,
  expectedCalibrationError,
  f1Of,
  isLowerBetter,
  type Numbers,
} from './metrics';
import { aucAboveChancePValue, aucComponents, delongVariance, rowCorrect, rowLosses } from './row-scores';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * How sure the gate can be: a confidence interval for every test metric, and paired comparisons of two
 * models scored on the same test rows. Analytic where a standard interval exists (Wilson for
 * proportions, DeLong for ROC-AUC, the normal interval of a mean for per-row losses); a seeded,
 * deterministic bootstrap over test rows for the rest. Pure: same inputs, same numbers.
 */

export interface UncertaintyOptions {
  threshold: number;
  classes?: string[];
  /** Two-sided confidence of reported intervals. */
  confidence: number;
  /** Bootstrap resamples for metrics without an analytic interval (fewer on large splits, see bootstrapCount). */
  resamples: number;
  seed: number;
}

/** Resamples × rows is capped so the bootstrap stays around a second on a million-row split; never fewer than 50. */
const BOOTSTRAP_ROW_BUDGET = 5_000_000;
const MIN_RESAMPLES = 50;

export function bootstrapCount(rows: number, resamples: number): number {
  return Math.min(resamples, Math.max(MIN_RESAMPLES, Math.floor(BOOTSTRAP_ROW_BUDGET / Math.max(1, rows))));
}

/** A 95% (or `confidence`) interval for every metric evaluatePredictions computes for the task. */
export async function metricIntervals(
  task: TaskType,
  labels: Numbers,
  outputs: Numbers,
  options: UncertaintyOptions,
): Promise<Record<string, Interval>> {
  const n = labels.length;
  const classCount = options.classes?.length ?? 2;
  const { confidence } = options;
  const intervals: Record<string, Interval> = {};
  const meanInterval = (values: ArrayLike<number>) => {
    const { mean, standardError } = meanAndStandardError(values);
    return normalInterval(mean, standardError, confidence);
  };
  if (task === 'regression') {
    const squared = rowLosses('regression', labels, outputs, 1);
    const absolute = squared.map(Math.sqrt);
    const mse = meanInterval(squared);
    const targetVariance = varianceOf(labels);
    intervals.mae = clampLower(meanInterval(absolute), 0);
    intervals.rmse = {
      lower: Math.sqrt(Math.max(0, mse.lower)),
      upper: Math.sqrt(Math.max(0, mse.upper)),
      method: 'normal',
    };
    intervals.r2 =
      targetVariance > 0
        ? { lower: 1 - mse.upper / targetVariance, upper: 1 - mse.lower / targetVariance, method: 'normal' }
        : nanInterval();
    return intervals;
  }
  const correct = rowCorrect(task, labels, outputs, classCount, options.threshold);
  const accuracy = wilsonInterval(sum(correct), n, confidence);
  intervals.accuracy = accuracy;
  intervals.log_loss = clampLower(meanInterval(rowLosses(task, labels, outputs, classCount)), 0);
  if (task === 'multiclass') {
    intervals.micro_f1 = accuracy;
    Object.assign(intervals, await bootstrapIntervals(task, labels, outputs, options, ['macro_f1']));
    return intervals;
  }
  const { tp, fp, fn } = binaryCounts(labels, outputs, options.threshold);
  intervals.precision = wilsonInterval(tp, tp + fp, confidence);
  intervals.recall = wilsonInterval(tp, tp + fn, confidence);
  const components = aucComponents(labels, outputs);
  intervals.roc_auc = clamp01(
    normalInterval(components.auc, Math.sqrt(delongVariance(components)), confidence, 'delong'),
  );
  const squaredErrors = new Float64Array(n);
  for (let i = 0; i < n; i++) squaredErrors[i] = ((outputs[i] as number) - (labels[i] === 1 ? 1 : 0)) ** 2;
  intervals.brier = clamp01(meanInterval(squaredErrors));
  Object.assign(intervals, await bootstrapIntervals(task, labels, outputs, options, ['pr_auc', 'f1', 'ece']));
  return intervals;
}

/**
 * Percentile intervals of `metrics` over seeded bootstrap resamples of the rows, shifted by the
 * bootstrap's estimate of each metric's bias (mean of the replicates − the value on all rows). ECE in
 * particular is biased upward on resamples: unshifted, the interval of a well-calibrated model's ECE
 * often lies wholly above its own value. Clamped to [0, 1], the range of every metric bootstrapped here.
 */
async function bootstrapIntervals(
  task: TaskType,
  labels: Numbers,
  outputs: Numbers,
  options: UncertaintyOptions,
  metrics: string[],
): Promise<Record<string, Interval>> {
  const replicates: Record<string, number[]> = Object.fromEntries(metrics.map((m) => [m, []]));
  const width = task === 'multiclass' ? (options.classes?.length ?? 2) : 1;
  await forEachResample(labels.length, bootstrapCount(labels.length, options.resamples), options.seed, (rows) => {
    const values = resampledMetrics(task, pick(labels, rows, 1), pick(outputs, rows, width), options);
    for (const m of metrics) replicates[m]!.push(values[m] ?? Number.NaN);
  });
  const onAllRows = labels.length === 0 ? {} : resampledMetrics(task, labels, outputs, options);
  return Object.fromEntries(
    metrics.map((m) => [
      m,
      biasCorrected(percentileInterval(replicates[m]!, options.confidence), replicates[m]!, onAllRows[m] ?? Number.NaN),
    ]),
  );
}

/**
 * The metrics the bootstrap resamples, without the curves and confusion matrices evaluatePredictions
 * also builds: on a 450k-row test split those made each resample several times slower.
 */
function resampledMetrics(
  task: TaskType,
  labels: Numbers,
  outputs: Numbers,
  options: UncertaintyOptions,
): Record<string, number> {
  if (task !== 'binary') return evaluatePredictions(task, labels, outputs, options).metrics;
  const { tp, fp, fn } = binaryCounts(labels, outputs, options.threshold);
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return {
    pr_auc: averagePrecision(labels, outputs),
    f1: f1Of(precision, recall),
    ece: expectedCalibrationError(labels, outputs),
  };
}

function biasCorrected(interval: Interval, replicates: number[], estimate: number): Interval {
  if (!Number.isFinite(estimate) || !Number.isFinite(interval.lower) || !Number.isFinite(interval.upper))
    return interval;
  const { mean } = meanAndStandardError(replicates.filter(Number.isFinite));
  const bias = mean - estimate;
  return clamp01({ ...interval, lower: interval.lower - bias, upper: interval.upper - bias });
}

/**
 * The improvement of model `a` over model `b` on one metric, on the same rows: a − b for
 * higher-is-better metrics, b − a for lower-is-better ones, so positive always means "a is better".
 * `lower` and `upper` are one-sided (1 − alpha) confidence bounds on it.
 */
export interface PairedComparison {
  metric: string;
  improvement: number;
  standardError: number;
  lower: number;
  upper: number;
  method: 'delong' | 'paired-rows' | 'bootstrap';
}

export interface PairedOptions extends UncertaintyOptions {
  alpha: number;
}

export async function comparePaired(
  task: TaskType,
  metric: string,
  labels: Numbers,
  a: Numbers,
  b: Numbers,
  options: PairedOptions,
): Promise<PairedComparison> {
  const z = normalQuantile(1 - options.alpha);
  const fromStandardError = (
    improvement: number,
    standardError: number,
    method: PairedComparison['method'],
  ): PairedComparison => ({
    metric,
    improvement,
    standardError,
    lower: improvement - z * standardError,
    upper: improvement + z * standardError,
    method,
  });
  const perRow = perRowImprovement(task, metric, labels, a, b, options);
  if (perRow) {
    const { mean, standardError } = meanAndStandardError(perRow);
    return fromStandardError(mean, standardError, 'paired-rows');
  }
  if (metric === 'roc_auc' && task === 'binary') {
    const ca = aucComponents(labels, a);
    const cb = aucComponents(labels, b);
    return fromStandardError(ca.auc - cb.auc, Math.sqrt(delongVariance(ca, cb)), 'delong');
  }
  return pairedBootstrap(task, metric, labels, a, b, options);
}

/** Metrics that are means over rows: the improvement is the mean of per-row differences. */
function perRowImprovement(
  task: TaskType,
  metric: string,
  labels: Numbers,
  a: Numbers,
  b: Numbers,
  options: UncertaintyOptions,
): Float64Array | undefined {
  const classCount = options.classes?.length ?? 2;
  const n = labels.length;
  if (metric === 'accuracy' || metric === 'micro_f1') {
    const ca = rowCorrect(task, labels, a, classCount, options.threshold);
    const cb = rowCorrect(task, labels, b, classCount, options.threshold);
    return Float64Array.from({ length: n }, (_, i) => (ca[i] as number) - (cb[i] as number));
  }
  if (metric === 'log_loss' || metric === 'mse' || (task === 'regression' && metric === 'r2')) {
    const la = rowLosses(task, labels, a, classCount);
    const lb = rowLosses(task, labels, b, classCount);
    // R² = 1 − MSE / Var(y): its difference is the per-row squared-error difference over the target's variance.
    const scale = metric === 'r2' ? varianceOf(labels) : 1;
    if (!(scale > 0)) return undefined;
    return Float64Array.from({ length: n }, (_, i) => ((lb[i] as number) - (la[i] as number)) / scale);
  }
  if (metric === 'brier' || metric === 'mae') {
    const loss = (outputs: Numbers, i: number) =>
      metric === 'mae'
        ? Math.abs((outputs[i] as number) - (labels[i] as number))
        : ((outputs[i] as number) - (labels[i] === 1 ? 1 : 0)) ** 2;
    return Float64Array.from({ length: n }, (_, i) => loss(b, i) - loss(a, i));
  }
  return undefined;
}

/** Both models resampled on the same rows; the bound is a percentile of the improvement's replicates. */
async function pairedBootstrap(
  task: TaskType,
  metric: string,
  labels: Numbers,
  a: Numbers,
  b: Numbers,
  options: PairedOptions,
): Promise<PairedComparison> {
  const width = task === 'multiclass' ? (options.classes?.length ?? 2) : 1;
  const sign = isLowerBetter(metric) ? -1 : 1;
  const valueOf = (outputs: Numbers, rows?: Int32Array) =>
    evaluatePredictions(
      task,
      rows ? pick(labels, rows, 1) : labels,
      rows ? pick(outputs, rows, width) : outputs,
      options,
    ).metrics[metric] ?? Number.NaN;
  const improvement = sign * (valueOf(a) - valueOf(b));
  const replicates: number[] = [];
  await forEachResample(labels.length, bootstrapCount(labels.length, options.resamples), options.seed, (rows) =>
    replicates.push(sign * (valueOf(a, rows) - valueOf(b, rows))),
  );
  const twoSided = percentileInterval(replicates, 1 - 2 * options.alpha);
  const { standardError } = meanAndStandardError(replicates.filter(Number.isFinite));
  return {
    metric,
    improvement,
    standardError: standardError * Math.sqrt(replicates.length),
    lower: twoSided.lower,
    upper: twoSided.upper,
    method: 'bootstrap',
  };
}

/**
 * Does model `a` beat the zero-rule `zero` on the task's main metric by more than `margin`? One-sided
 * p-value of "no better than zero-rule + margin". With margin 0 the tests are exact or calibrated at
 * any size: binary, Mann–Whitney on the model's scores (the zero-rule's AUC is ½ by construction);
 * multiclass, McNemar's exact test on the rows exactly one of the two gets right. Otherwise (and for
 * regression) the normal test on the paired per-row improvement; where a margin-0 test exists, the
 * p-value is never below it (beating zero-rule + margin implies beating the zero-rule: an
 * intersection–union test), so a zero standard error (AUC 1 on a handful of rows) proves nothing alone.
 */
export async function zeroRuleTest(
  task: TaskType,
  metric: string,
  labels: Numbers,
  a: Numbers,
  zero: Numbers,
  margin: number,
  options: PairedOptions,
): Promise<{ pValue: number; comparison: PairedComparison }> {
  const comparison = await comparePaired(task, metric, labels, a, zero, options);
  const exact = exactZeroRulePValue(task, metric, labels, a, zero, options);
  if (margin === 0 && exact !== undefined) return { pValue: exact, comparison };
  const z = (comparison.improvement - margin) / comparison.standardError;
  // ±∞ (a zero standard error) is a certain verdict, not "not computable"; NaN is.
  const normal = Number.isNaN(z) ? Number.NaN : normalSurvival(z);
  return { pValue: exact === undefined ? normal : Math.max(exact, normal), comparison };
}

/** The margin-0 test where one is exact or calibrated at any size: Mann–Whitney for ROC-AUC, McNemar for accuracy. */
function exactZeroRulePValue(
  task: TaskType,
  metric: string,
  labels: Numbers,
  a: Numbers,
  zero: Numbers,
  options: PairedOptions,
): number | undefined {
  if (task === 'binary' && metric === 'roc_auc') return aucAboveChancePValue(labels, a).pValue;
  if (metric !== 'accuracy') return undefined;
  const classCount = options.classes?.length ?? 2;
  const ca = rowCorrect(task, labels, a, classCount, options.threshold);
  const cz = rowCorrect(task, labels, zero, classCount, options.threshold);
  let onlyModel = 0;
  let onlyZero = 0;
  for (let i = 0; i < labels.length; i++) {
    if (ca[i] === 1 && cz[i] === 0) onlyModel++;
    else if (ca[i] === 0 && cz[i] === 1) onlyZero++;
  }
  return onlyModel + onlyZero === 0 ? 1 : binomialUpperTail(onlyModel, onlyModel + onlyZero, 0.5);
}

/**
 * Visits seeded resamples of the row indexes, yielding to the event loop after each: on millions of test
 * rows a resample takes about a second, and the activity must keep heartbeating meanwhile.
 */
async function forEachResample(
  rows: number,
  resamples: number,
  seed: number,
  visit: (rows: Int32Array) => void,
): Promise<void> {
  if (rows === 0) return;
  const random = createSeededRandom(seed);
  const indices = new Int32Array(rows);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < rows; i++) indices[i] = Math.floor(random() * rows);
    visit(indices);
    await yieldToEventLoop();
  }
}

function pick(values: Numbers, rows: Int32Array, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++)
    for (let k = 0; k < width; k++) out[i * width + k] = values[(rows[i] as number) * width + k] as number;
  return out;
}

function varianceOf(values: Numbers): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += ((values[i] as number) - mean) ** 2;
  return squares / n;
}

function sum(values: Uint8Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function clamp01(interval: Interval): Interval {
  return { ...interval, lower: Math.max(0, interval.lower), upper: Math.min(1, interval.upper) };
}

function clampLower(interval: Interval, floor: number): Interval {
  return { ...interval, lower: Math.max(floor, interval.lower) };
}

function nanInterval(): Interval {
  return { lower: Number.NaN, upper: Number.NaN, method: 'normal' };
}
