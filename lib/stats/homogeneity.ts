import { chiSquareSurvival } from './distributions';

/**
 * Two-sample tests on counts: is a batch distributed over the same bins as a reference? The 2 × K table
 * of (reference counts, batch counts) is tested for homogeneity with Pearson's chi-square, after bins are
 * pooled until every cell's expected count is at least MIN_EXPECTED_COUNT (where the chi-square
 * approximation holds). Both samples' sizes enter the expected counts, so the test is calibrated at any
 * batch size, however large or small the reference.
 */

/**
 * Expected count every cell must reach before the chi-square approximation is trusted. Cochran's rule
 * says 5; at 5, stationary 100-row batches of real flights raised false alarms at 1.3% (5/400) in one run
 * against a family-wise 0.5%, and at 10 at 0.25% (2/800), with power on the planted shifts unchanged or
 * higher (`bench soundness`).
 */
export const MIN_EXPECTED_COUNT = 10;

export interface HomogeneityTest {
  test: 'chi-square';
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/**
 * Pearson's chi-square test of homogeneity of two rows of counts on the same bins:
 * X² = Σ (O − E)² / E over both rows, E = row total · bin total / grand total, df = (non-empty bins) − 1.
 */
export function chiSquareHomogeneity(reference: readonly number[], batch: readonly number[]): HomogeneityTest {
  checkCounts(reference, batch);
  const referenceTotal = sum(reference);
  const batchTotal = sum(batch);
  const total = referenceTotal + batchTotal;
  if (referenceTotal === 0 || batchTotal === 0) throw new RangeError('a homogeneity test needs counts in both samples');
  let statistic = 0;
  let bins = 0;
  for (let k = 0; k < reference.length; k += 1) {
    const binTotal = (reference[k] as number) + (batch[k] as number);
    if (binTotal === 0) continue;
    bins += 1;
    for (const [observed, rowTotal] of [
      [reference[k] as number, referenceTotal],
      [batch[k] as number, batchTotal],
    ] as const) {
      const expected = (rowTotal * binTotal) / total;
      statistic += ((observed - expected) * (observed - expected)) / expected;
    }
  }
  if (bins < 2) throw new RangeError('a homogeneity test needs at least two non-empty bins');
  const degreesOfFreedom = bins - 1;
  return { test: 'chi-square', statistic, degreesOfFreedom, pValue: chiSquareSurvival(statistic, degreesOfFreedom) };
}

/**
 * The smallest bin total (reference + batch) whose expected counts reach `minExpected` in both rows:
 * the smaller sample is the binding one, E = min(n₁, n₂) · binTotal / N.
 */
export function minimumBinTotal(referenceTotal: number, batchTotal: number, minExpected = MIN_EXPECTED_COUNT): number {
  const smaller = Math.min(referenceTotal, batchTotal);
  return smaller > 0 ? (minExpected * (referenceTotal + batchTotal)) / smaller : Number.POSITIVE_INFINITY;
}

/**
 * Ordered bins (a histogram's): neighbours merged left to right until each group's total reaches the
 * minimum; a short remainder at the top joins the last group. Returns groups of bin indexes, in order.
 */
export function poolOrderedBins(
  reference: readonly number[],
  batch: readonly number[],
  minExpected = MIN_EXPECTED_COUNT,
): number[][] {
  checkCounts(reference, batch);
  const need = minimumBinTotal(sum(reference), sum(batch), minExpected);
  const groups: number[][] = [];
  let open: number[] = [];
  let openTotal = 0;
  for (let k = 0; k < reference.length; k += 1) {
    open.push(k);
    openTotal += (reference[k] as number) + (batch[k] as number);
    if (openTotal >= need) {
      groups.push(open);
      open = [];
      openTotal = 0;
    }
  }
  if (open.length > 0) {
    const last = groups.at(-1);
    if (last) last.push(...open);
    else groups.push(open);
  }
  return groups;
}

/**
 * Unordered categories: each category whose total reaches the minimum is its own group; the rest (and
 * `alwaysPooled`, e.g. values the reference did not list) share one "other" group, which, if it is
 * still short of the minimum, joins the smallest kept category. Kept groups come first, largest first;
 * the pooled group, if any, last.
 */
export function poolCategories(
  reference: readonly number[],
  batch: readonly number[],
  options: { minExpected?: number; alwaysPooled?: ReadonlySet<number> } = {},
): { groups: number[][]; pooledGroup?: number } {
  checkCounts(reference, batch);
  const need = minimumBinTotal(sum(reference), sum(batch), options.minExpected ?? MIN_EXPECTED_COUNT);
  const totalOf = (k: number) => (reference[k] as number) + (batch[k] as number);
  const byTotal = reference.map((_, k) => k).sort((a, b) => totalOf(b) - totalOf(a) || a - b);
  const kept = byTotal.filter((k) => totalOf(k) >= need && !options.alwaysPooled?.has(k)).map((k) => [k]);
  const pooled = byTotal.filter((k) => totalOf(k) > 0 && (totalOf(k) < need || options.alwaysPooled?.has(k)));
  if (pooled.length === 0) return { groups: kept };
  const pooledTotal = pooled.reduce((s, k) => s + totalOf(k), 0);
  if (pooledTotal >= need || kept.length === 0) return { groups: [...kept, pooled], pooledGroup: kept.length };
  const smallest = kept.pop() as number[];
  return { groups: [...kept, [...smallest, ...pooled]], pooledGroup: kept.length };
}

/** Counts summed per group of bin indexes. */
export function sumGroups(counts: readonly number[], groups: readonly (readonly number[])[]): number[] {
  return groups.map((group) => group.reduce((s, k) => s + (counts[k] as number), 0));
}

function checkCounts(reference: readonly number[], batch: readonly number[]): void {
  if (reference.length !== batch.length)
    throw new RangeError(`counts on different bins: ${reference.length} vs ${batch.length}`);
  for (const c of [...reference, ...batch])
    if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError('counts must be finite and non-negative');
}

function sum(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0);
}
