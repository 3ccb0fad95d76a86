import type { ColumnStatistics, Histogram } from './statistics';

/** The label of the bin that holds values the reference did not list (its "other" values, and any new ones). */
export const OTHER_VALUES = '\u0000other';

/** A column's reference and batch counts on the same bins, ready for a two-sample test. */
export interface AlignedCounts {
  binning: 'quantile' | 'equal-width' | 'categories';
  /** Category values (OTHER_VALUES for the rest); numeric bins are ordered by their edges. */
  labels: string[];
  reference: number[];
  batch: number[];
  /** The bin of values the reference did not list: always pooled with the rare categories, never tested alone as a category. */
  otherIndex?: number;
}

/**
 * The bin edges a batch must be counted on to be compared with this reference column: its quantile bins
 * when the statistics have them, else (statistics written before quantile bins) its equal-width histogram's.
 */
export function referenceBinEdges(reference: ColumnStatistics): number[] | undefined {
  const numeric = reference.numeric;
  if (!numeric) return undefined;
  if (numeric.quantileHistogram && numeric.quantileHistogram.edges.length >= 2) return numeric.quantileHistogram.edges;
  return numeric.histogram.edges.length >= 2 ? numeric.histogram.edges : undefined;
}

/**
 * Reference and batch counts on shared bins: numbers on the reference's bins (the batch counted on them
 * by computeStatistics' referenceEdges), categories and booleans on the reference's values plus one bin
 * for everything else. Undefined when the column cannot be compared (types differ, or the batch was not
 * counted on the reference's bins).
 */
export function alignCounts(reference: ColumnStatistics, current: ColumnStatistics): AlignedCounts | undefined {
  if (reference.numeric || current.numeric) {
    if (!reference.numeric || !current.numeric) return undefined;
    const batch = current.numeric.histogramOnReferenceBins;
    if (!batch) return undefined;
    const onSameBins = (h: Histogram | undefined) =>
      h !== undefined && h.counts.length > 0 && sameEdges(h.edges, batch.edges);
    const quantile = reference.numeric.quantileHistogram;
    const binned = onSameBins(quantile)
      ? { binning: 'quantile' as const, counts: (quantile as Histogram).counts }
      : onSameBins(reference.numeric.histogram)
        ? { binning: 'equal-width' as const, counts: reference.numeric.histogram.counts }
        : undefined;
    if (!binned || binned.counts.length !== batch.counts.length) return undefined;
    return {
      binning: binned.binning,
      labels: binned.counts.map((_, k) => `bin ${k + 1}`),
      reference: [...binned.counts],
      batch: [...batch.counts],
    };
  }
  const expected = categoryCounts(reference);
  const actual = categoryCounts(current);
  if (!expected || !actual) return undefined;
  const labels = [...expected.keys()].filter((value) => value !== OTHER_VALUES);
  const index = new Map(labels.map((value, k) => [value, k]));
  const otherIndex = labels.length;
  const referenceCounts = [...labels.map((value) => expected.get(value) as number), expected.get(OTHER_VALUES) ?? 0];
  const batchCounts = new Array<number>(labels.length + 1).fill(0);
  for (const [value, count] of actual) {
    const k = value === OTHER_VALUES ? otherIndex : (index.get(value) ?? otherIndex);
    batchCounts[k] = (batchCounts[k] as number) + count;
  }
  return {
    binning: 'categories',
    labels: [...labels, OTHER_VALUES],
    reference: referenceCounts,
    batch: batchCounts,
    otherIndex,
  };
}

function categoryCounts(column: ColumnStatistics): Map<string, number> | undefined {
  if (column.categorical) {
    const counts = new Map(column.categorical.categories.map((c) => [c.value, c.count]));
    if (column.categorical.otherCount > 0) counts.set(OTHER_VALUES, column.categorical.otherCount);
    return counts;
  }
  if (column.boolean)
    return new Map([
      ['true', column.boolean.trueCount],
      ['false', column.boolean.falseCount],
    ]);
  return undefined;
}

function sameEdges(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
