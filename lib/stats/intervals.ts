import { normalQuantile } from './distributions';

/** A two-sided confidence interval and how it was computed. */
export interface Interval {
  lower: number;
  upper: number;
  method: 'wilson' | 'delong' | 'normal' | 'bootstrap';
}

/** Wilson score interval for a proportion `successes / trials` (Wilson 1927): well-behaved at 0, 1 and small n. */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): Interval {
  if (trials <= 0) return { lower: Number.NaN, upper: Number.NaN, method: 'wilson' };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  // At 0 and at n the bounds are exactly 0 and 1; rounding would leave them an ulp inside, excluding p itself.
  return {
    lower: successes <= 0 ? 0 : Math.max(0, centre - half),
    upper: successes >= trials ? 1 : Math.min(1, centre + half),
    method: 'wilson',
  };
}

/** Mean, and the standard error of the mean (sample standard deviation / √n), of a list of numbers. */
export function meanAndStandardError(values: ArrayLike<number>): { mean: number; standardError: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, standardError: Number.NaN, n };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += ((values[i] as number) - mean) ** 2;
  return { mean, standardError: n > 1 ? Math.sqrt(squares / (n - 1) / n) : Number.NaN, n };
}

/** estimate ± z·se, the normal-approximation interval. */
export function normalInterval(
  estimate: number,
  standardError: number,
  confidence = 0.95,
  method: Interval['method'] = 'normal',
): Interval {
  const z = normalQuantile(1 - (1 - confidence) / 2);
  return { lower: estimate - z * standardError, upper: estimate + z * standardError, method };
}

/** Percentile interval of bootstrap replicates (NaN replicates dropped; NaN when too few remain). */
export function percentileInterval(replicates: number[], confidence = 0.95): Interval {
  const finite = replicates.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length < Math.max(10, replicates.length / 2))
    return { lower: Number.NaN, upper: Number.NaN, method: 'bootstrap' };
  const tail = (1 - confidence) / 2;
  const at = (q: number) => {
    const position = q * (finite.length - 1);
    const low = Math.floor(position);
    const high = Math.ceil(position);
    return (finite[low] as number) + ((finite[high] as number) - (finite[low] as number)) * (position - low);
  };
  return { lower: at(tail), upper: at(1 - tail), method: 'bootstrap' };
}
