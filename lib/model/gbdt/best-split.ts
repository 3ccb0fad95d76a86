import { BIN_STRIDE, CHANNELS } from './histogram';

export interface SplitRules {
  minSamplesLeaf: number;
  minHessianLeaf: number;
  l2Regularization: number;
}

/** The best split of a node: rows with bin ≤ `bin` on `feature` go left. */
export interface SplitChoice {
  gain: number;
  feature: number;
  bin: number;
  left: { grad: number; hess: number; count: number };
  right: { grad: number; hess: number; count: number };
}

/** A node's gradient sums. */
export interface NodeSums {
  grad: number;
  hess: number;
  count: number;
}

/**
 * Scans every feature's bins left to right for the split with the largest loss reduction
 * G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), keeping both sides at or above the minimum rows and hessian.
 * Ties go to the lower feature, then the lower bin, so the choice is the same on every run.
 */
export function findBestSplit(
  hist: Float64Array,
  binCounts: Uint16Array,
  node: NodeSums,
  rules: SplitRules,
): SplitChoice | undefined {
  const lambda = rules.l2Regularization;
  const parentScore = (node.grad * node.grad) / (node.hess + lambda);
  let best: SplitChoice | undefined;
  let bestGain = 0;
  for (let f = 0; f < binCounts.length; f++) {
    const lastBin = (binCounts[f] as number) - 1;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    let j = f * BIN_STRIDE * CHANNELS;
    for (let b = 0; b < lastBin; b++, j += CHANNELS) {
      gl += hist[j] as number;
      hl += hist[j + 1] as number;
      cl += hist[j + 2] as number;
      if (cl < rules.minSamplesLeaf || hl < rules.minHessianLeaf) continue;
      const cr = node.count - cl;
      if (cr < rules.minSamplesLeaf) break;
      const gr = node.grad - gl;
      const hr = node.hess - hl;
      if (hr < rules.minHessianLeaf) continue;
      const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
      if (gain > bestGain) {
        bestGain = gain;
        best = {
          gain,
          feature: f,
          bin: b,
          left: { grad: gl, hess: hl, count: cl },
          right: { grad: gr, hess: hr, count: cr },
        };
      }
    }
  }
  return best;
}
