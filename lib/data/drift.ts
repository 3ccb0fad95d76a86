import type { ColumnDrift } from '../../contracts/drift-check';
import {
  DEFAULT_PSI_EPSILON,
  expectedNoiseJensenShannonDivergence,
  expectedNoisePsi,
  jensenShannonDivergence,
  populationStabilityIndex,
} from '../stats/divergence';
import { chiSquareHomogeneity, poolCategories, poolOrderedBins, sumGroups } from '../stats/homogeneity';
import { holmAdjust } from '../stats/multiple-testing';
import { alignCounts, OTHER_VALUES, referenceBinEdges, type AlignedCounts } from './drift-bins';
import type { ColumnStatistics, DatasetStatistics } from './statistics';

export type { ColumnDrift } from '../../contracts/drift-check';

/**
 * Calibrated drift: is a batch still distributed like the reference? Per column, a chi-square test of
 * homogeneity of the batch's counts against the reference's on the same bins (numbers on the reference's
 * quantile bins, categories with rare ones pooled), Holm-corrected across the columns; a column drifts
 * only when that is significant at `alpha` and its shift, net of sampling noise, exceeds a floor (PSI for
 * numbers, Jensen–Shannon distance otherwise). A batch with fewer than `minRows` rows is not judged.
 * One implementation for validateData's drift table and the drift monitor's check.
 */
export interface DriftSettings {
  /** Effect-size floor for numbers (PSI on the pooled bins, noise subtracted). */
  psiThreshold: number;
  /** Effect-size floor for categories and booleans (Jensen–Shannon distance, noise subtracted). */
  jensenShannonThreshold: number;
  /** Family-wise error rate over the columns of one comparison. */
  alpha: number;
  /** Fewer rows than this: too few to judge. */
  minRows: number;
  psiEpsilon?: number;
}

export interface DriftComparison {
  /** `too-few-rows`: the batch has fewer than minRows rows and no column was judged. */
  outcome: 'judged' | 'too-few-rows';
  rows: number;
  minRows: number;
  alpha: number;
  /** Why nothing was judged, in words (too-few-rows only). */
  note?: string;
  /** Every column present and comparable in both, in the batch's column order. */
  columns: ColumnDrift[];
}

/** The drift table of a batch (`current`) against the reference statistics. */
export function compareDrift(
  reference: DatasetStatistics,
  current: DatasetStatistics,
  settings: DriftSettings,
): DriftComparison {
  const base = { rows: current.rowCount, minRows: settings.minRows, alpha: settings.alpha };
  if (current.rowCount < settings.minRows) {
    return { outcome: 'too-few-rows', ...base, note: tooFewRowsNote(current.rowCount, settings.minRows), columns: [] };
  }
  const byName = new Map(reference.columns.map((c) => [c.name, c]));
  const tested = current.columns.flatMap((column) => {
    const ref = byName.get(column.name);
    const row = ref ? testColumnDrift(ref, column, settings) : undefined;
    return row ? [row] : [];
  });
  const adjusted = holmAdjust(tested.map((row) => row.pValue));
  const columns = tested.map((row, i) => {
    const adjustedPValue = adjusted[i] as number;
    return { ...row, adjustedPValue, drifted: adjustedPValue < settings.alpha && row.value > row.floor };
  });
  return { outcome: 'judged', ...base, columns };
}

export function tooFewRowsNote(rows: number, minRows: number): string {
  return `too few rows to judge drift: the batch has ${rows} row${rows === 1 ? '' : 's'}, fewer than validation.drift.minRows (${minRows})`;
}

/**
 * One column's test, unadjusted (adjustedPValue is its own p-value until compareDrift corrects the
 * family). Undefined when it cannot be compared: types differ, the batch was not counted on the
 * reference's bins, fewer than minRows values, or fewer than two bins left after pooling.
 */
export function testColumnDrift(
  reference: ColumnStatistics,
  current: ColumnStatistics,
  settings: DriftSettings,
): ColumnDrift | undefined {
  const aligned = alignCounts(reference, current);
  if (!aligned) return undefined;
  const referenceCount = sum(aligned.reference);
  const batchCount = sum(aligned.batch);
  if (referenceCount === 0 || batchCount < Math.max(1, settings.minRows)) return undefined;
  const pooled = pool(aligned);
  if (pooled.reference.length < 2) return undefined;
  const test = chiSquareHomogeneity(pooled.reference, pooled.batch);
  const bins = pooled.reference.length;
  const numeric = aligned.binning !== 'categories';
  const observedValue = numeric
    ? populationStabilityIndex(pooled.reference, pooled.batch, settings.psiEpsilon ?? DEFAULT_PSI_EPSILON)
    : Math.sqrt(jensenShannonDivergence(pooled.reference, pooled.batch));
  const value = numeric
    ? Math.max(0, observedValue - expectedNoisePsi(bins, referenceCount, batchCount))
    : Math.sqrt(
        Math.max(0, observedValue ** 2 - expectedNoiseJensenShannonDivergence(bins, referenceCount, batchCount)),
      );
  const floor = numeric ? settings.psiThreshold : settings.jensenShannonThreshold;
  return {
    column: current.name,
    test: test.test,
    binning: aligned.binning,
    bins,
    referenceCount,
    batchCount,
    statistic: test.statistic,
    degreesOfFreedom: test.degreesOfFreedom,
    pValue: test.pValue,
    adjustedPValue: test.pValue,
    alpha: settings.alpha,
    metric: numeric ? 'psi' : 'jensen-shannon',
    value,
    observedValue,
    floor,
    drifted: test.pValue < settings.alpha && value > floor,
    summary: numeric
      ? numericSummary(reference, current)
      : biggestShareChanges(pooled.labels, pooled.reference, pooled.batch),
  };
}

/** Sparse bins pooled so every expected count is at least MIN_EXPECTED_COUNT (10): neighbours for numbers, rare values into "other" for categories. */
function pool(aligned: AlignedCounts): { labels: string[]; reference: number[]; batch: number[] } {
  if (aligned.binning !== 'categories') {
    const groups = poolOrderedBins(aligned.reference, aligned.batch);
    return {
      labels: groups.map((g) => g.map((k) => aligned.labels[k]).join('+')),
      reference: sumGroups(aligned.reference, groups),
      batch: sumGroups(aligned.batch, groups),
    };
  }
  const alwaysPooled = new Set(aligned.otherIndex === undefined ? [] : [aligned.otherIndex]);
  const { groups, pooledGroup } = poolCategories(aligned.reference, aligned.batch, { alwaysPooled });
  const labels = groups.map((g, i) => (i === pooledGroup ? OTHER_VALUES : (aligned.labels[g[0] as number] as string)));
  return { labels, reference: sumGroups(aligned.reference, groups), batch: sumGroups(aligned.batch, groups) };
}

/** The bin edges a batch must be counted on for drift, per numeric column of the reference (see referenceBinEdges). */
export function referenceEdges(reference: DatasetStatistics): Record<string, number[]> {
  const edges: Record<string, number[]> = {};
  for (const column of reference.columns) {
    const found = referenceBinEdges(column);
    if (found) edges[column.name] = found;
  }
  return edges;
}

function numericSummary(reference: ColumnStatistics, current: ColumnStatistics): string {
  return `mean ${formatNumber(reference.numeric?.mean)} → ${formatNumber(current.numeric?.mean)}, median ${formatNumber(median(reference))} → ${formatNumber(median(current))}`;
}

function biggestShareChanges(categories: string[], p: number[], q: number[], shown = 3): string {
  const pTotal = sum(p) || 1;
  const qTotal = sum(q) || 1;
  return categories
    .map((c, i) => ({ c, before: (p[i] as number) / pTotal, after: (q[i] as number) / qTotal }))
    .sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before))
    .slice(0, shown)
    .map(
      ({ c, before, after }) =>
        `${c === OTHER_VALUES ? '(other values)' : JSON.stringify(c.length > 40 ? `${c.slice(0, 40)}…` : c)} ${formatShare(before)} → ${formatShare(after)}`,
    )
    .join(', ');
}

function median(column: ColumnStatistics): number | null {
  return column.numeric?.quantiles.find((q) => q.q === 0.5)?.value ?? null;
}

function sum(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0);
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
