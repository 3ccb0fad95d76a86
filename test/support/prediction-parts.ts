import { loadDataset } from '../../lib/data/dataset';
import { openDuckDb } from '../../lib/data/duckdb';
import { materializeDataset } from '../../lib/data/materialize';
import type { ArtifactStore } from '../../lib/store/artifact-store';

/** Runs `sql(table)` over every Parquet part a batchPredict run wrote under `uri`. */
export async function queryPredictionParts<T = Record<string, unknown>>(
  store: ArtifactStore,
  uri: string,
  sql: (table: string) => string,
): Promise<T[]> {
  const local = await materializeDataset(store, uri, { format: 'parquet' });
  const session = await openDuckDb();
  try {
    const table = await loadDataset(session, local);
    return await session.all<T>(sql(table.table));
  } finally {
    await session.close();
    await local.cleanup();
  }
}

/** Every prediction row the parts under `uri` hold, in input order. */
export function readPredictionParts(store: ArtifactStore, uri: string): Promise<Record<string, unknown>[]> {
  return queryPredictionParts(store, uri, (table) => `SELECT * FROM ${table} ORDER BY row_index`);
}
