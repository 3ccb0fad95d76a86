import type { DatasetTable } from './dataset';
import type { DuckDbSession } from './duckdb';
import { quoteIdentifier } from './identifiers';

/**
 * Columns that hold time without being typed as time, for validation (lib/data/anomalies.ts):
 * - text columns whose values are mostly date-times (a JSON export, "2001/01/14 21:55"): they enter the
 *   model as categories, not calendar features; unparseable values and mixed time-zone designators are named;
 * - numeric columns that behave like a counter: whole numbers distinct in (almost) every row, or values
 *   that rise with the time column. As numbers, new rows lie beyond every value the model was trained on.
 */

/** A date, optionally a time and a zone designator; "/" or "-" between date parts. Group 2 is the zone. */
const DATE_TIME = String.raw`^\s*(\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$`;
/** Share of a sample of a text column that must look like date-times before every row is checked. */
const SAMPLE_SHARE = 0.5;
const SAMPLE_ROWS = 1000;

export interface TextTimestampProfile {
  column: string;
  /** Non-missing values, and those that are valid date-times. */
  values: number;
  parsed: number;
  /** Up to three values that are not. */
  unparseable: string[];
  /** Zone designators seen ("" for none) with their counts, most frequent first. */
  zones: { zone: string; count: number }[];
}

export interface NumericSequenceProfile {
  column: string;
  /** Every finite value is a whole number. */
  integral: boolean;
  /** Pearson correlation with the time column (epoch seconds), when there is one. */
  timeCorrelation: number | null;
}

export interface TimeLikeProfile {
  textTimestamps: TextTimestampProfile[];
  numericSequences: NumericSequenceProfile[];
}

/** Profiles the text and numeric columns of a loaded dataset; `timeColumn` (a date or timestamp) anchors the correlation. */
export async function profileTimeLikeColumns(
  session: DuckDbSession,
  table: DatasetTable,
  options: { timeColumn?: string; skip?: string[] } = {},
): Promise<TimeLikeProfile> {
  const skip = new Set(options.skip ?? []);
  const text = table.columns.filter(
    (c) =>
      (c.type === 'categorical' || c.type === 'text') && c.duckdbType.toUpperCase() === 'VARCHAR' && !skip.has(c.name),
  );
  const textTimestamps: TextTimestampProfile[] = [];
  for (const c of text) {
    const profile = await profileTextTimestamps(session, table.table, c.name);
    if (profile) textTimestamps.push(profile);
  }
  const time = table.columns.find((c) => c.name === options.timeColumn && c.type === 'timestamp');
  const numeric = table.columns.filter((c) => c.type === 'numeric' && !skip.has(c.name));
  const numericSequences: NumericSequenceProfile[] = [];
  if (numeric.length > 0) {
    const t = time ? `CAST(epoch(${quoteIdentifier(time.name)}) AS DOUBLE)` : undefined;
    const row =
      (
        await session.all<Record<string, boolean | number | null>>(
          `SELECT ${numeric
            .map((c, i) => {
              const v = `(CASE WHEN isfinite(CAST(${quoteIdentifier(c.name)} AS DOUBLE)) THEN CAST(${quoteIdentifier(c.name)} AS DOUBLE) END)`;
              return `coalesce(bool_and(${v} = floor(${v})), false) AS i${i}${t ? `, corr(${v}, ${t}) AS r${i}` : ''}`;
            })
            .join(', ')} FROM ${table.table}`,
        )
      )[0] ?? {};
    numeric.forEach((c, i) => {
      const r = row[`r${i}`];
      numericSequences.push({
        column: c.name,
        integral: row[`i${i}`] === true,
        timeCorrelation: typeof r === 'number' && Number.isFinite(r) ? r : null,
      });
    });
  }
  return { textTimestamps, numericSequences };
}

async function profileTextTimestamps(
  session: DuckDbSession,
  table: string,
  column: string,
): Promise<TextTimestampProfile | undefined> {
  const v = quoteIdentifier(column);
  const sample = (
    await session.all<{ n: number; matched: number }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE regexp_matches(s, $1)) AS matched FROM (SELECT CAST(${v} AS VARCHAR) AS s FROM ${table} WHERE ${v} IS NOT NULL LIMIT ${SAMPLE_ROWS})`,
      [DATE_TIME],
    )
  )[0];
  if (!sample || Number(sample.n) === 0 || Number(sample.matched) < SAMPLE_SHARE * Number(sample.n)) return undefined;

  // A value parses when its shape matches and its date and time exist (no 31 April, no 25:00).
  const body = `regexp_extract(s, $1, 1)`;
  const parses = `(regexp_matches(s, $1) AND TRY_CAST(replace(${body}, '/', '-') AS TIMESTAMP) IS NOT NULL)`;
  const counts = (
    await session.all<{ n: number; parsed: number }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE ${parses}) AS parsed FROM (SELECT CAST(${v} AS VARCHAR) AS s FROM ${table} WHERE ${v} IS NOT NULL)`,
      [DATE_TIME],
    )
  )[0] ?? { n: 0, parsed: 0 };
  const unparseable = await session.all<{ s: string }>(
    `SELECT s FROM (SELECT DISTINCT CAST(${v} AS VARCHAR) AS s FROM ${table} WHERE ${v} IS NOT NULL) WHERE NOT ${parses} ORDER BY s LIMIT 3`,
    [DATE_TIME],
  );
  const zones = await session.all<{ zone: string; count: number }>(
    `SELECT upper(regexp_extract(s, $1, 2)) AS zone, count(*) AS count FROM (SELECT CAST(${v} AS VARCHAR) AS s FROM ${table} WHERE ${v} IS NOT NULL)
     WHERE regexp_matches(s, $1) GROUP BY zone ORDER BY count DESC, zone LIMIT 10`,
    [DATE_TIME],
  );
  return {
    column,
    values: Number(counts.n),
    parsed: Number(counts.parsed),
    unparseable: unparseable.map((u) => u.s),
    zones: zones.map((z) => ({ zone: z.zone, count: Number(z.count) })),
  };
}
