import type { DuckDBValue } from '@duckdb/node-api';
import type { DatasetColumn } from './dataset';
import type { DuckDbSession } from './duckdb';
import { quoteIdentifier } from './identifiers';
import type { TaskType } from '../../contracts/pipeline-input';

/** How well one feature alone predicts the label: the raw material of the label-leakage check. */
export interface LabelAssociation {
  /**
   * Single-feature ROC-AUC, folded so that 0.5 is "no signal" and 1 is "perfect" (max(AUC, 1 − AUC)):
   * a feature that predicts the label perfectly backwards leaks just as much. Multiclass: the macro
   * average of the one-vs-rest AUCs (per class in `aucByClass`).
   */
  auc?: number;
  aucByClass?: Record<string, number>;
  /** How the AUC was measured: ranks of the value, or ranks of the value's (or its bin's) in-sample class rate. */
  aucMethod?: 'rank' | 'target-encoded' | 'binned-target-encoded';
  /** Pearson correlation with the label (regression: the target; binary: the 0/1 indicator). */
  correlation?: number;
  /** Rows the AUC was computed on (a seeded sample on large datasets). */
  sampledRows?: number;
}

export interface LabelAssociationOptions {
  task: TaskType;
  labelColumn: string;
  /** Class values (as text) for classification; the first is the "positive" class for binary AUC and correlation. */
  classes: string[];
  /** Columns not to measure, e.g. the source column of a derived label, which predicts it by construction. */
  skip?: string[];
  /** Correlations already measured (statistics folds them into its histogram pass); measured here otherwise. */
  correlations?: Map<string, number>;
  /** AUC is computed on a seeded sample of at most this many rows: at 100k rows its standard error is below 0.003, and shrinks towards AUC 1. */
  sampleRows?: number;
  seed?: number;
}

export const DEFAULT_ASSOCIATION_SAMPLE_ROWS = 100_000;
const MISSING_CATEGORY = '\u0000missing';
/**
 * Target encoding is measured in-sample, so a categorical with very many levels looks predictive for no
 * reason (an id column is "perfectly" encoded). Below this many rows per level on average it is skipped.
 */
const MIN_ROWS_PER_CATEGORY = 20;
/** Quantile bins for a numeric feature's target encoding (multiclass). */
const MAX_BINS = 50;

/**
 * Measures each feature's single-handed association with the label, in SQL:
 * - Pearson correlation over every row (`corr`), for numeric and boolean features, when the label is
 *   numeric (regression) or binary (correlation with the 0/1 indicator is the point-biserial r).
 * - Binary classification, numeric features: ROC-AUC by rank statistics (Mann–Whitney U):
 *   AUC = (R⁺ − n⁺(n⁺+1)/2) / (n⁺·n⁻), where R⁺ is the sum of the positive rows' mid-ranks. Ranks come
 *   from a GROUP BY over distinct values and a running sum, so ties get mid-ranks exactly.
 * - Categorical features (missing is a level of its own): the AUC of the target-encoded value, i.e.
 *   each row scored by its category's in-sample share of the class. That is the AUC of the best
 *   ranking of the categories, so a category that is pure in one class (the classic "cancellation
 *   reason is set only for cancelled orders" leak) scores ~1, on the same scale as the numeric AUC —
 *   which a per-category purity score is not (purity is 1 for any id-like column).
 * - Multiclass: the macro average over classes of the one-vs-rest AUC of the target-encoded feature;
 *   numeric features are first cut into bins of equally many distinct values, so a class code hidden in a number (class
 *   1 sitting between classes 0 and 2) is caught, which a rank AUC misses. Not the maximum over classes:
 *   one genuinely easy class is not a leak (penguins: flipper length alone separates Gentoo at AUC 0.996,
 *   but not Adelie from Chinstrap).
 */
export async function measureLabelAssociation(
  session: DuckDbSession,
  table: string,
  columns: DatasetColumn[],
  options: LabelAssociationOptions,
): Promise<Map<string, LabelAssociation>> {
  const skip = new Set([options.labelColumn, ...(options.skip ?? [])]);
  const numeric = columns.filter((c) => (c.type === 'numeric' || c.type === 'boolean') && !skip.has(c.name));
  const categorical = columns.filter((c) => c.type === 'categorical' && !skip.has(c.name));
  const result = new Map<string, LabelAssociation>();
  const label = quoteIdentifier(options.labelColumn);
  const merge = (name: string, association: LabelAssociation) =>
    result.set(name, { ...result.get(name), ...association });

  if (options.correlations) {
    for (const [name, correlation] of options.correlations) merge(name, { correlation });
  } else {
    const plan = correlationPlan(columns, options, 0);
    if (plan.selects.length > 0) {
      const sql = `SELECT ${plan.selects.join(', ')} FROM (SELECT ${plan.projections.join(', ')} FROM ${table})`;
      const row = (await session.all<Record<string, unknown>>(sql, plan.params))[0] ?? {};
      for (const [name, correlation] of plan.read(row)) merge(name, { correlation });
    }
  }

  if (options.task === 'regression' || options.classes.length < 2 || numeric.length + categorical.length === 0)
    return result;
  const binary = options.task === 'binary' && options.classes.length === 2;

  const sampleRows = options.sampleRows ?? DEFAULT_ASSOCIATION_SAMPLE_ROWS;
  const sample = quoteIdentifier('__label_association_sample');
  const features = [...numeric, ...categorical];
  const featureSelects = features.map((c, i) =>
    c.type === 'categorical'
      ? `coalesce(CAST(${quoteIdentifier(c.name)} AS VARCHAR), $1) AS f${i}`
      : `CAST(${quoteIdentifier(c.name)} AS DOUBLE) AS f${i}`,
  );
  // Sample the table first, then cast: the casts run on the sample, not on every row.
  await withOneThread(session, () =>
    session.run(
      `CREATE OR REPLACE TEMP TABLE ${sample} AS SELECT ${featureSelects.join(', ')}, CAST(${label} AS VARCHAR) AS y ` +
        `FROM (SELECT * FROM ${table} USING SAMPLE reservoir(${Math.max(1, Math.floor(sampleRows))} ROWS) REPEATABLE (${Math.floor(options.seed ?? 42)})) WHERE ${label} IS NOT NULL`,
      categorical.length > 0 ? [MISSING_CATEGORY] : [],
    ),
  );
  try {
    const sampled = (await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${sample}`))[0]?.n ?? 0;
    const isNumeric = (c: DatasetColumn) => c.type !== 'categorical';
    if (binary) {
      const rankParts = features.flatMap((c, i) => (isNumeric(c) ? [rankSumSql(sample, i)] : []));
      if (rankParts.length > 0) {
        const rows = await session.all<{ col: number; y: string; rank_sum: number; n: number }>(
          rankParts.join(' UNION ALL '),
        );
        for (const [index, classRows] of groupBy(rows, (r) => r.col)) {
          const auc = rankAuc(
            classRows.map((r) => ({ label: r.y, rankSum: r.rank_sum, n: r.n })),
            options.classes[0] as string,
          );
          if (auc !== undefined)
            merge((features[index] as DatasetColumn).name, { auc, aucMethod: 'rank', sampledRows: sampled });
        }
      }
    }
    const bins = Math.max(2, Math.min(MAX_BINS, Math.floor(sampled / MIN_ROWS_PER_CATEGORY)));
    const encodedParts = features.flatMap((c, i) => {
      if (!isNumeric(c)) return [`SELECT ${i} AS col, f${i} AS category, y, count(*) AS n FROM ${sample} GROUP BY ALL`];
      if (binary) return [];
      return [
        // Bins of distinct values (dense ranks), so tied values always share a bin and a handful of
        // distinct values (a class code) each get their own.
        `SELECT ${i} AS col, CAST(floor((rank_ - 1) * ${bins} / (SELECT count(DISTINCT f${i}) FROM ${sample} WHERE isfinite(f${i}))) AS VARCHAR) AS category, y, count(*) AS n ` +
          `FROM (SELECT dense_rank() OVER (ORDER BY f${i}) AS rank_, y FROM ${sample} WHERE isfinite(f${i})) GROUP BY ALL`,
      ];
    });
    if (encodedParts.length > 0) {
      const rows = await session.all<{ col: number; category: string; y: string; n: number }>(
        encodedParts.join(' UNION ALL '),
      );
      for (const [index, cells] of groupBy(rows, (r) => r.col)) {
        const column = features[index] as DatasetColumn;
        const levels = new Set(cells.map((c) => c.category)).size;
        if (levels > Math.max(2, sampled / MIN_ROWS_PER_CATEGORY)) continue;
        const encoded = targetEncodedAuc(cells, binary ? options.classes.slice(0, 1) : options.classes);
        if (encoded) {
          merge(column.name, {
            auc: encoded.auc,
            ...(binary ? {} : { aucByClass: encoded.byClass }),
            aucMethod: isNumeric(column) ? 'binned-target-encoded' : 'target-encoded',
            sampledRows: sampled,
          });
        }
      }
    }
  } finally {
    await session.run(`DROP TABLE IF EXISTS ${sample}`);
  }
  return result;
}

/**
 * Runs `work` with DuckDB held to one thread. A REPEATABLE reservoir sample is drawn by one thread
 * whatever the setting, and the others were seen to burn as much CPU again now and then (10M × 20
 * Parquet, 2 threads: 1.9-2.2 CPU-s, but 4.0 and 4.6 in 2 runs of 8; 1 thread: 1.8-2.1 CPU-s in all 8;
 * the same wall time and the same rows).
 */
async function withOneThread<T>(session: DuckDbSession, work: () => Promise<T>): Promise<T> {
  const threads = Number(
    (await session.all<{ threads: unknown }>("SELECT current_setting('threads') AS threads"))[0]?.threads,
  );
  if (!Number.isInteger(threads) || threads <= 1) return work();
  await session.run('SET threads = 1');
  try {
    return await work();
  } finally {
    await session.run(`SET threads = ${threads}`);
  }
}

/**
 * Pearson correlation of each numeric or boolean feature with the label, as aggregates (`selects`) over
 * a projection of the table (`projections`: the finite feature values and the numeric target), to run
 * in any pass over the table (statistics folds them into its histogram pass). `firstParam` is the
 * number of parameters already bound in that query.
 */
export function correlationPlan(
  columns: DatasetColumn[],
  options: Pick<LabelAssociationOptions, 'task' | 'labelColumn' | 'classes' | 'skip'>,
  firstParam: number,
  /** The name under which the surrounding projection already holds a column's finite DOUBLE values, if it does. */
  projectedFinite: (column: DatasetColumn) => string | undefined = () => undefined,
): {
  projections: string[];
  selects: string[];
  params: DuckDBValue[];
  read(row: Record<string, unknown>): Map<string, number>;
} {
  const skip = new Set([options.labelColumn, ...(options.skip ?? [])]);
  const numeric = columns.filter((c) => (c.type === 'numeric' || c.type === 'boolean') && !skip.has(c.name));
  const target = correlationTargetSql(options, quoteIdentifier(options.labelColumn), firstParam);
  if (!target || numeric.length === 0) return { projections: [], selects: [], params: [], read: () => new Map() };
  const projections = [`${target.sql} AS cy`];
  const values = numeric.map((c, i) => {
    const projected = projectedFinite(c);
    if (projected !== undefined) return projected;
    const x = `CAST(${quoteIdentifier(c.name)} AS DOUBLE)`;
    projections.push(`CASE WHEN isfinite(${x}) THEN ${x} END AS cx${i}`);
    return `cx${i}`;
  });
  return {
    projections,
    selects: values.map((value, i) => `corr(${value}, cy) AS "corr${i}"`),
    params: target.params,
    read(row) {
      const found = new Map<string, number>();
      numeric.forEach((c, i) => {
        const r = row[`corr${i}`];
        if (typeof r === 'number' && Number.isFinite(r)) found.set(c.name, r);
      });
      return found;
    },
  };
}

function correlationTargetSql(
  options: Pick<LabelAssociationOptions, 'task' | 'classes'>,
  label: string,
  firstParam: number,
): { sql: string; params: DuckDBValue[] } | undefined {
  if (options.task === 'regression') return { sql: `CAST(${label} AS DOUBLE)`, params: [] };
  if (options.task === 'binary' && options.classes.length === 2) {
    return {
      sql: `CAST(CAST(${label} AS VARCHAR) = $${firstParam + 1} AS DOUBLE)`,
      params: [options.classes[0] as string],
    };
  }
  return undefined;
}

/** Sum of mid-ranks of each class's rows for feature f<index>, ties sharing the mean of their ranks. */
function rankSumSql(sample: string, index: number): string {
  const f = `f${index}`;
  return `(WITH g AS (SELECT ${f} AS x, y, count(*) AS n FROM ${sample} WHERE isfinite(${f}) GROUP BY ALL),
    v AS (SELECT x, sum(n) AS nx FROM g GROUP BY x),
    r AS (SELECT x, nx, coalesce(sum(nx) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS below FROM v)
    SELECT ${index} AS col, y, sum(g.n * (r.below + (r.nx + 1) / 2.0)) AS rank_sum, sum(g.n) AS n FROM g JOIN r USING (x) GROUP BY y)`;
}

/** Mann–Whitney: the AUC of `positive` against the rest from its rank sum, folded to max(AUC, 1 − AUC). */
export function rankAuc(
  classes: { label: string; rankSum: number; n: number }[],
  positive: string,
): number | undefined {
  const total = classes.reduce((s, c) => s + c.n, 0);
  const c = classes.find((k) => k.label === positive);
  if (!c || c.n === 0 || c.n === total) return undefined;
  const auc = (c.rankSum - (c.n * (c.n + 1)) / 2) / (c.n * (total - c.n));
  return Math.max(auc, 1 - auc);
}

/**
 * Scores each row by its category's share of class c and returns the (folded) AUC of that score per
 * class and their mean: with one class given, that class's AUC; with every class, the macro average.
 */
export function targetEncodedAuc(
  cells: { category: string; y: string; n: number }[],
  classes: string[],
): { auc: number; byClass: Record<string, number> } | undefined {
  const perCategory = new Map<string, Map<string, number>>();
  for (const cell of cells) {
    const counts = perCategory.get(cell.category) ?? new Map<string, number>();
    counts.set(cell.y, (counts.get(cell.y) ?? 0) + cell.n);
    perCategory.set(cell.category, counts);
  }
  const byClass: Record<string, number> = {};
  for (const positive of classes) {
    const groups = [...perCategory.values()].map((counts) => {
      const n = [...counts.values()].reduce((s, v) => s + v, 0);
      const positives = counts.get(positive) ?? 0;
      return { score: positives / n, positives, negatives: n - positives };
    });
    const auc = aucFromScoredGroups(groups);
    if (auc !== undefined) byClass[positive] = Math.max(auc, 1 - auc);
  }
  const values = Object.values(byClass);
  if (values.length === 0) return undefined;
  return { auc: values.reduce((s, v) => s + v, 0) / values.length, byClass };
}

/**
 * ROC-AUC when every row in a group shares one score: P(score⁺ > score⁻) + ½·P(score⁺ = score⁻),
 * counted over groups sorted by score (groups with equal scores tie).
 */
export function aucFromScoredGroups(
  groups: { score: number; positives: number; negatives: number }[],
): number | undefined {
  const totalPositives = groups.reduce((s, g) => s + g.positives, 0);
  const totalNegatives = groups.reduce((s, g) => s + g.negatives, 0);
  if (totalPositives === 0 || totalNegatives === 0) return undefined;
  const byScore = new Map<number, { positives: number; negatives: number }>();
  for (const g of groups) {
    const tie = byScore.get(g.score) ?? { positives: 0, negatives: 0 };
    tie.positives += g.positives;
    tie.negatives += g.negatives;
    byScore.set(g.score, tie);
  }
  let negativesBelow = 0;
  let wins = 0;
  for (const [, tie] of [...byScore.entries()].sort((a, b) => a[0] - b[0])) {
    wins += tie.positives * (negativesBelow + tie.negatives / 2);
    negativesBelow += tie.negatives;
  }
  return wins / (totalPositives * totalNegatives);
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
