import type { ColumnStatistics, DatasetStatistics } from './statistics';

/** Proportions below this are clipped in PSI, so an empty bin on one side gives a large but finite term. */
export const DEFAULT_PSI_EPSILON = 1e-4;

/**
 * Population Stability Index of `actualCounts` against `expectedCounts` on the same bins:
 * PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over bin proportions, each clipped below at `epsilon`.
 * Rules of thumb: < 0.1 stable, 0.1–0.2 moderate shift, > 0.2 significant shift.
 */
export function populationStabilityIndex(expectedCounts: readonly number[], actualCounts: readonly number[], epsilon = DEFAULT_PSI_EPSILON): number {
  if (expectedCounts.length !== actualCounts.length) {
    throw new RangeError(`PSI needs counts on the same bins: ${expectedCounts.length} expected vs ${actualCounts.length} actual`);
  }
  const expected = proportions(expectedCounts);
  const actual = proportions(actualCounts);
  if (!expected || !actual) return 0;
  let psi = 0;
  for (let i = 0; i < expected.length; i += 1) {
    const e = Math.max(expected[i] as number, epsilon);
    const a = Math.max(actual[i] as number, epsilon);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/**
 * Jensen–Shannon distance between two distributions given as counts or probabilities on the same
 * categories: the square root of the JS divergence in bits, so it lies in [0, 1] (0: identical,
 * 1: disjoint supports) and is a metric.
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new RangeError(`JS distance needs the same categories: ${p.length} vs ${q.length}`);
  const pp = proportions(p);
  const qq = proportions(q);
  if (!pp || !qq) return 0;
  let divergence = 0;
  for (let i = 0; i < pp.length; i += 1) {
    const a = pp[i] as number;
    const b = qq[i] as number;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log2(b / m);
  }
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

function proportions(counts: readonly number[]): number[] | undefined {
  if (counts.some((c) => !(c >= 0) || !Number.isFinite(c))) throw new RangeError('counts must be finite and non-negative');
  const total = counts.reduce((s, c) => s + c, 0);
  return total > 0 ? counts.map((c) => c / total) : undefined;
}

export interface DriftThresholds {
  psiThreshold: number;
  jensenShannonThreshold: number;
  psiEpsilon?: number;
}

/** One row of the drift table in the anomalies report. */
export interface ColumnDrift {
  column: string;
  metric: 'psi' | 'jensen-shannon';
  value: number;
  threshold: number;
  drifted: boolean;
  /** What moved, in words: the mean for numbers, the categories whose share changed most otherwise. */
  summary: string;
}

const OTHER = '\u0000other';

/**
 * Compares one column against the reference: PSI on the reference's histogram bins for numbers,
 * Jensen–Shannon distance over the union of categories for categoricals and booleans. Undefined when
 * the column cannot be compared (types differ, no values, or no counts on the reference's bins).
 */
export function compareColumnDrift(reference: ColumnStatistics, current: ColumnStatistics, thresholds: DriftThresholds): ColumnDrift | undefined {
  if (reference.numeric && current.numeric) {
    const expected = reference.numeric.histogram;
    const actual = current.numeric.histogramOnReferenceBins;
    if (!actual || expected.counts.length === 0 || !sameEdges(expected.edges, actual.edges)) return undefined;
    const value = populationStabilityIndex(expected.counts, actual.counts, thresholds.psiEpsilon ?? DEFAULT_PSI_EPSILON);
    return {
      column: current.name,
      metric: 'psi',
      value,
      threshold: thresholds.psiThreshold,
      drifted: value > thresholds.psiThreshold,
      summary: `mean ${formatNumber(reference.numeric.mean)} → ${formatNumber(current.numeric.mean)}, median ${formatNumber(median(reference))} → ${formatNumber(median(current))}`,
    };
  }
  const expected = categoryCounts(reference);
  const actual = categoryCounts(current);
  if (!expected || !actual) return undefined;
  const categories = [...new Set([...expected.keys(), ...actual.keys()])];
  const p = categories.map((c) => expected.get(c) ?? 0);
  const q = categories.map((c) => actual.get(c) ?? 0);
  const value = jensenShannonDistance(p, q);
  return {
    column: current.name,
    metric: 'jensen-shannon',
    value,
    threshold: thresholds.jensenShannonThreshold,
    drifted: value > thresholds.jensenShannonThreshold,
    summary: biggestShareChanges(categories, p, q),
  };
}

/** The drift table: every column present and comparable in both, in the current dataset's column order. */
export function compareDrift(reference: DatasetStatistics, current: DatasetStatistics, thresholds: DriftThresholds): ColumnDrift[] {
  const byName = new Map(reference.columns.map((c) => [c.name, c]));
  return current.columns.flatMap((column) => {
    const ref = byName.get(column.name);
    const drift = ref ? compareColumnDrift(ref, column, thresholds) : undefined;
    return drift ? [drift] : [];
  });
}

/** The bin edges drift needs from a reference: numeric columns' histogram edges, by name. */
export function referenceEdges(reference: DatasetStatistics): Record<string, number[]> {
  const edges: Record<string, number[]> = {};
  for (const c of reference.columns) if (c.numeric && c.numeric.histogram.edges.length >= 2) edges[c.name] = c.numeric.histogram.edges;
  return edges;
}

function categoryCounts(column: ColumnStatistics): Map<string, number> | undefined {
  if (column.categorical) {
    const counts = new Map(column.categorical.categories.map((c) => [c.value, c.count]));
    if (column.categorical.otherCount > 0) counts.set(OTHER, column.categorical.otherCount);
    return counts.size > 0 ? counts : undefined;
  }
  if (column.boolean) {
    const { trueCount, falseCount } = column.boolean;
    return trueCount + falseCount > 0 ? new Map([['true', trueCount], ['false', falseCount]]) : undefined;
  }
  return undefined;
}

function biggestShareChanges(categories: string[], p: number[], q: number[], shown = 3): string {
  const pTotal = p.reduce((s, v) => s + v, 0) || 1;
  const qTotal = q.reduce((s, v) => s + v, 0) || 1;
  return categories
    .map((c, i) => ({ c, before: (p[i] as number) / pTotal, after: (q[i] as number) / qTotal }))
    .sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before))
    .slice(0, shown)
    .map(({ c, before, after }) => `${c === OTHER ? '(other values)' : JSON.stringify(c.length > 40 ? `${c.slice(0, 40)}…` : c)} ${formatShare(before)} → ${formatShare(after)}`)
    .join(', ');
}

function sameEdges(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function median(column: ColumnStatistics): number | null {
  return column.numeric?.quantiles.find((q) => q.q === 0.5)?.value ?? null;
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  if (value !== 0 && (Math.abs(value) >= 1e6 || Math.abs(value) < 1e-3)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

export function formatShare(share: number): string {
  const percent = share * 100;
  if (percent === 0 || percent >= 10) return `${Math.round(percent)}%`;
  return `${Number(percent.toPrecision(2))}%`;
}
