import type { Numbers } from './metrics';

/**
 * The binary decision threshold, chosen on the validation split (never on test rows, which judge the
 * result): the one maximising F1, or the one predicting as many positives as the train split holds.
 * A fixed number is taken as given. Falls back to 0.5, saying why, when the validation split cannot
 * choose (no positives, or no rows).
 */
/**
 * THE binary decision: a row is predicted positive (classes[1]) when P(positive) is at least the
 * threshold. Evaluation's metrics and serving's predicted class both go through it.
 */
export function predictsPositive(probability: number, threshold: number): boolean {
  return probability >= threshold;
}

export type ThresholdStrategy = number | 'max-f1' | 'match-positive-rate';

export interface ChosenThreshold {
  threshold: number;
  strategy: 'fixed' | 'max-f1' | 'match-positive-rate';
  /** How it was chosen, in words. */
  note: string;
}

export function chooseDecisionThreshold(
  strategy: ThresholdStrategy,
  labels: Numbers,
  scores: Numbers,
  trainPositiveRate: number,
): ChosenThreshold {
  if (typeof strategy === 'number')
    return { threshold: strategy, strategy: 'fixed', note: `fixed at ${strategy} by evaluate.decisionThreshold` };
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  if (strategy === 'match-positive-rate') {
    const predictedPositives = Math.round(trainPositiveRate * n);
    if (n === 0 || predictedPositives === 0)
      return fallback('match-positive-rate', 'the validation split is empty or the train split holds no positives');
    // Rows scoring at or above the k-th highest score are predicted positive.
    const threshold = scores[order[predictedPositives - 1] as number] as number;
    return {
      threshold,
      strategy,
      note: `predicts ${pct(trainPositiveRate)} of validation rows positive, the train split's positive rate`,
    };
  }
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) positives++;
  if (positives === 0) return fallback('max-f1', 'the validation split holds no positive rows');
  let best = { f1: -1, threshold: 0.5, precision: 0, recall: 0 };
  let truePositives = 0;
  for (let k = 0; k < n; k++) {
    const row = order[k] as number;
    if (labels[row] === 1) truePositives++;
    const score = scores[row] as number;
    // Only where the score changes: every row with this score is on the same side of the threshold.
    if (k + 1 < n && (scores[order[k + 1] as number] as number) === score) continue;
    const precision = truePositives / (k + 1);
    const recall = truePositives / positives;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    if (f1 > best.f1) best = { f1, threshold: score, precision, recall };
  }
  return {
    threshold: best.threshold,
    strategy,
    note: `maximises F1 on the ${n} validation rows (F1 ${round(best.f1)}, precision ${round(best.precision)}, recall ${round(best.recall)})`,
  };
}

function fallback(strategy: ChosenThreshold['strategy'], why: string): ChosenThreshold {
  return { threshold: 0.5, strategy, note: `0.5: ${why}, so the threshold could not be chosen` };
}

function pct(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

function round(value: number): number {
  return Number(value.toFixed(4));
}
