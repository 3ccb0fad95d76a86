/**
 * Evaluation metrics for the three tasks, computed from labels and model outputs held in typed arrays.
 * Pure functions: no I/O, no tfjs. A metric that cannot be computed on the given data (ROC-AUC when the
 * test split holds one class, R² of a constant target) is NaN, never a made-up number; callers report it
 * as "not computable".
 */

import { METRIC_NAMES } from '../../contracts/evaluate-names';
import type { Interval } from '../stats/intervals';
import { predictsPositive } from './decision-threshold';
import type { TaskType } from '../../contracts/pipeline-input';

export type Numbers = ArrayLike<number>;

/** Probabilities are clipped to [EPS, 1 - EPS] before the log, so one confident miss costs ~34.5 nats, not ∞. */
export const LOG_LOSS_EPS = 1e-15;
export const CALIBRATION_BINS = 10;
/** Curves in the evaluation artifact and report are thinned to at most this many points. */
export const MAX_CURVE_POINTS = 201;

export { METRIC_NAMES };

const LOWER_IS_BETTER = new Set(['log_loss', 'brier', 'ece', 'mae', 'rmse']);

export function isLowerBetter(metric: string): boolean {
  return LOWER_IS_BETTER.has(metric);
}

// ---------------------------------------------------------------------------------------------------
// Binary

export interface RocPoint {
  fpr: number;
  tpr: number;
  threshold: number;
}
export interface PrPoint {
  recall: number;
  precision: number;
  threshold: number;
}
export interface CalibrationBin {
  /** Bin bounds [lower, upper); the last bin includes 1. */
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/** Rows are actual classes, columns predicted classes. */
export interface ConfusionMatrix {
  labels: string[];
  counts: number[][];
}

export interface ClassReport {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface BinaryCurves {
  roc: RocPoint[];
  pr: PrPoint[];
  calibration: CalibrationBin[];
}

export interface TaskEvaluation {
  task: TaskType;
  rows: number;
  /** Flat record of every scalar metric of the task (METRIC_NAMES[task]); NaN when not computable. */
  metrics: Record<string, number>;
  confusion?: ConfusionMatrix;
  perClass?: ClassReport[];
  curves?: BinaryCurves;
  /** 95% confidence intervals of `metrics`, on the same rows (lib/evaluation/uncertainty.ts). */
  intervals?: Record<string, Interval>;
}

/**
 * ROC-AUC as the Mann-Whitney U statistic: the probability that a random positive scores above a
 * random negative, ties counting one half. Exact, O(n log n). NaN with one class only.
 */
export function rocAuc(labels: Numbers, scores: Numbers): number {
  checkSameLength(labels, scores);
  return aucOfSteps(thresholdSteps(labels, scores));
}

/**
 * Σ over distinct scores (high to low) of negatives_here × (positives above + positives_here / 2) —
 * each negative is beaten by every positive above it and ties those beside it — over positives × negatives.
 */
function aucOfSteps({ steps, positives, negatives }: ThresholdSteps): number {
  if (positives === 0 || negatives === 0) return Number.NaN;
  let pairs = 0;
  let tpAbove = 0;
  let fpAbove = 0;
  for (const step of steps) {
    const tpHere = step.truePositives - tpAbove;
    const fpHere = step.falsePositives - fpAbove;
    pairs += fpHere * (tpAbove + tpHere / 2);
    tpAbove = step.truePositives;
    fpAbove = step.falsePositives;
  }
  return pairs / (positives * negatives);
}

/** Cumulative true/false positives at each distinct score, from the highest score down. */
interface ThresholdStep {
  threshold: number;
  truePositives: number;
  falsePositives: number;
}

interface ThresholdSteps {
  steps: ThresholdStep[];
  positives: number;
  negatives: number;
}

/**
 * The one sort behind every ranking metric. Positive and negative scores go into two Float64Arrays
 * sorted natively (no comparator: ~10× faster than sorting indices), then merge from the top.
 */
function thresholdSteps(labels: Numbers, scores: Numbers): ThresholdSteps {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if (isPositive(labels[i])) positives++;
  const positive = new Float64Array(positives);
  const negative = new Float64Array(labels.length - positives);
  let p = 0;
  let q = 0;
  for (let i = 0; i < labels.length; i++) {
    const score = scores[i] as number;
    if (Number.isNaN(score)) throw new RangeError(`score ${i} is NaN: ranking metrics need numbers`);
    if (isPositive(labels[i])) positive[p++] = score;
    else negative[q++] = score;
  }
  positive.sort();
  negative.sort();
  const steps: ThresholdStep[] = [];
  let i = positive.length - 1;
  let j = negative.length - 1;
  let tp = 0;
  let fp = 0;
  while (i >= 0 || j >= 0) {
    const threshold = Math.max(
      i >= 0 ? (positive[i] as number) : Number.NEGATIVE_INFINITY,
      j >= 0 ? (negative[j] as number) : Number.NEGATIVE_INFINITY,
    );
    while (i >= 0 && positive[i] === threshold) {
      tp++;
      i--;
    }
    while (j >= 0 && negative[j] === threshold) {
      fp++;
      j--;
    }
    steps.push({ threshold, truePositives: tp, falsePositives: fp });
  }
  return { steps, positives, negatives: negative.length };
}

/**
 * Average precision, Σ (Rₖ − Rₖ₋₁)·Pₖ over distinct thresholds (the step-wise PR-AUC, no interpolation).
 * NaN when there is no positive.
 */
export function averagePrecision(labels: Numbers, scores: Numbers): number {
  checkSameLength(labels, scores);
  return averagePrecisionOfSteps(thresholdSteps(labels, scores));
}

function averagePrecisionOfSteps({ steps, positives }: ThresholdSteps): number {
  if (positives === 0) return Number.NaN;
  let ap = 0;
  let previousRecall = 0;
  for (const step of steps) {
    const recall = step.truePositives / positives;
    const precision = step.truePositives / (step.truePositives + step.falsePositives);
    ap += (recall - previousRecall) * precision;
    previousRecall = recall;
  }
  return ap;
}

export function rocCurve(labels: Numbers, scores: Numbers, maxPoints = MAX_CURVE_POINTS): RocPoint[] {
  checkSameLength(labels, scores);
  return rocCurveOfSteps(thresholdSteps(labels, scores), maxPoints);
}

function rocCurveOfSteps({ steps, positives, negatives }: ThresholdSteps, maxPoints: number): RocPoint[] {
  if (positives === 0 || negatives === 0) return [];
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Number.POSITIVE_INFINITY }];
  for (const s of steps)
    points.push({ fpr: s.falsePositives / negatives, tpr: s.truePositives / positives, threshold: s.threshold });
  return thinPoints(points, maxPoints);
}

export function precisionRecallCurve(labels: Numbers, scores: Numbers, maxPoints = MAX_CURVE_POINTS): PrPoint[] {
  checkSameLength(labels, scores);
  return precisionRecallCurveOfSteps(thresholdSteps(labels, scores), maxPoints);
}

function precisionRecallCurveOfSteps({ steps, positives }: ThresholdSteps, maxPoints: number): PrPoint[] {
  if (positives === 0) return [];
  const points: PrPoint[] = [{ recall: 0, precision: 1, threshold: Number.POSITIVE_INFINITY }];
  for (const s of steps) {
    points.push({
      recall: s.truePositives / positives,
      precision: s.truePositives / (s.truePositives + s.falsePositives),
      threshold: s.threshold,
    });
  }
  return thinPoints(points, maxPoints);
}

/** Equal-width bins over [0, 1]; empty bins are left out. */
export function calibrationCurve(labels: Numbers, probabilities: Numbers, bins = CALIBRATION_BINS): CalibrationBin[] {
  const n = checkSameLength(labels, probabilities);
  const counts = new Float64Array(bins);
  const sumPredicted = new Float64Array(bins);
  const sumObserved = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const p = probabilities[i] as number;
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    counts[bin]! += 1;
    sumPredicted[bin]! += p;
    sumObserved[bin]! += isPositive(labels[i]) ? 1 : 0;
  }
  const result: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const count = counts[b] as number;
    if (count === 0) continue;
    result.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count,
      meanPredicted: (sumPredicted[b] as number) / count,
      observedRate: (sumObserved[b] as number) / count,
    });
  }
  return result;
}

/** Expected calibration error: Σ (n_b / n)·|mean predicted_b − observed rate_b| over equal-width bins. */
export function expectedCalibrationError(labels: Numbers, probabilities: Numbers, bins = CALIBRATION_BINS): number {
  const n = checkSameLength(labels, probabilities);
  return eceOfBins(calibrationCurve(labels, probabilities, bins), n);
}

function eceOfBins(bins: CalibrationBin[], n: number): number {
  if (n === 0) return Number.NaN;
  let ece = 0;
  for (const bin of bins) ece += (bin.count / n) * Math.abs(bin.meanPredicted - bin.observedRate);
  return ece;
}

export function binaryLogLoss(labels: Numbers, probabilities: Numbers): number {
  const n = checkSameLength(labels, probabilities);
  if (n === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = clipProbability(probabilities[i] as number);
    sum -= isPositive(labels[i]) ? Math.log(p) : Math.log(1 - p);
  }
  return sum / n;
}

export function brierScore(labels: Numbers, probabilities: Numbers): number {
  const n = checkSameLength(labels, probabilities);
  if (n === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = (probabilities[i] as number) - (isPositive(labels[i]) ? 1 : 0);
    sum += d * d;
  }
  return sum / n;
}

/** Precision is 0 when nothing is predicted positive, recall 0 when nothing is positive, F1 0 when both are 0. */
export function binaryCounts(labels: Numbers, probabilities: Numbers, threshold: number) {
  const n = checkSameLength(labels, probabilities);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) {
    const predicted = predictsPositive(probabilities[i] as number, threshold);
    const actual = isPositive(labels[i]);
    if (predicted && actual) tp++;
    else if (predicted) fp++;
    else if (actual) fn++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

export function evaluateBinary(
  labels: Numbers,
  probabilities: Numbers,
  options: { threshold: number; classes?: string[] },
): TaskEvaluation {
  const n = checkSameLength(labels, probabilities);
  const { tp, fp, tn, fn } = binaryCounts(labels, probabilities, options.threshold);
  const precision = safeRatio(tp, tp + fp);
  const recall = safeRatio(tp, tp + fn);
  const steps = thresholdSteps(labels, probabilities);
  const calibration = calibrationCurve(labels, probabilities);
  return {
    task: 'binary',
    rows: n,
    metrics: {
      roc_auc: aucOfSteps(steps),
      pr_auc: averagePrecisionOfSteps(steps),
      log_loss: binaryLogLoss(labels, probabilities),
      accuracy: n === 0 ? Number.NaN : (tp + tn) / n,
      precision,
      recall,
      f1: f1Of(precision, recall),
      brier: brierScore(labels, probabilities),
      ece: eceOfBins(calibration, n),
    },
    confusion: {
      labels: options.classes ?? ['0', '1'],
      counts: [
        [tn, fp],
        [fn, tp],
      ],
    },
    curves: {
      roc: rocCurveOfSteps(steps, MAX_CURVE_POINTS),
      pr: precisionRecallCurveOfSteps(steps, MAX_CURVE_POINTS),
      calibration,
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Multiclass

/** Index of the largest probability in each row of a rows × k row-major matrix (first on ties). */
export function argmaxRows(probabilities: Numbers, classCount: number): Int32Array {
  const rows = probabilities.length / classCount;
  if (!Number.isInteger(rows))
    throw new RangeError(`${probabilities.length} probabilities do not form rows of ${classCount} classes`);
  const predicted = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = probabilities[r * classCount] as number;
    for (let c = 1; c < classCount; c++) {
      const v = probabilities[r * classCount + c] as number;
      if (v > bestValue) {
        best = c;
        bestValue = v;
      }
    }
    predicted[r] = best;
  }
  return predicted;
}

export function confusionCounts(labels: Numbers, predicted: Numbers, classCount: number): number[][] {
  const n = checkSameLength(labels, predicted);
  const counts = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  for (let i = 0; i < n; i++) {
    const actual = classIndex(labels[i], classCount);
    const guess = classIndex(predicted[i], classCount);
    counts[actual]![guess]! += 1;
  }
  return counts;
}

/**
 * Per-class precision, recall and F1 from a confusion matrix. Macro F1 averages over the classes that
 * occur in the labels or the predictions (a class absent from both says nothing about the model).
 * Micro F1 pools all decisions; for single-label multiclass it equals accuracy.
 */
export function classReports(confusion: ConfusionMatrix): {
  perClass: ClassReport[];
  macroF1: number;
  microF1: number;
} {
  const k = confusion.labels.length;
  const perClass: ClassReport[] = [];
  let f1Sum = 0;
  let present = 0;
  let correct = 0;
  let total = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion.counts[c]![c]!;
    let support = 0;
    let predictedAs = 0;
    for (let j = 0; j < k; j++) {
      support += confusion.counts[c]![j]!;
      predictedAs += confusion.counts[j]![c]!;
    }
    const precision = safeRatio(tp, predictedAs);
    const recall = support === 0 ? Number.NaN : tp / support;
    const f1 = f1Of(precision, Number.isNaN(recall) ? 0 : recall);
    perClass.push({ label: confusion.labels[c]!, precision, recall, f1, support });
    if (support > 0 || predictedAs > 0) {
      f1Sum += f1;
      present++;
    }
    correct += tp;
    total += support;
  }
  return {
    perClass,
    macroF1: present === 0 ? Number.NaN : f1Sum / present,
    microF1: total === 0 ? Number.NaN : correct / total,
  };
}

export function multiclassLogLoss(labels: Numbers, probabilities: Numbers, classCount: number): number {
  const n = labels.length;
  if (probabilities.length !== n * classCount)
    throw new RangeError(`expected ${n}×${classCount} probabilities, got ${probabilities.length}`);
  if (n === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < n; i++)
    sum -= Math.log(clipProbability(probabilities[i * classCount + classIndex(labels[i], classCount)] as number));
  return sum / n;
}

export function evaluateMulticlass(labels: Numbers, probabilities: Numbers, classes: string[]): TaskEvaluation {
  const k = classes.length;
  const predicted = argmaxRows(probabilities, k);
  const confusion: ConfusionMatrix = { labels: classes, counts: confusionCounts(labels, predicted, k) };
  const { perClass, macroF1, microF1 } = classReports(confusion);
  const n = labels.length;
  let correct = 0;
  for (let c = 0; c < k; c++) correct += confusion.counts[c]![c]!;
  return {
    task: 'multiclass',
    rows: n,
    metrics: {
      accuracy: n === 0 ? Number.NaN : correct / n,
      macro_f1: macroF1,
      micro_f1: microF1,
      log_loss: multiclassLogLoss(labels, probabilities, k),
    },
    confusion,
    perClass,
  };
}

// ---------------------------------------------------------------------------------------------------
// Regression

/** R² = 1 − SS_res / SS_tot; with a constant target it is 1 for a perfect fit and 0 otherwise (as scikit-learn). */
export function evaluateRegression(targets: Numbers, predictions: Numbers): TaskEvaluation {
  const n = checkSameLength(targets, predictions);
  let absSum = 0;
  let squaredSum = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += targets[i] as number;
  mean /= n;
  let totalSquares = 0;
  for (let i = 0; i < n; i++) {
    const t = targets[i] as number;
    const error = (predictions[i] as number) - t;
    absSum += Math.abs(error);
    squaredSum += error * error;
    totalSquares += (t - mean) * (t - mean);
  }
  const r2 = n === 0 ? Number.NaN : totalSquares === 0 ? (squaredSum === 0 ? 1 : 0) : 1 - squaredSum / totalSquares;
  return { task: 'regression', rows: n, metrics: { mae: absSum / n, rmse: Math.sqrt(squaredSum / n), r2 } };
}

// ---------------------------------------------------------------------------------------------------

/**
 * The metrics of `task` for labels (class indices as numbers, or targets) and model outputs
 * (binary: P(positive) per row; multiclass: rows × k probabilities row-major; regression: values).
 */
export function evaluatePredictions(
  task: TaskType,
  labels: Numbers,
  outputs: Numbers,
  options: { threshold: number; classes?: string[] },
): TaskEvaluation {
  switch (task) {
    case 'binary':
      return evaluateBinary(labels, outputs, options);
    case 'multiclass':
      if (!options.classes || options.classes.length < 2)
        throw new RangeError('multiclass evaluation needs the class labels');
      return evaluateMulticlass(labels, outputs, options.classes);
    case 'regression':
      return evaluateRegression(labels, outputs);
  }
}

export function f1Of(precision: number, recall: number): number {
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

function safeRatio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function clipProbability(p: number): number {
  return Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, p));
}

function isPositive(label: number | undefined): boolean {
  return label === 1;
}

function classIndex(value: number | undefined, classCount: number): number {
  const index = value as number;
  if (!Number.isInteger(index) || index < 0 || index >= classCount)
    throw new RangeError(`class index ${value} is outside 0..${classCount - 1}`);
  return index;
}

function checkSameLength(a: Numbers, b: Numbers): number {
  if (a.length !== b.length)
    throw new RangeError(`labels (${a.length}) and predictions (${b.length}) differ in length`);
  return a.length;
}

/** Keeps the first and last point and evenly spaced ones between, so a chart needs few points. */
export function thinPoints<T>(points: T[], maxPoints: number): T[] {
  if (points.length <= maxPoints) return points;
  const result: T[] = [];
  const step = (points.length - 1) / (maxPoints - 1);
  for (let i = 0; i < maxPoints; i++) result.push(points[Math.round(i * step)] as T);
  return result;
}
