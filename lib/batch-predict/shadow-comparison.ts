import type { DuckDbSession, SqlValue } from '../data/duckdb';
import { quoteIdentifier } from '../data/identifiers';
import type { ServingModel } from '../serving/load-model';
import { populationStabilityIndex } from '../stats/divergence';
import { normalInterval, wilsonInterval } from '../stats/intervals';
import { distinctAscending } from '../stats/two-sample';
import type { ScoreColumn } from './predict-chunks';
import { quantileRowStep, stableDigits } from './summary';

export const SHADOW_COMPARISON_VERSION = 1;
export const DEFAULT_TOP_DISAGREEMENTS = 20;
const CONFIDENCE = 0.95;
const TOP_ORDER = 'max over the compared scores of |primary − shadow|, largest first; ties by row_index';
const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/**
 * The scores compared: binary, P(positive class) (the score the decision threshold cuts); multiclass,
 * every class's probability, each compared on its own (a shift in any class shows, and the headline
 * names the class that moved most); regression, the predicted value.
 */
export function comparedScoresOf(model: Pick<ServingModel, 'task' | 'classes'>): ScoreColumn[] {
  if (model.task === 'regression') return [{ name: 'prediction' }];
  const classes = model.classes ?? [];
  const wanted = model.task === 'binary' ? classes.slice(1, 2) : classes;
  return wanted.map((c) => ({ name: `probability_${c}`, className: c }));
}

export const SCORE_DEFINITION = {
  binary: 'P(positive class), the score the decision threshold cuts',
  multiclass: 'each class probability, compared one class at a time; the headline is the class that moved most',
  regression: 'the predicted value, in the target units',
} as const;

/** How the two versions' distributions of one score differ over the same rows. */
export interface ScoreDistance {
  score: string;
  primaryMean: number;
  shadowMean: number;
  /** Two-sample Kolmogorov–Smirnov statistic: the largest gap between the two empirical CDFs. */
  ks: number;
  /** PSI of the shadow's scores on bins cut at the primary's deciles (fewer bins where scores tie at a cut). */
  psi: number;
  psiBins: { cuts: number[]; primary: number[]; shadow: number[] };
  /** Mean |primary − shadow| over the rows, with a 95% normal interval (what to expect on more rows like these). */
  meanAbsoluteDifference: { mean: number; lower: number | null; upper: number | null };
}

export interface Disagreement {
  rowIndex: number;
  primaryPredictionId: string;
  shadowPredictionId: string;
  keys: Record<string, unknown>;
  primary: { class?: string; scores: Record<string, number | null> };
  shadow: { class?: string; scores: Record<string, number | null> };
  /** max over the compared scores of |primary − shadow|. */
  difference: number;
}

export interface ShadowComparison {
  rowsCompared: number;
  scoreDefinition: string;
  agreement?: {
    rows: number;
    rate: number;
    /** 95% Wilson interval: the agreement rate to expect on more rows drawn like these. */
    interval: { lower: number; upper: number; method: 'wilson'; confidence: number };
  };
  /** rows[i][j]: rows the primary predicts classes[i] and the shadow classes[j]. */
  confusion?: { classes: string[]; rows: number[][] };
  scores: ScoreDistance[];
  headline: { ks: { statistic: number; score: string }; psi: { value: number; score: string } };
  topDisagreements: { by: string; rows: Disagreement[] };
}

export interface CompareArgs {
  session: DuckDbSession;
  /** Tables (quoted identifiers) of the primary's and the shadow's prediction parts. */
  primary: string;
  shadow: string;
  /** The input's rows: both sides must hold a prediction for each, and nothing else. */
  rows: number;
  task: ServingModel['task'];
  scores: readonly ScoreColumn[];
  /** Classification: the classes both versions predict (checked equal before scoring). */
  classes?: readonly string[];
  keyColumns: readonly string[];
  topRows?: number;
}

/** The two prediction sets may not be compared: a side misses rows or holds extra ones. */
export class ShadowRowsMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShadowRowsMismatchError';
  }
}

const PAIRS = quoteIdentifier('shadow_pairs');
const primaryName = (j: number) => `__p${j}`;
const shadowName = (j: number) => `__s${j}`;
const p = (j: number) => quoteIdentifier(primaryName(j));
const s = (j: number) => quoteIdentifier(shadowName(j));
const key = (i: number) => quoteIdentifier(`__key${i}`);

/**
 * Compares two versions' predictions of the same input, in DuckDB: the parts are joined on row_index, so
 * every number is paired row by row and only aggregates (and the top rows) reach the JS heap.
 */
export async function compareShadowPredictions(args: CompareArgs): Promise<ShadowComparison> {
  const { session, scores, keyColumns } = args;
  const classified = args.task !== 'regression';
  const columns = [
    'coalesce(a.row_index, b.row_index) AS row_index',
    'a.row_index IS NOT NULL AND b.row_index IS NOT NULL AS paired',
    'a.prediction_id AS primary_id',
    'b.prediction_id AS shadow_id',
    ...keyColumns.map((k, i) => `a.${quoteIdentifier(k)} AS ${key(i)}`),
    ...scores.map((c, j) => `CAST(a.${quoteIdentifier(c.name)} AS DOUBLE) AS ${p(j)}`),
    ...scores.map((c, j) => `CAST(b.${quoteIdentifier(c.name)} AS DOUBLE) AS ${s(j)}`),
    ...(classified ? ['a.predicted_class AS primary_class', 'b.predicted_class AS shadow_class'] : []),
  ];
  const difference = `greatest(${scores.map((_, j) => `abs(${p(j)} - ${s(j)})`).join(', ')}) AS difference`;
  await session.run(
    `CREATE OR REPLACE TEMP TABLE ${PAIRS} AS SELECT *, ${difference} FROM (SELECT ${columns.join(', ')} FROM ${args.primary} a FULL OUTER JOIN ${args.shadow} b ON a.row_index = b.row_index)`,
  );
  try {
    const rowsCompared = await checkPairs(session, args.rows);
    const distances: ScoreDistance[] = [];
    for (const [j, score] of scores.entries()) distances.push(await scoreDistance(session, j, score.name));
    const comparison: ShadowComparison = {
      rowsCompared,
      scoreDefinition: SCORE_DEFINITION[args.task],
      ...(classified ? await classAgreement(session, args.classes ?? [], rowsCompared) : {}),
      scores: distances,
      headline: headlineOf(distances),
      topDisagreements: {
        by: TOP_ORDER,
        rows: await topDisagreements(session, args, classified),
      },
    };
    return comparison;
  } finally {
    await session.run(`DROP TABLE IF EXISTS ${PAIRS}`);
  }
}

/** The comparison of an input with no rows: nothing to compare, said as such. */
export function emptyComparison(task: ServingModel['task']): ShadowComparison {
  return {
    rowsCompared: 0,
    scoreDefinition: SCORE_DEFINITION[task],
    scores: [],
    headline: { ks: { statistic: Number.NaN, score: '' }, psi: { value: Number.NaN, score: '' } },
    topDisagreements: { by: TOP_ORDER, rows: [] },
  };
}

async function checkPairs(session: DuckDbSession, rows: number): Promise<number> {
  const [counts] = await session.all<{ total: number; paired: number; distinct: number }>(
    `SELECT count(*) AS total, count(*) FILTER (WHERE paired) AS paired, count(DISTINCT row_index) AS distinct FROM ${PAIRS}`,
  );
  const { total = 0, paired = 0, distinct = 0 } = counts ?? {};
  if (total !== rows || paired !== rows || distinct !== rows)
    throw new ShadowRowsMismatchError(
      `the primary's and the shadow's predictions pair up on ${paired} of ${rows} input rows (${total} joined rows, ${distinct} distinct row indexes): each side must hold exactly one prediction per input row`,
    );
  return paired;
}

async function scoreDistance(session: DuckDbSession, j: number, score: string): Promise<ScoreDistance> {
  // Compensated sums, to 12 digits (stableDigits): the same file every run, in memory that does not grow with rows.
  const diff = `abs(${p(j)} - ${s(j)})`;
  const [raw] = await session.all<{ pm: number; sm: number; mad: number; msq: number; n: number }>(
    `SELECT favg(${p(j)}) AS pm, favg(${s(j)}) AS sm, favg(${diff}) AS mad, favg(${diff} * ${diff}) AS msq,
       count(${diff}) AS n
     FROM ${PAIRS}`,
  );
  const n = raw?.n ?? 0;
  const mean = stableDigits(raw?.mad) ?? Number.NaN;
  const variance = n > 1 && raw ? (Math.max(0, raw.msq - raw.mad * raw.mad) * n) / (n - 1) : null;
  const m = {
    pm: stableDigits(raw?.pm),
    sm: stableDigits(raw?.sm),
    sd: stableDigits(variance === null ? null : Math.sqrt(variance)),
  };
  const interval = m.sd !== null && n > 1 ? normalInterval(mean, m.sd / Math.sqrt(n)) : null;
  const psi = await psiOnPrimaryDeciles(session, j);
  return {
    score,
    primaryMean: m?.pm ?? Number.NaN,
    shadowMean: m?.sm ?? Number.NaN,
    ks: await ksStatistic(session, j),
    psi: psi.value,
    psiBins: psi.bins,
    meanAbsoluteDifference: {
      mean,
      lower: interval ? Math.max(0, interval.lower) : null,
      upper: interval ? interval.upper : null,
    },
  };
}

/** sup |F_primary − F_shadow| over every value either side takes (ties stepped together, as ks_2samp does). */
async function ksStatistic(session: DuckDbSession, j: number): Promise<number> {
  const [row] = await session.all<{ d: number | null }>(
    `WITH v AS (
       SELECT ${p(j)} AS x, 1 AS a, 0 AS b FROM ${PAIRS} WHERE ${p(j)} IS NOT NULL
       UNION ALL SELECT ${s(j)}, 0, 1 FROM ${PAIRS} WHERE ${s(j)} IS NOT NULL),
     g AS (SELECT x, sum(a) AS a, sum(b) AS b FROM v GROUP BY x),
     c AS (SELECT sum(a) OVER w AS ca, sum(b) OVER w AS cb FROM g WINDOW w AS (ORDER BY x ROWS UNBOUNDED PRECEDING)),
     n AS (SELECT sum(a) AS na, sum(b) AS nb FROM g)
     SELECT max(abs(CAST(ca AS DOUBLE) / na - CAST(cb AS DOUBLE) / nb)) AS d FROM c, n`,
  );
  return row?.d ?? Number.NaN;
}

/** Bins cut at the primary's deciles (quantile_disc: values of the sample), each value in (cᵢ, cᵢ₊₁]; past 1M rows, of every n-th row. */
async function psiOnPrimaryDeciles(
  session: DuckDbSession,
  j: number,
): Promise<{ value: number; bins: ScoreDistance['psiBins'] }> {
  const [{ n = 0 } = {}] = await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${PAIRS}`);
  // Cut points of every n-th row past 1M rows: an exact quantile holds every value in memory.
  const [row] = await session.all<{ q: (number | null)[] | null }>(
    `SELECT quantile_disc(${p(j)}, [${DECILES.join(', ')}]) FILTER (WHERE row_index % ${quantileRowStep(n)} = 0) AS q FROM ${PAIRS}`,
  );
  const cuts = distinctAscending((row?.q ?? []).filter((v): v is number => v !== null));
  const binOf = (column: string) =>
    cuts.length === 0
      ? '0'
      : `CASE ${cuts.map((_, i) => `WHEN ${column} <= $${i + 1} THEN ${i}`).join(' ')} ELSE ${cuts.length} END`;
  const count = async (column: string): Promise<number[]> => {
    const counts = new Array<number>(cuts.length + 1).fill(0);
    const rows = await session.all<{ bin: number; n: number }>(
      `SELECT ${binOf(column)} AS bin, count(*) AS n FROM ${PAIRS} WHERE ${column} IS NOT NULL GROUP BY 1`,
      cuts.map((c): SqlValue => c),
    );
    for (const r of rows) counts[r.bin] = r.n;
    return counts;
  };
  const primary = await count(p(j));
  const shadow = await count(s(j));
  return { value: populationStabilityIndex(primary, shadow), bins: { cuts, primary, shadow } };
}

async function classAgreement(
  session: DuckDbSession,
  classes: readonly string[],
  rows: number,
): Promise<Pick<ShadowComparison, 'agreement' | 'confusion'>> {
  const cells = await session.all<{ a: string | null; b: string | null; n: number }>(
    `SELECT primary_class AS a, shadow_class AS b, count(*) AS n FROM ${PAIRS} GROUP BY 1, 2`,
  );
  const order = [...classes];
  for (const c of cells) for (const name of [c.a, c.b]) if (name !== null && !order.includes(name)) order.push(name);
  const table = order.map(() => new Array<number>(order.length).fill(0));
  let agreed = 0;
  for (const c of cells) {
    if (c.a === null || c.b === null) continue;
    (table[order.indexOf(c.a)] as number[])[order.indexOf(c.b)] = c.n;
    if (c.a === c.b) agreed += c.n;
  }
  const interval = wilsonInterval(agreed, rows, CONFIDENCE);
  return {
    agreement: {
      rows: agreed,
      rate: rows > 0 ? agreed / rows : Number.NaN,
      interval: { lower: interval.lower, upper: interval.upper, method: 'wilson', confidence: CONFIDENCE },
    },
    confusion: { classes: order, rows: table },
  };
}

function headlineOf(distances: readonly ScoreDistance[]): ShadowComparison['headline'] {
  const first = distances[0];
  let ks = { statistic: first?.ks ?? Number.NaN, score: first?.score ?? '' };
  let psi = { value: first?.psi ?? Number.NaN, score: first?.score ?? '' };
  for (const d of distances.slice(1)) {
    if (d.ks > ks.statistic) ks = { statistic: d.ks, score: d.score };
    if (d.psi > psi.value) psi = { value: d.psi, score: d.score };
  }
  return { ks, psi };
}

async function topDisagreements(
  session: DuckDbSession,
  args: CompareArgs,
  classified: boolean,
): Promise<Disagreement[]> {
  const limit = args.topRows ?? DEFAULT_TOP_DISAGREEMENTS;
  if (limit <= 0) return [];
  const rows = await session.all<Record<string, unknown>>(
    `SELECT * FROM ${PAIRS} ORDER BY difference DESC NULLS LAST, row_index LIMIT $1`,
    [limit],
  );
  const scoresOf = (row: Record<string, unknown>, side: (j: number) => string) =>
    Object.fromEntries(args.scores.map((c, j) => [c.name, (row[side(j)] as number | null) ?? null]));
  return rows.map((row) => ({
    rowIndex: row.row_index as number,
    primaryPredictionId: row.primary_id as string,
    shadowPredictionId: row.shadow_id as string,
    keys: Object.fromEntries(args.keyColumns.map((k, i) => [k, row[`__key${i}`] ?? null])),
    primary: { ...(classified ? { class: row.primary_class as string } : {}), scores: scoresOf(row, primaryName) },
    shadow: { ...(classified ? { class: row.shadow_class as string } : {}), scores: scoresOf(row, shadowName) },
    difference: row.difference as number,
  }));
}
