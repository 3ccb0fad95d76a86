import { listValue } from '@duckdb/node-api';
import type { DatasetTable } from '../data/dataset';
import type { DuckDbSession } from '../data/duckdb';
import { preview, quoteIdentifier } from '../data/identifiers';
import type { ServingInput } from '../serving/row-schema';
import type { InputSelect } from './input-check';
import { SCORING_TABLE, type ScoreColumn } from './predict-chunks';

export interface UnseenCategories {
  column: string;
  /** Rows whose value training never saw (they get the unseen encoding, as in training). */
  rows: number;
  /** Of the rows with a value in this column. */
  share: number;
  examples: string[];
}

/** Per string input with known training categories: how many of the input's values training never saw. */
export async function countUnseenCategories(
  session: DuckDbSession,
  inputs: readonly ServingInput[],
  selects: readonly InputSelect[],
): Promise<UnseenCategories[]> {
  const found: UnseenCategories[] = [];
  for (const [i, input] of inputs.entries()) {
    if (input.type !== 'string' || !input.categories || selects[i]?.name !== input.name) continue;
    const q = quoteIdentifier(`__in${i}`);
    const known = listValue(input.categories);
    const unseen = `${q} IS NOT NULL AND NOT list_contains($1, ${q})`;
    const [counts] = await session.all<{ unseen: number; present: number }>(
      `SELECT count(*) FILTER (WHERE ${unseen}) AS unseen, count(${q}) AS present FROM ${SCORING_TABLE}`,
      [known],
    );
    if (!counts || counts.unseen === 0) continue;
    const examples = await session.all<{ v: string }>(
      `SELECT DISTINCT ${q} AS v FROM ${SCORING_TABLE} WHERE ${unseen} ORDER BY v LIMIT 5`,
      [known],
    );
    found.push({
      column: input.name,
      rows: counts.unseen,
      share: counts.unseen / counts.present,
      examples: examples.map((e) => e.v),
    });
  }
  return found;
}

export function describeUnseen(u: UnseenCategories): string {
  return `column "${preview(u.column)}": ${u.rows} value${u.rows === 1 ? '' : 's'} (${(100 * u.share).toFixed(1)}%) are categories training never saw (${u.examples
    .map((e) => JSON.stringify(preview(e, 40)))
    .join(', ')}): scored with the unseen encoding, as in training`;
}

export interface PredictionsProfile {
  rows: number;
  distinctPredictionIds: number;
  /** Classification: rows per predicted class. */
  classes?: Record<string, number>;
  /** Per score column: quantiles (p01 … p99) and the mean. */
  scores: Record<string, Record<string, number | null>>;
  /** Set above 1M rows: the quantiles are of every n-th row (the mean and counts are of all rows). */
  quantilesOfEveryNthRow?: number;
}

const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/**
 * An exact quantile holds every value in memory (DuckDB cannot spill it), so beyond this many rows the
 * quantiles are of every n-th row: deterministic, and within memory whatever the row count.
 */
const MAX_QUANTILE_ROWS = 1_000_000;

/**
 * A sum of many doubles in DuckDB is parallel, so its order (and its last bits) varies run to run; a
 * compensated sum (favg, Kahan–Babuška) is within an ulp or so of exact, and 12 significant digits of it are
 * the same every run. An ordered aggregate would be exact too, but it holds every value in memory.
 */
export function stableDigits(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value)
    ? (value ?? null)
    : Number(value.toPrecision(12));
}

/** The n for "quantiles of every n-th row" (1: all rows) for a table of `rows` rows. */
export function quantileRowStep(rows: number): number {
  return Math.max(1, Math.ceil(rows / MAX_QUANTILE_ROWS));
}

/** What the written parts hold, read back from them: counts, class distribution, score quantiles. */
export async function profilePredictions(
  session: DuckDbSession,
  parts: DatasetTable,
  scoreColumns: readonly ScoreColumn[],
  classified: boolean,
  /** What every id must start with (predictionIdPrefix), before `-<row_index>`. */
  idPrefix: string,
): Promise<PredictionsProfile> {
  const t = parts.table;
  // Distinct ids without a hash table of tens of millions of strings (more than the batch session may hold):
  // row indexes sorted show no equal neighbours and run from 0 to n − 1, and every id is <prefix>-<row_index>.
  const [check] = await session.all<{ n: number; repeats: number; first: number | null; last: number | null }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE step = 0) AS repeats, min(row_index) AS first, max(row_index) AS last
     FROM (SELECT row_index, row_index - lag(row_index) OVER (ORDER BY row_index) AS step FROM ${t})`,
  );
  const [ids] = await session.all<{ misnamed: number }>(
    `SELECT count(*) FILTER (WHERE prediction_id IS DISTINCT FROM ($1 || '-' || CAST(row_index AS VARCHAR))) AS misnamed FROM ${t}`,
    [idPrefix],
  );
  const n = check?.n ?? 0;
  const wellFormed = n === 0 || (check?.repeats === 0 && check.first === 0 && check.last === n - 1);
  const counts = { n, ids: wellFormed && ids?.misnamed === 0 ? n : n - (check?.repeats ?? 0) - (ids?.misnamed ?? 0) };
  const scores: PredictionsProfile['scores'] = {};
  const every = quantileRowStep(counts?.n ?? 0);
  for (const column of scoreColumns) {
    const q = quoteIdentifier(column.name);
    const [row] = await session.all<{ qs: (number | null)[] | null; mean: number | null }>(
      `SELECT quantile_cont(${q}, $1) FILTER (WHERE row_index % ${every} = 0) AS qs, favg(${q}) AS mean FROM ${t}`,
      [listValue(QUANTILES)],
    );
    const entries = QUANTILES.map((p, i) => [`p${String(Math.round(p * 100)).padStart(2, '0')}`, row?.qs?.[i] ?? null]);
    scores[column.name] = { ...Object.fromEntries(entries), mean: stableDigits(row?.mean) };
  }
  let classes: Record<string, number> | undefined;
  if (classified) {
    const rows = await session.all<{ c: string; n: number }>(
      `SELECT predicted_class AS c, count(*) AS n FROM ${t} GROUP BY 1 ORDER BY 1`,
    );
    classes = Object.fromEntries(rows.map((r) => [r.c, r.n]));
  }
  return {
    rows: counts?.n ?? 0,
    distinctPredictionIds: counts?.ids ?? 0,
    ...(classes ? { classes } : {}),
    scores,
    ...(every > 1 ? { quantilesOfEveryNthRow: every } : {}),
  };
}
