import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDuckDb } from '../../lib/data/duckdb';
import { quoteIdentifier } from '../../lib/data/identifiers';
import { createBenchTable } from './split-preprocess';

/**
 * Writes the data suite's generated dataset: `rows` × 20 columns as Parquet, and its first `csvRows`
 * rows as CSV (the row-by-row baseline's input). Run as a child process by bench/suites/data.ts so the
 * memory generation takes never counts against the measured process.
 *
 *   tsx bench/data-steps/generate-dataset.ts <rows> <parquetPath> <csvRows> <csvPath>
 */
export async function generateDataset(
  rows: number,
  parquetPath: string,
  csvRows: number,
  csvPath: string,
): Promise<void> {
  const session = await openDuckDb();
  try {
    await createBenchTable(session, 'bench', rows);
    const table = quoteIdentifier('bench');
    await session.run(`COPY ${table} TO '${parquetPath.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`);
    await session.run(
      `COPY (SELECT * FROM ${table} LIMIT ${Math.floor(csvRows)}) TO '${csvPath.replaceAll("'", "''")}' (FORMAT csv, HEADER true)`,
    );
  } finally {
    await session.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [rows, parquetPath, csvRows, csvPath] = process.argv.slice(2);
  if (!rows || !parquetPath || !csvRows || !csvPath) {
    console.error('usage: generate-dataset.ts <rows> <parquetPath> <csvRows> <csvPath>');
    process.exit(2);
  }
  generateDataset(Number(rows), path.resolve(parquetPath), Number(csvRows), path.resolve(csvPath)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
