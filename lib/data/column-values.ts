import type { DuckDbSession, SqlValue } from './duckdb';
import { kindOfType } from './dataset';
import { quoteIdentifier } from './identifiers';

/**
 * How a column's values travel from DuckDB to JS, decided once from its DuckDB type and used by every
 * reader (split manifest, preprocessor fit, batches, evaluation columns), so a category or class
 * fitted from SQL has exactly the key the encoder later sees.
 * - number: numeric types, as DOUBLE
 * - boolean: BOOLEAN
 * - epoch-seconds: DATE and TIMESTAMP types, as seconds since 1970-01-01 UTC (DOUBLE)
 * - string: everything else, as VARCHAR
 */
export type ValueSource = 'number' | 'boolean' | 'epoch-seconds' | 'string';

export type CellValue = number | string | boolean | null;

export function valueSourceOf(duckdbType: string): ValueSource {
  switch (kindOfType(duckdbType)) {
    case 'numeric':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'epoch-seconds';
    default:
      return 'string';
  }
}

/** The SQL expression that reads `column` (of the table aliased `qualifier`, if given) as its value source; the name is quoted here. */
export function valueExpression(column: string, source: ValueSource, qualifier?: string): string {
  const q = qualifier === undefined ? quoteIdentifier(column) : `${qualifier}.${quoteIdentifier(column)}`;
  switch (source) {
    case 'number':
      return `CAST(${q} AS DOUBLE)`;
    case 'boolean':
      return q;
    case 'epoch-seconds':
      return `CAST(epoch(${q}) AS DOUBLE)`;
    case 'string':
      return `CAST(${q} AS VARCHAR)`;
  }
}

/**
 * The category (or class) key of a value: the one rule for turning cells into strings, shared by
 * fitting and encoding. Null stays null (missing).
 */
export function categoryKey(value: CellValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && Number.isNaN(value)) return null;
  return String(value);
}

/** A SQL string literal, for the few places DuckDB accepts no parameter (COPY … TO '<path>'). */
export function quoteStringLiteral(value: string): string {
  if (value.includes('\0')) throw new RangeError('A string literal must not contain NUL');
  return `'${value.replaceAll("'", "''")}'`;
}

/** A column name for internal bookkeeping that no data column already uses. */
export function freshColumnName(base: string, taken: Iterable<string>): string {
  const names = new Set(taken);
  let candidate = base;
  for (let i = 1; names.has(candidate); i += 1) candidate = `${base}_${i}`;
  return candidate;
}

/** One DuckDB result chunk (≤ 2048 rows) as plain JS column arrays. */
export interface ColumnChunk {
  columns: CellValue[][];
  rows: number;
}

/**
 * Streams a query's result chunk by chunk: DuckDB holds the rest, JS holds one chunk. Values are
 * whatever the query's expressions produce (use `valueExpression` to get numbers, booleans, strings).
 */
export async function* streamChunks(
  session: DuckDbSession,
  sql: string,
  params: SqlValue[] = [],
): AsyncGenerator<ColumnChunk> {
  const result = await session.connection.stream(sql, params);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return;
    const rows = chunk.rowCount;
    const columns: CellValue[][] = [];
    for (let c = 0; c < chunk.columnCount; c += 1) {
      const vector = chunk.getColumnVector(c);
      const values = new Array<CellValue>(rows);
      for (let r = 0; r < rows; r += 1) {
        const value = vector.getItem(r);
        values[r] =
          value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
            ? value
            : toCellValue(value);
      }
      columns.push(values);
    }
    yield { columns, rows };
  }
}

function toCellValue(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  return String(value);
}
