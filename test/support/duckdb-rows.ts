import { BOOLEAN, DATE, DOUBLE, DuckDBDateValue, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import { valueSourceOf, type ValueSource } from '../../lib/data/column-values';
import type { DuckDbSession } from '../../lib/data/duckdb';
import { quoteIdentifier } from '../../lib/data/identifiers';

/** Column types the test tables use: DOUBLE, VARCHAR, BOOLEAN, DATE (given as days since 1970-01-01). */
export type TestColumnType = 'DOUBLE' | 'VARCHAR' | 'BOOLEAN' | 'DATE';
export type TestRow = (number | string | boolean | null)[];

const TYPES: Record<TestColumnType, DuckDBType> = { DOUBLE, VARCHAR, BOOLEAN, DATE };

/**
 * Creates a table of the given columns (names quoted, so hostile names are fine) and appends `rows`
 * through DuckDB's appender: no SQL text carries a value.
 */
export async function createTableFromRows(
  session: DuckDbSession,
  table: string,
  columns: { name: string; type: TestColumnType }[],
  rows: TestRow[],
): Promise<{ table: string; columns: { name: string; duckdbType: string; source: ValueSource }[] }> {
  await session.run(
    `CREATE OR REPLACE TABLE ${quoteIdentifier(table)} (${columns.map((c) => `${quoteIdentifier(c.name)} ${c.type}`).join(', ')})`,
  );
  const appender = await session.connection.createAppender(table);
  for (const row of rows) {
    columns.forEach((column, i) => {
      const value = row[i];
      if (value === null || value === undefined) appender.appendNull();
      else if (column.type === 'DATE') appender.appendDate(new DuckDBDateValue(value as number));
      else appender.appendValue(value as never, TYPES[column.type]);
    });
    appender.endRow();
  }
  appender.closeSync();
  return {
    table: quoteIdentifier(table),
    columns: columns.map((c) => ({ name: c.name, duckdbType: c.type, source: valueSourceOf(c.type) })),
  };
}
