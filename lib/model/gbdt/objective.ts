import type { TaskType } from '../../../contracts/pipeline-input';

/**
 * The loss boosting descends, per task: binary log loss on a logit, multiclass softmax cross-entropy
 * (one raw score per class) and half squared error. Gradients and hessians are per output, as float32
 * (scikit-learn's G_H_DTYPE); raw scores are float64.
 */
export interface Objective {
  outputs: number;
  /** The constant model: the raw scores that minimise the loss before any tree. */
  baseScores(y: Float32Array, weights: Float32Array | undefined): number[];
  /** Fills grad[c] and hess[c] (one array per output) at the current raw scores. */
  gradients(
    scores: Float64Array,
    y: Float32Array,
    weights: Float32Array | undefined,
    grad: Float32Array[],
    hess: Float32Array[],
  ): void;
  /** Mean loss (weighted when weights are given) — binary and multiclass in nats, regression as squared error. */
  loss(scores: Float64Array, y: Float32Array, weights?: Float32Array): number;
  /** Classification: share of rows whose most likely class is the label. */
  accuracy?(scores: Float64Array, y: Float32Array): number;
  /** Raw scores → what the scorer expects: P(positive), class probabilities (rows × k) or values. */
  transform(scores: Float64Array): Float32Array;
}

const PROBABILITY_FLOOR = 1e-15;

export function objectiveFor(task: TaskType, classCount: number): Objective {
  if (task === 'binary') return binaryLogLoss;
  if (task === 'multiclass') return softmaxLoss(classCount);
  return squaredError;
}

const sigmoid = (s: number) => 1 / (1 + Math.exp(-s));
/** log(1 + e^s), without overflow. */
const softplus = (s: number) => (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s)));

function weightedMean(y: Float32Array, weights: Float32Array | undefined): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    sum += w * (y[i] as number);
    total += w;
  }
  return total > 0 ? sum / total : 0;
}

const binaryLogLoss: Objective = {
  outputs: 1,
  baseScores(y, weights) {
    const p = Math.min(1 - PROBABILITY_FLOOR, Math.max(PROBABILITY_FLOOR, weightedMean(y, weights)));
    return [Math.log(p / (1 - p))];
  },
  gradients(scores, y, weights, [grad], [hess]) {
    for (let i = 0; i < y.length; i++) {
      const p = sigmoid(scores[i] as number);
      const w = weights ? (weights[i] as number) : 1;
      (grad as Float32Array)[i] = w * (p - (y[i] as number));
      (hess as Float32Array)[i] = w * p * (1 - p);
    }
  },
  loss(scores, y, weights) {
    let sum = 0;
    let total = 0;
    for (let i = 0; i < y.length; i++) {
      const w = weights ? (weights[i] as number) : 1;
      const s = scores[i] as number;
      sum += w * (softplus(s) - (y[i] as number) * s);
      total += w;
    }
    return total > 0 ? sum / total : Number.NaN;
  },
  accuracy(scores, y) {
    let correct = 0;
    for (let i = 0; i < y.length; i++) if (((scores[i] as number) >= 0 ? 1 : 0) === y[i]) correct++;
    return y.length > 0 ? correct / y.length : Number.NaN;
  },
  transform: (scores) => Float32Array.from(scores, sigmoid),
};

const squaredError: Objective = {
  outputs: 1,
  baseScores: (y, weights) => [weightedMean(y, weights)],
  gradients(scores, y, weights, [grad], [hess]) {
    for (let i = 0; i < y.length; i++) {
      const w = weights ? (weights[i] as number) : 1;
      (grad as Float32Array)[i] = w * ((scores[i] as number) - (y[i] as number));
      (hess as Float32Array)[i] = w;
    }
  },
  loss(scores, y, weights) {
    let sum = 0;
    let total = 0;
    for (let i = 0; i < y.length; i++) {
      const w = weights ? (weights[i] as number) : 1;
      const d = (scores[i] as number) - (y[i] as number);
      sum += w * d * d;
      total += w;
    }
    return total > 0 ? sum / total : Number.NaN;
  },
  transform: (scores) => Float32Array.from(scores),
};

function softmaxLoss(k: number): Objective {
  if (k < 2) throw new Error(`a multiclass model needs at least 2 classes, got ${k}`);
  const probabilities = new Float64Array(k);
  /** Softmax of row r into `probabilities`; returns log of the normaliser (for the loss). */
  const softmaxRow = (scores: Float64Array, r: number): number => {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, scores[r * k + c] as number);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += probabilities[c] = Math.exp((scores[r * k + c] as number) - max);
    for (let c = 0; c < k; c++) probabilities[c] = (probabilities[c] as number) / sum;
    return max + Math.log(sum);
  };
  return {
    outputs: k,
    baseScores(y, weights) {
      const counts = new Float64Array(k);
      let total = 0;
      for (let i = 0; i < y.length; i++) {
        const w = weights ? (weights[i] as number) : 1;
        counts[y[i] as number] = (counts[y[i] as number] as number) + w;
        total += w;
      }
      return Array.from(counts, (count) => Math.log(Math.max(PROBABILITY_FLOOR, total > 0 ? count / total : 1 / k)));
    },
    gradients(scores, y, weights, grad, hess) {
      for (let i = 0; i < y.length; i++) {
        softmaxRow(scores, i);
        const w = weights ? (weights[i] as number) : 1;
        for (let c = 0; c < k; c++) {
          const p = probabilities[c] as number;
          (grad[c] as Float32Array)[i] = w * (p - (y[i] === c ? 1 : 0));
          (hess[c] as Float32Array)[i] = w * p * (1 - p);
        }
      }
    },
    loss(scores, y, weights) {
      let sum = 0;
      let total = 0;
      for (let i = 0; i < y.length; i++) {
        const w = weights ? (weights[i] as number) : 1;
        sum += w * (softmaxRow(scores, i) - (scores[i * k + (y[i] as number)] as number));
        total += w;
      }
      return total > 0 ? sum / total : Number.NaN;
    },
    accuracy(scores, y) {
      let correct = 0;
      for (let i = 0; i < y.length; i++) {
        let best = 0;
        for (let c = 1; c < k; c++) if ((scores[i * k + c] as number) > (scores[i * k + best] as number)) best = c;
        if (best === y[i]) correct++;
      }
      return y.length > 0 ? correct / y.length : Number.NaN;
    },
    transform(scores) {
      const rows = scores.length / k;
      const out = new Float32Array(scores.length);
      for (let r = 0; r < rows; r++) {
        softmaxRow(scores, r);
        for (let c = 0; c < k; c++) out[r * k + c] = probabilities[c] as number;
      }
      return out;
    },
  };
}
