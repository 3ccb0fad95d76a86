import { categoryKey, quoteStringLiteral, valueExpression, type ValueSource } from './column-values';
import type { DuckDbSession, SqlValue } from './duckdb';
import { quoteIdentifier } from './identifiers';
import type { CategoryStatisticsFeature, TargetFolds } from './preprocessor-spec';

/**
 * Frequency and out-of-fold target encoding of high-cardinality categories, fitted on the train split.
 *
 * Leakage: a train row's target encoding must not see its own label, or the model learns to read the
 * label back from it. Train rows are therefore split into k folds by a hash of the whole row, and a row
 * in fold f is encoded from the statistics of the other folds only — counts, sums, the prior and its
 * spread alike. Validation, test and serving rows are encoded from all train rows.
 */

/** Fixed: changing it would move every train row to another fold. */
export const FOLD_SALT = 'trainyard-target-encoding';
/** Categories kept per column at most (most frequent first); the rest join the rare pool. */
export const MAX_ENCODED_CATEGORIES = 10_000;

export interface TargetFoldPlan {
  k: number;
  /** Every column of the train relation, in order: the fold hashes the whole row. */
  columns: string[];
}

/** SQL for a row's fold in [0, k): the same expression in the fit and in the train-split reader. */
export function foldExpression(folds: Pick<TargetFolds, 'k' | 'salt' | 'columns'>, qualifier?: string): string {
  const columns = folds.columns.map((c) =>
    qualifier === undefined ? quoteIdentifier(c) : `${qualifier}.${quoteIdentifier(c)}`,
  );
  return `CAST(hash(${columns.join(', ')}, ${quoteStringLiteral(folds.salt)}) % ${folds.k} AS INTEGER)`;
}

interface LabelPlan {
  column: string;
  source: ValueSource;
  /** Classification: class keys in index order; regression: undefined. */
  classes?: string[];
  /** Target outputs (targetOutputs of the spec): one per class for multiclass, else one (binary: P(class 1)). */
  outputs: number;
}

interface Relation {
  relation: string;
  params: SqlValue[];
}

/** Rows and label totals per fold. */
export async function fitTargetFolds(
  session: DuckDbSession,
  source: Relation,
  plan: TargetFoldPlan,
  label: LabelPlan,
): Promise<TargetFolds> {
  const folds = { k: plan.k, salt: FOLD_SALT, columns: plan.columns };
  const outputs = label.outputs;
  const rows = new Array<number>(plan.k).fill(0);
  const labelled = new Array<number>(plan.k).fill(0);
  const sums = new Array<number>(plan.k * outputs).fill(0);
  const squares = new Array<number>(plan.k * outputs).fill(0);
  const fold = foldExpression(folds);
  for (const r of await session.all<{ f: number; n: number }>(
    `SELECT ${fold} AS f, count(*) AS n FROM ${source.relation} GROUP BY f`,
    source.params,
  )) {
    rows[Number(r.f)] = Number(r.n);
  }
  for (const g of await groupByFoldAndLabel(session, source, folds, label, undefined)) {
    labelled[g.fold] = (labelled[g.fold] ?? 0) + g.n;
    for (let o = 0; o < outputs; o += 1) {
      const index = g.fold * outputs + o;
      sums[index] = (sums[index] ?? 0) + (g.sums[o] as number);
      squares[index] = (squares[index] ?? 0) + (g.squares[o] as number);
    }
  }
  return { ...folds, outputs, rows, labelled, sums, squares };
}

export interface CategoryFitRequest {
  source: Relation;
  column: string;
  impute: string;
  rareMinCount: number;
  frequency: boolean;
  target?: { smoothing: number; folds: TargetFolds; label: LabelPlan };
}

/** Fits one category-statistics feature; `column` is read as text, missing values as `impute`. */
export async function fitCategoryStatistics(
  session: DuckDbSession,
  request: CategoryFitRequest,
): Promise<CategoryStatisticsFeature> {
  const { source, column, impute } = request;
  const imputeParam = source.params.length + 1;
  const key = `coalesce(${valueExpression(column, 'string')}, CAST($${imputeParam} AS VARCHAR))`;
  const params = [...source.params, impute];
  const kept = await session.all<{ k: string; n: number }>(
    `SELECT k, count(*) AS n FROM (SELECT ${key} AS k FROM ${source.relation}) GROUP BY k HAVING count(*) >= ${request.rareMinCount}
     ORDER BY n DESC, k LIMIT ${MAX_ENCODED_CATEGORIES}`,
    params,
  );
  const categories = kept.map((r) => categoryKey(r.k) as string);
  const counts = kept.map((r) => Number(r.n));
  const totals = (
    await session.all<{ rows: number; distinct: number }>(
      `SELECT count(*) AS rows, count(DISTINCT k) AS "distinct" FROM (SELECT ${key} AS k FROM ${source.relation})`,
      params,
    )
  )[0] ?? { rows: 0, distinct: 0 };
  const rareRows = Number(totals.rows) - counts.reduce((a, b) => a + b, 0);
  counts.push(rareRows);
  const rareDistinct = Number(totals.distinct) - categories.length;

  const feature: CategoryStatisticsFeature = {
    kind: 'category-statistics',
    column,
    source: 'string',
    impute,
    rareMinCount: request.rareMinCount,
    categories,
    counts,
    rareDistinct,
  };
  if (request.frequency) feature.frequency = frequencyScaling(feature);
  if (request.target) {
    const { folds, label, smoothing } = request.target;
    const index = new Map(categories.map((c, i) => [c, i]));
    const rare = categories.length;
    const foldCounts = new Array<number>((rare + 1) * folds.k).fill(0);
    const foldSums = new Array<number>((rare + 1) * folds.k * folds.outputs).fill(0);
    for (const g of await groupByFoldAndLabel(session, source, folds, label, key, [impute])) {
      const c = g.category === null ? rare : (index.get(g.category) ?? rare);
      const cell = c * folds.k + g.fold;
      foldCounts[cell] = (foldCounts[cell] ?? 0) + g.n;
      for (let o = 0; o < folds.outputs; o += 1)
        foldSums[cell * folds.outputs + o] = (foldSums[cell * folds.outputs + o] ?? 0) + (g.sums[o] as number);
    }
    feature.target = { smoothing, foldCounts, foldSums };
  }
  return feature;
}

/** The frequency output of a category: ln(1 + its train rows); the rare pool (and unseen values) get the mean rows of a rare category. */
export function frequencyValues(feature: Pick<CategoryStatisticsFeature, 'counts' | 'rareDistinct'>): number[] {
  const rare = feature.counts.length - 1;
  return feature.counts.map((n, c) =>
    c === rare ? Math.log1p(feature.rareDistinct > 0 ? n / feature.rareDistinct : 0) : Math.log1p(n),
  );
}

function frequencyScaling(feature: Pick<CategoryStatisticsFeature, 'counts' | 'rareDistinct'>): {
  center: number;
  scale: number;
} {
  const values = frequencyValues(feature);
  let rows = 0;
  let sum = 0;
  let squares = 0;
  feature.counts.forEach((n, c) => {
    const v = values[c] as number;
    rows += n;
    sum += n * v;
    squares += n * v * v;
  });
  const center = rows > 0 ? sum / rows : 0;
  const variance = rows > 0 ? squares / rows - center * center : 0;
  return { center, scale: variance > 1e-12 ? Math.sqrt(variance) : 1 };
}

interface FoldGroup {
  category: string | null;
  fold: number;
  n: number;
  /** Per output: the label's sum (class indicator or target). */
  sums: number[];
  squares: number[];
}

/**
 * Labelled rows grouped by (category, fold, label), summed into outputs in JS: class keys come from
 * `categoryKey` on the value DuckDB hands over, the same rule the encoder uses for labels.
 */
async function groupByFoldAndLabel(
  session: DuckDbSession,
  source: Relation,
  folds: Pick<TargetFolds, 'k' | 'salt' | 'columns'>,
  label: LabelPlan,
  categoryKeySql: string | undefined,
  extraParams: SqlValue[] = [],
): Promise<FoldGroup[]> {
  const y = valueExpression(label.column, label.source);
  const fold = foldExpression(folds);
  const category = categoryKeySql ?? 'NULL';
  const params = [...source.params, ...extraParams];
  if (!label.classes) {
    const finite = `(CASE WHEN isfinite(${y}) THEN ${y} END)`;
    const rows = await session.all<{ k: string | null; f: number; n: number; s: number | null; q: number | null }>(
      `SELECT k, f, count(v) AS n, sum(v) AS s, sum(v * v) AS q FROM (SELECT ${category} AS k, ${fold} AS f, ${finite} AS v FROM ${source.relation}) GROUP BY k, f`,
      params,
    );
    return rows.map((r) => ({
      category: r.k,
      fold: Number(r.f),
      n: Number(r.n),
      sums: [r.s ?? 0],
      squares: [r.q ?? 0],
    }));
  }
  const classIndex = new Map(label.classes.map((c, i) => [c, i]));
  const outputs = label.outputs;
  const rows = await session.all<{ k: string | null; f: number; y: string | number | boolean | null; n: number }>(
    `SELECT k, f, y, count(*) AS n FROM (SELECT ${category} AS k, ${fold} AS f, ${y} AS y FROM ${source.relation}) GROUP BY k, f, y`,
    params,
  );
  const groups: FoldGroup[] = [];
  for (const r of rows) {
    const classKey = categoryKey(r.y);
    const c = classKey === null ? undefined : classIndex.get(classKey);
    if (c === undefined) continue; // unlabelled, or a class the preprocessor does not know: the encoder rejects such rows anyway
    const sums = new Array<number>(outputs).fill(0);
    const n = Number(r.n);
    // Binary: the one output is P(class 1), the class the model's output stands for.
    if (outputs === 1) sums[0] = c === 1 ? n : 0;
    else sums[c] = n;
    groups.push({ category: r.k, fold: Number(r.f), n, sums, squares: sums });
  }
  return groups;
}

/**
 * Encoding tables of a fitted feature: for each category (rare pool last), its target outputs from all
 * train rows (`full`) and from the rows outside each fold (`outOfFold`, indexed category × k + fold).
 */
export interface TargetTables {
  outputs: number;
  full: Float32Array;
  outOfFold: Float32Array;
}

export function targetTables(feature: CategoryStatisticsFeature, folds: TargetFolds): TargetTables {
  const target = feature.target;
  if (!target) throw new Error(`Column "${feature.column}" is not target-encoded`);
  const { k, outputs } = folds;
  const categories = feature.categories.length + 1;
  const totals = labelTotals(folds, -1);
  const foldOut = Array.from({ length: k }, (_, f) => labelTotals(folds, f));
  const full = new Float32Array(categories * outputs);
  const outOfFold = new Float32Array(categories * k * outputs);
  const sums = new Float64Array(outputs);
  for (let c = 0; c < categories; c += 1) {
    let n = 0;
    sums.fill(0);
    for (let f = 0; f < k; f += 1) {
      n += target.foldCounts[c * k + f] as number;
      for (let o = 0; o < outputs; o += 1)
        sums[o] = (sums[o] as number) + (target.foldSums[(c * k + f) * outputs + o] as number);
    }
    writeSmoothed(n, sums, totals, target.smoothing, full, c * outputs);
    for (let f = 0; f < k; f += 1) {
      const inFold = target.foldCounts[c * k + f] as number;
      const rest = new Float64Array(outputs);
      for (let o = 0; o < outputs; o += 1)
        rest[o] = (sums[o] as number) - (target.foldSums[(c * k + f) * outputs + o] as number);
      writeSmoothed(n - inFold, rest, foldOut[f] as LabelTotals, target.smoothing, outOfFold, (c * k + f) * outputs);
    }
  }
  return { outputs, full, outOfFold };
}

interface LabelTotals {
  prior: Float64Array;
  spread: Float64Array;
}

/** The label's mean and standard deviation per output over all folds (`leaveOut` −1) or all but one. */
function labelTotals(folds: TargetFolds, leaveOut: number): LabelTotals {
  const { k, outputs } = folds;
  const prior = new Float64Array(outputs);
  const spread = new Float64Array(outputs);
  let n = 0;
  for (let f = 0; f < k; f += 1) if (f !== leaveOut) n += folds.labelled[f] as number;
  for (let o = 0; o < outputs; o += 1) {
    let sum = 0;
    let squares = 0;
    for (let f = 0; f < k; f += 1) {
      if (f === leaveOut) continue;
      sum += folds.sums[f * outputs + o] as number;
      squares += folds.squares[f * outputs + o] as number;
    }
    const mean = n > 0 ? sum / n : 0;
    const variance = n > 0 ? squares / n - mean * mean : 0;
    prior[o] = mean;
    spread[o] = variance > 1e-12 ? Math.sqrt(variance) : 1;
  }
  return { prior, spread };
}

/** ((sum + m·prior) / (n + m) − prior) / spread per output: the prior when n is 0, the raw mean as n grows. */
function writeSmoothed(
  n: number,
  sums: Float64Array,
  totals: LabelTotals,
  smoothing: number,
  out: Float32Array,
  offset: number,
): void {
  for (let o = 0; o < sums.length; o += 1) {
    const prior = totals.prior[o] as number;
    const weight = n + smoothing;
    const mean = weight > 0 ? ((sums[o] as number) + smoothing * prior) / weight : prior;
    out[offset + o] = (mean - prior) / (totals.spread[o] as number);
  }
}
