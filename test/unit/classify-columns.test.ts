import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CATEGORICAL_MAX_DISTINCT, loadDataset, releaseDataset, type DatasetColumn } from '../../lib/data/dataset';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { quoteStringLiteral } from '../../lib/data/identifiers';
import type { LocalDataset } from '../../lib/data/materialize';
import { computeStatistics } from '../../lib/data/statistics';

describe('categorical or text: VARCHAR columns classified by their distinct values', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb({ threads: 2, memoryLimit: '256MB' });
  });
  after(() => session.close());

  /** Writes `sql`'s rows as Parquet and loads them as loadDataset does for a real run. */
  async function load(
    name: string,
    sql: string,
  ): Promise<{ columns: Map<string, DatasetColumn>; table: Awaited<ReturnType<typeof loadDataset>> }> {
    const file = path.join(session.workDirectory, `${name}.parquet`);
    await session.run(`COPY (${sql}) TO ${quoteStringLiteral(file)} (FORMAT parquet)`);
    const local: LocalDataset = {
      uri: `s3://bucket/${name}.parquet`,
      files: [file],
      format: 'parquet',
      compressed: false,
      bytes: 0,
      cleanup: async () => {},
    };
    const table = await loadDataset(session, local, { tableName: name });
    return { columns: new Map(table.columns.map((c) => [c.name, c])), table };
  }

  it('counts distinct values exactly at the thresholds (20 always categorical; up to 1000 if at most half the values)', async () => {
    // 3000 rows: a = 20 values, b = 21 values (categorical: 21 ≤ 1500), c = 1000 values, d = 1001 values,
    // e = 21 values in only 40 non-missing rows (text: more than half of them distinct).
    const { columns, table } = await load(
      'thresholds',
      `SELECT 'a' || (i % 20) AS a, 'b' || (i % 21) AS b, 'c' || (i % ${CATEGORICAL_MAX_DISTINCT}) AS c,
        'd' || (i % ${CATEGORICAL_MAX_DISTINCT + 1}) AS d, CASE WHEN i < 40 THEN 'e' || (i % 21) END AS e FROM range(3000) r(i)`,
    );
    const kinds = Object.fromEntries([...columns].map(([name, c]) => [name, [c.type, c.distinctCount]]));
    assert.deepEqual(kinds, {
      a: ['categorical', 20],
      b: ['categorical', 21],
      c: ['categorical', CATEGORICAL_MAX_DISTINCT],
      d: ['text', CATEGORICAL_MAX_DISTINCT + 1],
      e: ['text', 21],
    });
    await releaseDataset(session, table);
  });

  it('a column with thousands of values in its first rows is text at a glance; statistics count its values approximately', async () => {
    const { columns, table } = await load(
      'ids',
      `SELECT 'user-' || i AS id, 'k' || (i % 3) AS k FROM range(150000) r(i)`,
    );
    assert.deepEqual(columns.get('id'), { name: 'id', type: 'text', duckdbType: 'VARCHAR' });
    assert.equal(columns.get('k')?.type, 'categorical');
    const id = (await computeStatistics(session, table)).columns.find((c) => c.name === 'id');
    assert.ok(
      id && Math.abs(id.distinctCount - 150_000) < 0.1 * 150_000,
      `approximate distinct count ${id?.distinctCount}`,
    );
    await releaseDataset(session, table);
  });

  it('a column that looks categorical in its first rows but is not over all of them is still text, counted exactly', async () => {
    // The first 120 000 rows hold two values; the last 30 000 are all different.
    const { columns, table } = await load(
      'late',
      `SELECT CASE WHEN i < 120000 THEN 'v' || (i % 2) ELSE 'u' || i END AS late FROM range(150000) r(i)`,
    );
    assert.deepEqual(columns.get('late'), { name: 'late', type: 'text', duckdbType: 'VARCHAR', distinctCount: 30_002 });
    await releaseDataset(session, table);
  });
});
