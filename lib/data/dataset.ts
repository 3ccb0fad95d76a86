import { listValue, type DuckDBValue } from '@duckdb/node-api';
import type { z } from 'zod';
import { DomainError } from '../../contracts/errors';
import type { DerivedLabel } from '../../contracts/stage-config';
import type { DuckDbSession } from './duckdb';
import { datasetUnreadable, invalidConfig } from './failures';
import { preview, quoteIdentifier, quoteStringLiteral } from './identifiers';
import type { DatasetFormat, LocalDataset } from './materialize';

export type DerivedLabelSpec = z.output<typeof DerivedLabel>;
export type LabelSpec = string | DerivedLabelSpec;

export type ColumnKind = 'numeric' | 'categorical' | 'boolean' | 'timestamp' | 'text';

export interface DatasetColumn {
  name: string;
  type: ColumnKind;
  duckdbType: string;
  /** Distinct values of a VARCHAR column, when classifying it counted them (exactly; see classifyColumns). */
  distinctCount?: number;
}

export interface DatasetTable {
  /** The relation's name, already quoted for SQL: use it as `FROM ${table}`. */
  table: string;
  /** A view over Parquet files or a table of parsed text; drop it with releaseDataset, whichever it is. */
  relation?: 'table' | 'view';
  columns: DatasetColumn[];
  rowCount: number;
  /** The label column when it exists (a derived label is a computed column of this name). */
  labelColumn?: string;
  /** The one-row table holding a derived label's bound value, for a view (quoted). */
  labelValueTable?: string;
}

export interface LoadDatasetOptions {
  label?: LabelSpec;
  /** Unquoted table name; default "dataset". */
  tableName?: string;
}

/** A VARCHAR column with at most this many distinct values (or few relative to its rows) is categorical, else text. */
export const CATEGORICAL_MAX_DISTINCT = 1000;
const CATEGORICAL_ALWAYS_DISTINCT = 20;
const CATEGORICAL_MAX_DISTINCT_SHARE = 0.5;
/** Strings read as missing in CSV/TSV, as pandas and R do. */
const CSV_NULL_STRINGS = ['', 'NA', 'N/A', 'NULL', 'null', 'None'];

/**
 * Makes a materialised dataset queryable as one relation named `tableName`:
 * - Parquet becomes a VIEW over the files. Measured on 10M × 20 (bench/suites/data.ts): copying the
 *   452 MiB Parquet into an in-memory table took 1.9 GiB, so under the 1 GB memory limit every later
 *   scan read spilled blocks back from disk, and the copy alone cost 5-15 s; the view costs nothing up
 *   front, scans only the columns a query names, and stays out of core.
 * - CSV, TSV, JSON and JSONL become a TABLE: text is parsed once instead of once per statistics pass
 *   (DuckDB spills the table to its temp directory if it outgrows the memory limit).
 * A derived label is a computed column comparing its source column with a value that was bound as a
 * parameter (for the view, into a one-row side table, since a view cannot hold parameters).
 */
export async function loadDataset(
  session: DuckDbSession,
  local: LocalDataset,
  options: LoadDatasetOptions = {},
): Promise<DatasetTable> {
  const table = quoteIdentifier(options.tableName ?? 'dataset');
  const sourceColumns = await describeSource(session, local);
  const derived = typeof options.label === 'object' ? options.label : undefined;
  const labelSql = derived ? derivedLabelSql(derived, sourceColumns) : undefined;
  if (labelSql) await checkLabelValue(session, labelSql);

  if (local.format === 'parquet') await createParquetView(session, local, options.tableName ?? 'dataset', labelSql);
  else await createTable(session, local, table, labelSql);
  const described = await session.all<{ column_name: string; column_type: string }>(`DESCRIBE ${table}`);
  const rowCount = (await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n ?? 0;
  const columns = await classifyColumns(
    session,
    table,
    described.map((c) => ({ name: c.column_name, duckdbType: c.column_type })),
  );

  const labelName = derived
    ? labelSql
      ? derived.name
      : undefined
    : typeof options.label === 'string'
      ? options.label
      : undefined;
  const labelColumn = labelName !== undefined && columns.some((c) => c.name === labelName) ? labelName : undefined;
  const relation = local.format === 'parquet' ? 'view' : 'table';
  return {
    table,
    relation,
    columns,
    rowCount,
    ...(labelColumn !== undefined ? { labelColumn } : {}),
    ...(labelSql && relation === 'view' ? { labelValueTable: labelValueTableOf(options.tableName ?? 'dataset') } : {}),
  };
}

/** Drops what loadDataset created (the view or table, and a derived label's value table). */
export async function releaseDataset(session: DuckDbSession, dataset: DatasetTable): Promise<void> {
  await session.run(`DROP ${dataset.relation === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${dataset.table}`);
  if (dataset.labelValueTable) await session.run(`DROP TABLE IF EXISTS ${dataset.labelValueTable}`);
}

function labelValueTableOf(tableName: string): string {
  return quoteIdentifier(`${tableName}__label_value`);
}

interface SourceColumn {
  name: string;
  duckdbType: string;
}

/** The SQL that reads the files, with the file list as parameter $1. `fullSniff` scans every row to infer types. */
function readerSql(format: DatasetFormat, fileCount: number, fullSniff: boolean): string {
  const sample = fullSniff ? ', sample_size = -1' : '';
  const union = fileCount > 1 ? ', union_by_name = true' : '';
  switch (format) {
    case 'csv':
    case 'tsv':
      return `read_csv($1, header = true${format === 'tsv' ? ", delim = '\\t'" : ''}, nullstr = $2${sample}${union})`;
    case 'parquet':
      return `read_parquet($1${union})`;
    case 'json':
      return `read_json($1, format = 'array'${sample}${union})`;
    case 'jsonl':
      return `read_json($1, format = 'newline_delimited'${sample}${union})`;
  }
}

function readerParams(local: LocalDataset): DuckDBValue[] {
  const files = listValue(local.files);
  return local.format === 'csv' || local.format === 'tsv' ? [files, listValue(CSV_NULL_STRINGS)] : [files];
}

async function describeSource(session: DuckDbSession, local: LocalDataset): Promise<SourceColumn[]> {
  const rows = await withReader(local, (reader) =>
    session.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${reader}`, readerParams(local)),
  );
  return rows.map((r) => ({ name: r.column_name, duckdbType: r.column_type }));
}

async function createTable(
  session: DuckDbSession,
  local: LocalDataset,
  table: string,
  label: LabelSql | undefined,
): Promise<void> {
  const params = readerParams(local);
  const labelParam = `$${params.length + 1}`;
  await withReader(local, (reader) =>
    session.run(
      `CREATE OR REPLACE TABLE ${table} AS SELECT *${label ? `, ${label.expression(labelParam).sql} AS ${quoteIdentifier(label.name)}` : ''} FROM ${reader}`,
      label ? [...params, label.value] : params,
    ),
  );
}

async function createParquetView(
  session: DuckDbSession,
  local: LocalDataset,
  tableName: string,
  label: LabelSql | undefined,
): Promise<void> {
  const view = quoteIdentifier(tableName);
  // DDL cannot take parameters: the file paths (ours, under a fresh temp directory, though a partition's
  // file name comes from its object key) are quoted as string literals by the one literal helper.
  const files = `[${local.files.map(quoteStringLiteral).join(', ')}]`;
  const reader = `read_parquet(${files}${local.files.length > 1 ? ', union_by_name = true' : ''})`;
  let labelSelect = '';
  if (label) {
    const valueTable = labelValueTableOf(tableName);
    await session.run(`CREATE OR REPLACE TABLE ${valueTable} AS SELECT ${label.expression('$1').valueCast} AS v`, [
      label.value,
    ]);
    labelSelect = `, ${label.expression(`(SELECT v FROM ${valueTable})`).sql} AS ${quoteIdentifier(label.name)}`;
  }
  try {
    await session.run(`CREATE OR REPLACE VIEW ${view} AS SELECT *${labelSelect} FROM ${reader}`);
  } catch (error) {
    throw toDatasetFailure(local, error);
  }
}

/**
 * A reader error on the dataset's files as a non-retryable DatasetUnreadable; machine errors (memory,
 * disk, interrupts) unchanged. For errors raised later, when a query over a Parquet view meets a
 * damaged page: wrap the work that scans the dataset with this.
 */
export function toDatasetFailure(local: LocalDataset, error: unknown): unknown {
  if (error instanceof DomainError || !isDataError(error)) return error;
  return datasetUnreadable(local.uri, readerReason(error));
}

/**
 * Runs `use` with the default reader; when type inference from a sample fails (a stray string deep in
 * a numeric column), retries once inferring from every row; anything else unreadable becomes a
 * non-retryable DatasetUnreadable with DuckDB's reason.
 */
async function withReader<T>(local: LocalDataset, use: (reader: string) => Promise<T>): Promise<T> {
  try {
    return await use(readerSql(local.format, local.files.length, false));
  } catch (error) {
    if (!isDataError(error)) throw error;
    if (local.format !== 'parquet' && /conver|sniff|cast/i.test(errorMessage(error))) {
      try {
        return await use(readerSql(local.format, local.files.length, true));
      } catch (retryError) {
        if (!isDataError(retryError)) throw retryError;
        throw datasetUnreadable(local.uri, readerReason(retryError));
      }
    }
    throw datasetUnreadable(local.uri, readerReason(error));
  }
}

/**
 * Errors of the machine rather than the bytes: interrupts (cancellation), memory, disk space, sandbox
 * permissions, DuckDB internals. These stay retryable; every other reader error on a local file means
 * the bytes are not a readable dataset.
 */
const ENVIRONMENT_ERROR =
  /^(INTERRUPT|Out of Memory|FATAL|INTERNAL|Permission)|No space left on device|Too many open files|Cannot allocate memory/i;

function isDataError(error: unknown): boolean {
  return !ENVIRONMENT_ERROR.test(errorMessage(error));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readerReason(error: unknown): string {
  const lines = errorMessage(error)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const reason = lines.slice(0, 3).join(' ');
  return reason.length > 600 ? `${reason.slice(0, 600)}…` : reason;
}

interface LabelSql {
  name: string;
  value: DuckDBValue;
  /** `sql`: the comparison with the value taken from `value` (a parameter or a subquery); `valueCast`: that value cast for comparison. */
  expression(value: string): { sql: string; valueCast: string };
}

/** The value must convert to the column's comparison type, or the label cannot be derived: the caller's to fix. */
async function checkLabelValue(session: DuckDbSession, label: LabelSql): Promise<void> {
  try {
    await session.all(`SELECT ${label.expression('$1').valueCast} AS v`, [label.value]);
  } catch (error) {
    throw invalidConfig(
      'task.label.value',
      `${JSON.stringify(label.value)} cannot be compared with the label's source column: ${readerReason(error)}`,
    );
  }
}

/** Whitelisted comparison operators: the config's `op` selects one of these, it is never spliced in. */
const OPERATORS: Record<DerivedLabelSpec['op'], string> = {
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
  '==': '=',
  '!=': '<>',
};

/** Both sides are cast to one canonical type picked from the column's kind: a fixed set of type names. */
const COMPARISON_TYPE: Record<ColumnKind, string> = {
  numeric: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  categorical: 'VARCHAR',
  text: 'VARCHAR',
};

function derivedLabelSql(label: DerivedLabelSpec, columns: SourceColumn[]): LabelSql | undefined {
  const source = columns.find((c) => c.name === label.column);
  if (!source) return undefined; // reported as a "label-missing" anomaly by validation
  if (columns.some((c) => c.name === label.name)) {
    throw invalidConfig(
      'task.label.name',
      `"${preview(label.name)}" already names a column of the dataset: choose another name for the derived label`,
    );
  }
  const operator = OPERATORS[label.op];
  if (!operator) throw invalidConfig('task.label.op', `unknown operator ${JSON.stringify(label.op)}`);
  const kind = kindOfType(source.duckdbType) ?? 'text';
  if (kind === 'numeric' && typeof label.value !== 'number') {
    throw invalidConfig(
      'task.label.value',
      `column "${preview(label.column)}" is numeric (${source.duckdbType}), so the value must be a number, got ${JSON.stringify(label.value)}`,
    );
  }
  if (kind === 'boolean' && typeof label.value !== 'boolean') {
    throw invalidConfig(
      'task.label.value',
      `column "${preview(label.column)}" is boolean, so the value must be true or false, got ${JSON.stringify(label.value)}`,
    );
  }
  const type = COMPARISON_TYPE[kind];
  const value: DuckDBValue =
    typeof label.value === 'number' || typeof label.value === 'boolean' ? label.value : String(label.value);
  return {
    name: label.name,
    value,
    expression: (param) => ({
      sql: `(CAST(${quoteIdentifier(label.column)} AS ${type}) ${operator} CAST(${param} AS ${type}))`,
      valueCast: `CAST(${param} AS ${type})`,
    }),
  };
}

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL(\(\d+,\s*\d+\))?)$/i;
const TIMESTAMP_TYPE = /^(DATE|TIMESTAMP( WITH TIME ZONE)?|TIMESTAMP_(S|MS|NS)|TIMESTAMPTZ)$/i;

/** The kind a DuckDB type implies, or undefined for VARCHAR (categorical or text: decided by cardinality). */
export function kindOfType(duckdbType: string): ColumnKind | undefined {
  if (NUMERIC_TYPE.test(duckdbType)) return 'numeric';
  if (duckdbType.toUpperCase() === 'BOOLEAN') return 'boolean';
  if (TIMESTAMP_TYPE.test(duckdbType)) return 'timestamp';
  if (duckdbType.toUpperCase() === 'VARCHAR') return undefined;
  return 'text'; // lists, structs, blobs, intervals, times of day: kept, but not modelled
}

/** Rows whose distinct values single out the columns that are plainly text (see classifyColumns). */
const CLASSIFY_PREFIX_ROWS = 100_000;
/**
 * Approximate distinct values in the prefix above which a column is text: twice the categorical limit,
 * so only an estimate twice too high could misjudge a categorical column (DuckDB's HyperLogLog was seen
 * up to 25% off at these sizes, never near 2×).
 */
const CLEARLY_TEXT_DISTINCT = 2 * CATEGORICAL_MAX_DISTINCT;

/**
 * Categorical or text, for each VARCHAR column, by its distinct values (see stringKind):
 * 1. approximate distinct counts over the first CLASSIFY_PREFIX_ROWS rows: a column with far more than
 *    CATEGORICAL_MAX_DISTINCT there has at least as many in all rows, so it is text (its distinct
 *    count is then measured by the statistics pass, which reads the column anyway);
 * 2. the other columns, the few-valued ones almost always, get exact distinct counts over every row.
 * Measured on 10M × 20 Parquet (6 VARCHAR columns, one with 100k values), 2 cores: 0.2 CPU-s instead
 * of 1.3 for approx_count_distinct over every row of every VARCHAR column: an exact count(DISTINCT)
 * on a column of few values costs next to nothing (0.02 CPU-s vs 0.17 for HyperLogLog), but 4× more
 * than HyperLogLog on a column of 10M different values, which step 1 keeps away from it.
 */
async function classifyColumns(
  session: DuckDbSession,
  table: string,
  columns: SourceColumn[],
): Promise<DatasetColumn[]> {
  const strings = columns.filter((c) => kindOfType(c.duckdbType) === undefined);
  const measured = new Map<string, { distinct: number; nonNull: number }>();
  if (strings.length > 0) {
    const names = strings.map((c) => quoteIdentifier(c.name));
    const prefix =
      (
        await session.all<Record<string, number>>(
          `SELECT ${names.map((q, i) => `approx_count_distinct(${q}) AS d${i}`).join(', ')} FROM (SELECT ${names.join(', ')} FROM ${table} LIMIT ${CLASSIFY_PREFIX_ROWS})`,
        )
      )[0] ?? {};
    const open = strings.flatMap((c, i) =>
      (prefix[`d${i}`] ?? 0) > CLEARLY_TEXT_DISTINCT ? [] : [{ column: c, q: names[i] as string }],
    );
    if (open.length > 0) {
      const selects = open.flatMap(({ q }, i) => [`count(DISTINCT ${q}) AS d${i}`, `count(${q}) AS n${i}`]);
      const row = (await session.all<Record<string, number>>(`SELECT ${selects.join(', ')} FROM ${table}`))[0] ?? {};
      open.forEach(({ column }, i) =>
        measured.set(column.name, { distinct: row[`d${i}`] ?? 0, nonNull: row[`n${i}`] ?? 0 }),
      );
    }
  }
  return columns.map((c) => {
    const kind = kindOfType(c.duckdbType);
    if (kind !== undefined) return { name: c.name, type: kind, duckdbType: c.duckdbType };
    const found = measured.get(c.name);
    if (!found) return { name: c.name, type: 'text', duckdbType: c.duckdbType };
    return { name: c.name, type: stringKind(found), duckdbType: c.duckdbType, distinctCount: found.distinct };
  });
}

export function stringKind({ distinct, nonNull }: { distinct: number; nonNull: number }): 'categorical' | 'text' {
  if (distinct <= CATEGORICAL_ALWAYS_DISTINCT) return 'categorical';
  return distinct <= CATEGORICAL_MAX_DISTINCT && distinct <= CATEGORICAL_MAX_DISTINCT_SHARE * nonNull
    ? 'categorical'
    : 'text';
}
