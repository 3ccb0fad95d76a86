import { normalSurvival } from '../stats/distributions';
import { predictsPositive } from './decision-threshold';
import { LOG_LOSS_EPS, type Numbers } from './metrics';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * Per-row scores behind the paired comparisons and the intervals: each model is judged on the same
 * test rows, so the difference of two models is a mean of per-row differences.
 */

/** The proper scoring rule per row: log loss for classification, squared error for regression. */
export function rowLosses(task: TaskType, labels: Numbers, outputs: Numbers, classCount: number): Float64Array {
  const n = labels.length;
  const losses = new Float64Array(n);
  const clip = (p: number) => Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, p));
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (task === 'regression') losses[i] = ((outputs[i] as number) - y) ** 2;
    else if (task === 'binary')
      losses[i] = -Math.log(y === 1 ? clip(outputs[i] as number) : 1 - clip(outputs[i] as number));
    else losses[i] = -Math.log(clip(outputs[i * classCount + y] as number));
  }
  return losses;
}

/** 1 where the predicted class is the label, else 0 (binary: P ≥ threshold; multiclass: the largest probability, first on ties). */
export function rowCorrect(
  task: TaskType,
  labels: Numbers,
  outputs: Numbers,
  classCount: number,
  threshold: number,
): Uint8Array {
  const n = labels.length;
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (task === 'binary') correct[i] = (predictsPositive(outputs[i] as number, threshold) ? 1 : 0) === y ? 1 : 0;
    else {
      let best = 0;
      for (let c = 1; c < classCount; c++)
        if ((outputs[i * classCount + c] as number) > (outputs[i * classCount + best] as number)) best = c;
      correct[i] = best === y ? 1 : 0;
    }
  }
  return correct;
}

/**
 * DeLong's structural components of the ROC-AUC (DeLong, DeLong & Clarke-Pearson 1988): for each
 * positive, the share of negatives it outscores (ties ½); for each negative, the share of positives
 * that outscore it. Their means are the AUC; their variances give its standard error, and their
 * covariances across two models on the same rows the standard error of the difference. O(n log n).
 */
export interface AucComponents {
  auc: number;
  /** Per positive row, in row order. */
  positives: Float64Array;
  /** Per negative row, in row order. */
  negatives: Float64Array;
}

export function aucComponents(labels: Numbers, scores: Numbers): AucComponents {
  const positiveScores: number[] = [];
  const negativeScores: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? positiveScores : negativeScores).push(scores[i] as number);
  const sortedNegatives = Float64Array.from(negativeScores).sort();
  const sortedPositives = Float64Array.from(positiveScores).sort();
  const m = positiveScores.length;
  const n = negativeScores.length;
  const positives = new Float64Array(m);
  const negatives = new Float64Array(n);
  if (m === 0 || n === 0) return { auc: Number.NaN, positives, negatives };
  for (let i = 0; i < m; i++) {
    const x = positiveScores[i] as number;
    positives[i] = (lowerBound(sortedNegatives, x) + upperBound(sortedNegatives, x)) / 2 / n;
  }
  for (let j = 0; j < n; j++) {
    const y = negativeScores[j] as number;
    negatives[j] = (m - (lowerBound(sortedPositives, y) + upperBound(sortedPositives, y)) / 2) / m;
  }
  let sum = 0;
  for (const v of positives) sum += v;
  return { auc: sum / m, positives, negatives };
}

/** Var(AUC_a − AUC_b) by DeLong (0 when `b` is `a`); Var(AUC_a) when `b` is omitted. */
export function delongVariance(a: AucComponents, b?: AucComponents): number {
  const m = a.positives.length;
  const n = a.negatives.length;
  if (m < 2 || n < 2) return Number.NaN;
  const s10 = varianceOfDifference(a.positives, b?.positives);
  const s01 = varianceOfDifference(a.negatives, b?.negatives);
  return s10 / m + s01 / n;
}

/** Sample variance of (x − y), elementwise; of x alone without y. */
function varianceOfDifference(x: Float64Array, y: Float64Array | undefined): number {
  const k = x.length;
  const at = (i: number) => (x[i] as number) - (y ? (y[i] as number) : 0);
  let mean = 0;
  for (let i = 0; i < k; i++) mean += at(i);
  mean /= k;
  let squares = 0;
  for (let i = 0; i < k; i++) squares += (at(i) - mean) ** 2;
  return squares / (k - 1);
}

/** Number of values < x in a sorted array. */
function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of values ≤ x in a sorted array. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The Mann–Whitney test that a score ranks positives above negatives better than chance (AUC > 0.5),
 * with the exact null variance of U corrected for ties: calibrated at any test size, unlike a
 * DeLong interval, which is too narrow when positives or negatives are few. One-sided p-value; NaN
 * when one class is absent or every score is equal (nothing to rank).
 */
export function aucAboveChancePValue(labels: Numbers, scores: Numbers): { z: number; pValue: number } {
  const n = labels.length;
  let m1 = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) m1++;
  const m0 = n - m1;
  if (m1 === 0 || m0 === 0) return { z: Number.NaN, pValue: Number.NaN };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let rankSumPositives = 0;
  let tieTerm = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1] as number] === scores[order[start] as number]) end++;
    const midRank = (start + end) / 2 + 1;
    const t = end - start + 1;
    tieTerm += t ** 3 - t;
    for (let k = start; k <= end; k++) if (labels[order[k] as number] === 1) rankSumPositives += midRank;
    start = end + 1;
  }
  const u = rankSumPositives - (m1 * (m1 + 1)) / 2;
  const variance = ((m1 * m0) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (!(variance > 0)) return { z: Number.NaN, pValue: Number.NaN };
  const z = (u - (m1 * m0) / 2) / Math.sqrt(variance);
  return { z, pValue: normalSurvival(z) };
}
