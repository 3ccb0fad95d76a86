import type { SplitName } from '../../contracts/stage-results';
import { freshColumnName, valueExpression, type ValueSource } from './column-values';
import type { DuckDbSession, SqlValue } from './duckdb';
import { invalidConfig } from './failures';
import { preview, quoteIdentifier } from './identifiers';
import { cumulativeBounds, SPLIT_NAMES, timeQuantiles, type SplitFractions, type SplitStrategy } from './split-plan';

/**
 * Deduplicates a loaded dataset and assigns every row to train, validation or test, all in DuckDB.
 *
 * Membership is decided by a 64-bit hash of (seed, the row's key columns) — DuckDB's `hash()` — so it
 * depends on nothing else: not on row order, not on the attempt, not on the machine.
 * - random: the hash mapped to u ∈ [0, 1) against the cumulative fractions;
 * - stratified: rows ranked by hash within each stratum and cut at the rounded cumulative fractions,
 *   so every stratum keeps its proportions to within one row;
 * - time: train < validationStart ≤ validation < testStart ≤ test, boundaries from config or from
 *   quantiles of the time column.
 * Exact duplicate rows are removed first, and rows with no label (or no time, for a time split) are
 * dropped, so no row can sit in two splits.
 */
export interface SplitRequest {
  /** The source table, already quoted (DatasetTable.table). */
  table: string;
  columns: { name: string; duckdbType: string; source: ValueSource }[];
  labelColumn: string;
  strategy: SplitStrategy;
  fractions: SplitFractions;
  seed: number;
  /** Columns whose values identify a row; default: every column. */
  keyColumns?: string[];
  /** Stratified splits: default the label. */
  stratifyBy?: string;
  timeColumn?: string;
  /** Time split boundaries: ISO dates / timestamps or numbers (epoch seconds for date/time columns). */
  validationStart?: string | number;
  testStart?: string | number;
  /** Name of the table to create; default "split_rows". */
  outputTable?: string;
}

export interface SplitTable {
  /** Quoted name of the relation (a view) holding every kept row: the data columns plus the internal ones below. */
  table: string;
  /** Quoted internal column names: the split name, the row hash and a tie-breaking hash of the whole row (the row hash itself when the key is every column). */
  splitColumn: string;
  rowHashColumn: string;
  tieHashColumn: string;
  /** `ORDER BY` terms giving a stable order of the kept rows (by hash, so shuffled relative to the input). */
  orderBy: string;
}

export interface SplitOutcome extends SplitTable {
  strategy: SplitStrategy;
  inputRows: number;
  missingLabelRows: number;
  missingTimeRows: number;
  duplicateRows: number;
  rows: Record<SplitName, number>;
  keyColumns: string[];
  stratifyBy?: string;
  time?: {
    column: string;
    validationStart: number | string | null;
    testStart: number | string | null;
    source: 'config' | 'quantiles';
  };
}

export async function splitRows(session: DuckDbSession, request: SplitRequest): Promise<SplitOutcome> {
  const names = request.columns.map((c) => c.name);
  checkColumns(request, names);
  const keyColumns = request.keyColumns && request.keyColumns.length > 0 ? request.keyColumns : names;
  const stratifyBy = request.strategy === 'stratified' ? (request.stratifyBy ?? request.labelColumn) : undefined;
  const timeColumn = request.strategy === 'time' ? request.timeColumn : undefined;
  if (request.strategy === 'time' && timeColumn === undefined) {
    throw invalidConfig(
      'split.timeColumn',
      'a time split needs split.timeColumn: the column whose values order the rows in time',
    );
  }
  const timeSource = timeColumn !== undefined ? sourceOf(request, timeColumn) : undefined;
  if (timeSource === 'boolean') {
    throw invalidConfig(
      'split.timeColumn',
      `column "${preview(timeColumn as string)}" is boolean and cannot order rows in time; choose a date, timestamp or numeric column`,
    );
  }

  const splitName = quoteIdentifier(freshColumnName('__trainyard_split', names));
  const rowHash = quoteIdentifier(freshColumnName('__trainyard_row_hash', names));
  const baseName = request.outputTable ?? 'split_rows';
  const view = quoteIdentifier(baseName);
  const rowsTable = quoteIdentifier(`${baseName}_distinct`);
  const parametersTable = quoteIdentifier(`${baseName}_parameters`);
  const allColumns = names.map(quoteIdentifier).join(', ');
  const label = quoteIdentifier(request.labelColumn);
  const time = timeColumn !== undefined ? valueExpression(timeColumn, timeSource as ValueSource) : undefined;
  const keep = [`${label} IS NOT NULL`, ...(time ? [`${time} IS NOT NULL`] : [])].join(' AND ');
  const seed: SqlValue = request.seed;
  // With the key = every column, the key hash already tells rows apart; otherwise a hash of the whole
  // row breaks ties between rows that share a key, so ranks (stratified) stay deterministic.
  const keyIsWholeRow = new Set(keyColumns).size === names.length;
  const tieHash = keyIsWholeRow ? rowHash : quoteIdentifier(freshColumnName('__trainyard_tie_hash', names));
  const orderKey = (alias: string) =>
    keyIsWholeRow
      ? `${alias}.${rowHash}`
      : `((CAST(${alias}.${rowHash} AS UHUGEINT) << 64) + CAST(${alias}.${tieHash} AS UHUGEINT))`;

  const counts = (
    await session.all<{ input: number; missing_label: number; missing_time: number }>(
      `SELECT count(*) AS input, count(*) FILTER (WHERE ${label} IS NULL) AS missing_label,
              ${time ? `count(*) FILTER (WHERE ${label} IS NOT NULL AND ${time} IS NULL)` : '0'} AS missing_time
       FROM ${request.table}`,
    )
  )[0] ?? { input: 0, missing_label: 0, missing_time: 0 };

  // The one wide pass: deduplicate and hash. Everything after reads a few narrow columns of it.
  await dropSplitRelations(session, baseName);
  await session.run(
    `CREATE TEMP TABLE ${rowsTable} AS
     SELECT *, hash(CAST($1 AS BIGINT), ${keyColumns.map(quoteIdentifier).join(', ')}) AS ${rowHash}
            ${keyIsWholeRow ? '' : `, hash(CAST($1 AS BIGINT), ${allColumns}) AS ${tieHash}`}
     FROM (SELECT DISTINCT ${allColumns} FROM ${request.table} WHERE ${keep})`,
    [seed],
  );

  // The assignment rule's parameters go to a small table, so the split can be a view (views hold no
  // bound parameters) that computes each row's split on the fly instead of copying every row again.
  const bounds = cumulativeBounds(request.fractions);
  let assignment: string;
  let join: string;
  let timeOutcome: SplitOutcome['time'];
  switch (request.strategy) {
    case 'random': {
      await session.run(
        `CREATE TEMP TABLE ${parametersTable} AS SELECT CAST($1 AS DOUBLE) AS train_end, CAST($2 AS DOUBLE) AS validation_end`,
        [bounds.train, bounds.validation],
      );
      const u = `(r.${rowHash} / 18446744073709551616.0)`;
      assignment = `CASE WHEN ${u} < p.train_end THEN 'train' WHEN ${u} < p.validation_end THEN 'validation' ELSE 'test' END`;
      join = `CROSS JOIN ${parametersTable} AS p`;
      break;
    }
    case 'stratified': {
      // Ranking by hash within a stratum and cutting at round(n × bound) is the same as comparing each
      // row's hash with the hash at that rank: computed here from three narrow columns.
      const stratum = quoteIdentifier(stratifyBy as string);
      await session.run(
        `CREATE TEMP TABLE ${parametersTable} AS
         SELECT stratum, max(k) FILTER (WHERE rank <= round(n * $1)) AS train_end, max(k) FILTER (WHERE rank <= round(n * $2)) AS validation_end
         FROM (SELECT r.${stratum} AS stratum, ${orderKey('r')} AS k,
                      row_number() OVER (PARTITION BY r.${stratum} ORDER BY ${orderKey('r')}) AS rank,
                      count(*) OVER (PARTITION BY r.${stratum}) AS n
               FROM ${rowsTable} AS r)
         GROUP BY stratum`,
        [bounds.train, bounds.validation],
      );
      assignment = `CASE WHEN ${orderKey('r')} <= p.train_end THEN 'train' WHEN ${orderKey('r')} <= p.validation_end THEN 'validation' ELSE 'test' END`;
      join = `JOIN ${parametersTable} AS p ON r.${stratum} IS NOT DISTINCT FROM p.stratum`;
      break;
    }
    case 'time': {
      timeOutcome = await timeBoundaries(
        session,
        rowsTable,
        request,
        time as string,
        timeColumn as string,
        timeSource as ValueSource,
      );
      const cast = timeSource === 'string' ? 'VARCHAR' : 'DOUBLE';
      await session.run(
        `CREATE TEMP TABLE ${parametersTable} AS SELECT CAST($1 AS ${cast}) AS validation_start, CAST($2 AS ${cast}) AS test_start`,
        [timeOutcome.validationStart, timeOutcome.testStart],
      );
      const t = valueExpression(timeColumn as string, timeSource as ValueSource, 'r');
      assignment = `CASE WHEN p.validation_start IS NULL OR ${t} < p.validation_start THEN 'train'
                         WHEN p.test_start IS NULL OR ${t} < p.test_start THEN 'validation' ELSE 'test' END`;
      join = `CROSS JOIN ${parametersTable} AS p`;
      break;
    }
  }
  await session.run(
    `CREATE TEMP VIEW ${view} AS SELECT r.*, ${assignment} AS ${splitName} FROM ${rowsTable} AS r ${join}`,
  );

  const perSplit = await session.all<{ split: string; n: number }>(
    `SELECT ${splitName} AS split, count(*) AS n FROM ${view} GROUP BY 1`,
  );
  const rows = Object.fromEntries(SPLIT_NAMES.map((s) => [s, perSplit.find((r) => r.split === s)?.n ?? 0])) as Record<
    SplitName,
    number
  >;
  const kept = rows.train + rows.validation + rows.test;
  return {
    table: view,
    splitColumn: splitName,
    rowHashColumn: rowHash,
    tieHashColumn: tieHash,
    orderBy: keyIsWholeRow ? rowHash : `${rowHash}, ${tieHash}`,
    strategy: request.strategy,
    inputRows: counts.input,
    missingLabelRows: counts.missing_label,
    missingTimeRows: counts.missing_time,
    duplicateRows: counts.input - counts.missing_label - counts.missing_time - kept,
    rows,
    keyColumns,
    ...(stratifyBy !== undefined ? { stratifyBy } : {}),
    ...(timeOutcome ? { time: timeOutcome } : {}),
  };
}

/** Drops an earlier split of this name (view first: it depends on the tables). */
async function dropSplitRelations(session: DuckDbSession, baseName: string): Promise<void> {
  await session.run(`DROP VIEW IF EXISTS ${quoteIdentifier(baseName)}`);
  await session.run(`DROP TABLE IF EXISTS ${quoteIdentifier(`${baseName}_parameters`)}`);
  await session.run(`DROP TABLE IF EXISTS ${quoteIdentifier(`${baseName}_distinct`)}`);
}

/**
 * Where a time split cuts. Configured boundaries are converted to the column's value source (dates
 * and timestamps to epoch seconds, in SQL); otherwise the cuts are the time values at the train and
 * train + validation quantiles of the deduplicated rows. A null boundary means "never reached".
 */
async function timeBoundaries(
  session: DuckDbSession,
  rowsTable: string,
  request: SplitRequest,
  time: string,
  timeColumn: string,
  source: ValueSource,
): Promise<NonNullable<SplitOutcome['time']>> {
  if (request.validationStart !== undefined || request.testStart !== undefined) {
    if (request.validationStart === undefined || request.testStart === undefined) {
      throw invalidConfig(
        'split.validationStart',
        'give both split.validationStart and split.testStart, or neither (then quantiles of the time column by the fractions are used)',
      );
    }
    const validationStart = await boundaryValue(session, request.validationStart, source, 'split.validationStart');
    const testStart = await boundaryValue(session, request.testStart, source, 'split.testStart');
    if (validationStart !== null && testStart !== null && testStart < validationStart) {
      throw invalidConfig(
        'split.testStart',
        `split.testStart (${request.testStart}) must not be earlier than split.validationStart (${request.validationStart})`,
      );
    }
    return { column: timeColumn, validationStart, testStart, source: 'config' };
  }
  const levels = timeQuantiles(request.fractions);
  const row = (
    await session.all<{ v: number | string | null; t: number | string | null }>(
      `SELECT quantile_disc(tv, CAST($1 AS DOUBLE)) AS v, quantile_disc(tv, CAST($2 AS DOUBLE)) AS t FROM (SELECT ${time} AS tv FROM ${rowsTable})`,
      [levels.validationStart, levels.testStart],
    )
  )[0];
  // A fraction bound of 1 means that split boundary is never reached (e.g. no test split at all).
  return {
    column: timeColumn,
    validationStart: levels.validationStart >= 1 ? null : (row?.v ?? null),
    testStart: levels.testStart >= 1 ? null : (row?.t ?? null),
    source: 'quantiles',
  };
}

async function boundaryValue(
  session: DuckDbSession,
  value: string | number,
  source: ValueSource,
  path: string,
): Promise<number | string> {
  if (source === 'string') return String(value);
  if (typeof value === 'number') return value;
  const sql =
    source === 'epoch-seconds'
      ? 'SELECT CAST(epoch(TRY_CAST($1 AS TIMESTAMP)) AS DOUBLE) AS v'
      : 'SELECT TRY_CAST($1 AS DOUBLE) AS v';
  const converted = (await session.all<{ v: number | null }>(sql, [value]))[0]?.v ?? null;
  if (converted === null) {
    const expected = source === 'epoch-seconds' ? 'an ISO date or timestamp such as "2014-01-01"' : 'a number';
    throw invalidConfig(path, `${JSON.stringify(value)} is not ${expected}`);
  }
  return converted;
}

function sourceOf(request: SplitRequest, column: string): ValueSource {
  const found = request.columns.find((c) => c.name === column);
  if (!found) throw new Error(`unknown column ${column}`);
  return found.source;
}

function checkColumns(request: SplitRequest, names: string[]): void {
  const known = new Set(names);
  const missing = (path: string, column: string) =>
    invalidConfig(
      path,
      `column "${preview(column)}" is not in the dataset (columns: ${names
        .slice(0, 20)
        .map((n) => preview(n, 40))
        .join(', ')}${names.length > 20 ? ', …' : ''})`,
    );
  if (!known.has(request.labelColumn)) throw missing('task.label', request.labelColumn);
  request.keyColumns?.forEach((c, i) => {
    if (!known.has(c)) throw missing(`split.keyColumns.${i}`, c);
  });
  if (request.stratifyBy !== undefined && !known.has(request.stratifyBy))
    throw missing('split.stratifyBy', request.stratifyBy);
  if (request.timeColumn !== undefined && !known.has(request.timeColumn))
    throw missing('split.timeColumn', request.timeColumn);
}
