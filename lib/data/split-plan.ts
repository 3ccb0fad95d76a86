import type { SplitName } from '../../contracts/stage-results';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * The arithmetic of splitting, free of SQL: which strategy applies, where the fraction boundaries
 * fall, how many rows of a stratum go to each split. `split.ts` runs these rules in DuckDB; the unit
 * tests check both against each other.
 */

export type SplitStrategy = 'random' | 'stratified' | 'time';

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];

/** `auto` → time when a time column is declared, else stratified for classification, else random. */
export function resolveSplitStrategy(
  requested: 'auto' | SplitStrategy,
  options: { timeColumn?: string; taskType: TaskType },
): SplitStrategy {
  if (requested !== 'auto') return requested;
  if (options.timeColumn !== undefined) return 'time';
  return options.taskType === 'regression' ? 'random' : 'stratified';
}

/** Cumulative upper bounds in [0, 1]: a row whose uniform draw u is < train goes to train, < validation to validation, else test. */
export function cumulativeBounds(fractions: SplitFractions): { train: number; validation: number } {
  return { train: fractions.train, validation: fractions.train + fractions.validation };
}

/** Which split a uniform draw u ∈ [0, 1) lands in: the rule the hash-based random split applies in SQL. */
export function splitForDraw(u: number, fractions: SplitFractions): SplitName {
  const bounds = cumulativeBounds(fractions);
  if (u < bounds.train) return 'train';
  if (u < bounds.validation) return 'validation';
  return 'test';
}

/**
 * How a stratum of n rows, ranked 1..n by row hash, is cut: ranks ≤ trainEnd go to train, ranks
 * ≤ validationEnd to validation, the rest to test. Rounding the cumulative bounds (not each share)
 * keeps the three counts summing to n and each within one row of its exact share.
 */
export function stratumCutoffs(n: number, fractions: SplitFractions): { trainEnd: number; validationEnd: number } {
  const bounds = cumulativeBounds(fractions);
  return { trainEnd: Math.round(n * bounds.train), validationEnd: Math.round(n * bounds.validation) };
}

/** Rows of a stratum of size n per split, by `stratumCutoffs`. */
export function stratumCounts(n: number, fractions: SplitFractions): Record<SplitName, number> {
  const { trainEnd, validationEnd } = stratumCutoffs(n, fractions);
  return { train: trainEnd, validation: validationEnd - trainEnd, test: n - validationEnd };
}

/** The quantile levels at which a time split cuts when no boundaries are configured. */
export function timeQuantiles(fractions: SplitFractions): { validationStart: number; testStart: number } {
  const bounds = cumulativeBounds(fractions);
  return { validationStart: Math.min(bounds.train, 1), testStart: Math.min(bounds.validation, 1) };
}
