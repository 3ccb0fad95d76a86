import { DEFAULT_PSI_EPSILON, populationStabilityIndex } from './divergence';

/**
 * How far apart two samples of scores are, as effect sizes: the reference definitions, in memory. The
 * batch comparison computes the same numbers in DuckDB (lib/batch-predict/shadow-comparison.ts); tests
 * hold the two together.
 */

/**
 * The two-sample Kolmogorov–Smirnov statistic: the largest distance between the two empirical CDFs,
 * sup over x of |F_a(x) − F_b(x)| (as scipy.stats.ks_2samp's `statistic`). NaN when a sample is empty.
 */
export function kolmogorovSmirnovStatistic(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0) return Number.NaN;
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let largest = 0;
  while (i < x.length && j < y.length) {
    // Step past every copy of the smaller value on both sides, then compare the CDFs just after it.
    const v = Math.min(x[i] as number, y[j] as number);
    while (i < x.length && (x[i] as number) <= v) i++;
    while (j < y.length && (y[j] as number) <= v) j++;
    largest = Math.max(largest, Math.abs(i / x.length - j / y.length));
  }
  return largest;
}

/**
 * The cut points of `bins` equal-frequency bins of `values`: for k = 1 … bins − 1, the smallest value x
 * with F(x) ≥ k / bins (the inverse empirical CDF, as DuckDB's quantile_disc), duplicates dropped where
 * values tie at a cut. Cuts are values of the sample, so no rounding decides which bin a value falls in.
 */
export function quantileCuts(values: readonly number[], bins = 10): number[] {
  const sorted = values.filter(Number.isFinite).sort((p, q) => p - q);
  if (sorted.length === 0) return [];
  const n = sorted.length;
  // k·n / bins in integers, so 7·10 / 10 is exactly 7 (0.7 · 10 is not).
  const cuts = Array.from({ length: bins - 1 }, (_, k) => sorted[Math.max(0, Math.ceil(((k + 1) * n) / bins) - 1)]);
  return distinctAscending(cuts as number[]);
}

export function distinctAscending(values: readonly number[]): number[] {
  return [...new Set(values.filter(Number.isFinite))].sort((p, q) => p - q);
}

/** Counts per bin (−∞, c₁], (c₁, c₂], …, (cₖ, ∞) of ascending `cuts`. */
export function countInBins(values: readonly number[], cuts: readonly number[]): number[] {
  const counts = new Array<number>(cuts.length + 1).fill(0);
  for (const v of values) {
    let bin = 0;
    while (bin < cuts.length && (cuts[bin] as number) < v) bin++;
    counts[bin] = (counts[bin] as number) + 1;
  }
  return counts;
}

/**
 * PSI of `actual` against `expected` on fixed bins: the deciles of `expected` (fewer bins where its
 * values tie at a cut), each value in (cᵢ, cᵢ₊₁].
 */
export function psiOnReferenceDeciles(
  expected: readonly number[],
  actual: readonly number[],
  epsilon = DEFAULT_PSI_EPSILON,
): { psi: number; cuts: number[]; expectedCounts: number[]; actualCounts: number[] } {
  const cuts = quantileCuts(expected, 10);
  const expectedCounts = countInBins(expected, cuts);
  const actualCounts = countInBins(actual, cuts);
  return { psi: populationStabilityIndex(expectedCounts, actualCounts, epsilon), cuts, expectedCounts, actualCounts };
}
