/**
 * Adjusted p-values for a family of tests, so that "adjusted p < alpha" controls the error over the
 * whole family rather than per test. Pure; NaN p-values stay NaN and do not count towards the family.
 */

/**
 * Holm's step-down adjustment (family-wise error rate ≤ alpha, under any dependence): the i-th smallest
 * of m p-values becomes max over j ≤ i of min(1, (m − j + 1) · p₍ⱼ₎).
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const order = rankedIndexes(pValues);
  const m = order.length;
  const adjusted = pValues.map(() => Number.NaN);
  let running = 0;
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * (pValues[index] as number)));
    adjusted[index] = running;
  });
  return adjusted;
}

/**
 * Benjamini–Hochberg's step-up adjustment (false discovery rate ≤ alpha for independent or positively
 * dependent tests): the i-th smallest of m p-values becomes min over j ≥ i of min(1, m · p₍ⱼ₎ / j).
 */
export function benjaminiHochbergAdjust(pValues: readonly number[]): number[] {
  const order = rankedIndexes(pValues);
  const m = order.length;
  const adjusted = pValues.map(() => Number.NaN);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank -= 1) {
    const index = order[rank] as number;
    running = Math.min(running, (m * (pValues[index] as number)) / (rank + 1));
    adjusted[index] = running;
  }
  return adjusted;
}

/** Indexes of the non-NaN p-values, smallest p first (ties in input order). */
function rankedIndexes(pValues: readonly number[]): number[] {
  for (const p of pValues)
    if (!Number.isNaN(p) && !(p >= 0 && p <= 1)) throw new RangeError(`a p-value must lie in [0, 1], got ${p}`);
  return pValues
    .flatMap((p, i) => (Number.isNaN(p) ? [] : [i]))
    .sort((a, b) => (pValues[a] as number) - (pValues[b] as number) || a - b);
}
