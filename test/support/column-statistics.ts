import type { ColumnStatistics } from '../../lib/data/statistics';

/** Statistics of a categorical column as the profiler would report them, for pure-core unit tests. */
export function categoricalStatistics(
  name: string,
  categories: Record<string, number>,
  options: { otherCount?: number; over?: Partial<ColumnStatistics> } = {},
): ColumnStatistics {
  const otherCount = options.otherCount ?? 0;
  const list = Object.entries(categories)
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count);
  const count = list.reduce((s, c) => s + c.count, 0) + otherCount;
  return {
    name,
    type: 'categorical',
    duckdbType: 'VARCHAR',
    count,
    missingCount: 0,
    missingFraction: 0,
    distinctCount: list.length,
    categorical: {
      categories: list,
      otherCount,
      otherShare: count === 0 ? 0 : otherCount / count,
      numericShare: 0,
      nonNumericExamples: [],
    },
    ...options.over,
  };
}
