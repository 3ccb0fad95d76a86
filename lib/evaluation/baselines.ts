import { createSeededRandom } from '../data/seeded-random';
import { evaluatePredictions, type Numbers, type TaskEvaluation } from './metrics';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * Baselines on the test split (DMLS ch. 6: a number means little until it is compared with a simple
 * alternative). Both know only the TRAIN labels' distribution, as a real model would:
 * - zero-rule: the majority class's probabilities — the train class frequencies for every row — or the
 *   train mean for regression;
 * - random (stratified): a class drawn per row with the train class frequencies, as a one-hot
 *   probability (scikit-learn's DummyClassifier "stratified"); for regression a draw from a normal with
 *   the train mean and standard deviation. Seeded, so the same run gives the same baseline.
 */

export interface TrainLabelStats {
  task: TaskType;
  rows: number;
  /** Classification: counts per class, in the preprocessor's class order. */
  classCounts?: number[];
  /** Regression: of the target in its own units. */
  mean?: number;
  std?: number;
}

/** Label statistics from train labels: class indices (classification) or targets in their own units. */
export function trainLabelStats(task: TaskType, labels: Numbers, classCount: number): TrainLabelStats {
  if (task === 'regression') {
    let sum = 0;
    for (let i = 0; i < labels.length; i++) sum += labels[i] as number;
    const mean = labels.length === 0 ? 0 : sum / labels.length;
    let squares = 0;
    for (let i = 0; i < labels.length; i++) squares += ((labels[i] as number) - mean) ** 2;
    return { task, rows: labels.length, mean, std: labels.length === 0 ? 0 : Math.sqrt(squares / labels.length) };
  }
  const classCounts = new Array<number>(classCount).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i] as number;
    if (Number.isInteger(c) && c >= 0 && c < classCount) classCounts[c]! += 1;
  }
  return { task, rows: labels.length, classCounts };
}

/** The train class frequencies (uniform when train held no rows). */
export function classFrequencies(stats: TrainLabelStats): number[] {
  const counts = stats.classCounts ?? [];
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 1 / counts.length : c / total));
}

/** Model-shaped outputs of the zero-rule: binary P(positive), multiclass rows × k, regression values. */
export function zeroRuleOutputs(stats: TrainLabelStats, rows: number): Float32Array {
  switch (stats.task) {
    case 'regression':
      return new Float32Array(rows).fill(stats.mean ?? 0);
    case 'binary':
      return new Float32Array(rows).fill(classFrequencies(stats)[1] ?? 0);
    case 'multiclass': {
      const frequencies = classFrequencies(stats);
      const outputs = new Float32Array(rows * frequencies.length);
      for (let r = 0; r < rows; r++) outputs.set(frequencies, r * frequencies.length);
      return outputs;
    }
  }
}

export function stratifiedRandomOutputs(stats: TrainLabelStats, rows: number, seed: number): Float32Array {
  const random = createSeededRandom(seed);
  if (stats.task === 'regression') {
    const outputs = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      // Box-Muller: the generator never returns exactly 0, so the log is finite.
      const gaussian = Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
      outputs[r] = (stats.mean ?? 0) + (stats.std ?? 0) * gaussian;
    }
    return outputs;
  }
  const frequencies = classFrequencies(stats);
  const k = frequencies.length;
  const draw = () => {
    let u = random();
    for (let c = 0; c < k - 1; c++) {
      u -= frequencies[c] as number;
      if (u < 0) return c;
    }
    return k - 1;
  };
  if (stats.task === 'binary') {
    const outputs = new Float32Array(rows);
    for (let r = 0; r < rows; r++) outputs[r] = draw() === 1 ? 1 : 0;
    return outputs;
  }
  const outputs = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) outputs[r * k + draw()] = 1;
  return outputs;
}

export interface BaselineEvaluations {
  zeroRule: TaskEvaluation;
  random: TaskEvaluation;
}

/** Both baselines scored on the test labels with the same metric code as the model. */
export function evaluateBaselines(
  labels: Numbers,
  stats: TrainLabelStats,
  options: { threshold: number; classes?: string[]; seed: number },
): BaselineEvaluations {
  const rows = labels.length;
  const metricOptions = { threshold: options.threshold, classes: options.classes };
  return {
    zeroRule: evaluatePredictions(stats.task, labels, zeroRuleOutputs(stats, rows), metricOptions),
    random: evaluatePredictions(stats.task, labels, stratifiedRandomOutputs(stats, rows, options.seed), metricOptions),
  };
}
