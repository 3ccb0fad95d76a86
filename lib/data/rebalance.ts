/**
 * Class-imbalance arithmetic, free of SQL: how many rows each class keeps (undersampling) or reaches
 * (oversampling) for a target minority/majority ratio, and balanced class weights. `sampling.ts`
 * runs the same rules in DuckDB; the unit tests check one against the other.
 */

export type ClassCounts = Record<string, number>;

/**
 * Undersampling caps every class at floor(minority / targetRatio) rows; oversampling lifts every
 * class to ceil(majority × targetRatio) rows. Either way minority/majority ≥ targetRatio afterwards,
 * and no class loses (oversampling) or gains (undersampling) rows.
 */
export function planClassTargets(
  counts: ClassCounts,
  mode: 'undersample' | 'oversample',
  targetRatio: number,
): ClassCounts {
  if (!(targetRatio > 0 && targetRatio <= 1)) throw new RangeError(`targetRatio must be in (0, 1], got ${targetRatio}`);
  const targets: ClassCounts = {};
  if (mode === 'undersample') {
    const cap = undersampleCap(counts, targetRatio);
    for (const [name, n] of Object.entries(counts)) targets[name] = Math.min(n, cap);
  } else {
    const floor = oversampleFloor(counts, targetRatio);
    for (const [name, n] of Object.entries(counts)) targets[name] = n > 0 ? Math.max(n, floor) : 0;
  }
  return targets;
}

/** The most rows any class keeps when undersampling: floor(minority / targetRatio). */
export function undersampleCap(counts: ClassCounts, targetRatio: number): number {
  const present = Object.values(counts).filter((n) => n > 0);
  return present.length === 0 ? 0 : Math.floor(Math.min(...present) / targetRatio);
}

/** The fewest rows any class reaches when oversampling: ceil(majority × targetRatio). */
export function oversampleFloor(counts: ClassCounts, targetRatio: number): number {
  const present = Object.values(counts).filter((n) => n > 0);
  return present.length === 0 ? 0 : Math.ceil(Math.max(...present) * targetRatio);
}

/**
 * Oversampling by whole copies: a class of n rows grown to `target` repeats every row
 * floor(target / n) times and the first (target mod n) rows by rank once more.
 * `rank` is 0-based.
 */
export function copiesOfRow(rank: number, n: number, target: number): number {
  return Math.floor(target / n) + (rank < target % n ? 1 : 0);
}

/** Balanced weights n / (k · n_c): every class carries the same total weight in the loss. */
export function balancedClassWeights(counts: ClassCounts): Record<string, number> {
  const present = Object.entries(counts).filter(([, n]) => n > 0);
  const total = present.reduce((sum, [, n]) => sum + n, 0);
  return Object.fromEntries(present.map(([name, n]) => [name, total / (present.length * n)]));
}
