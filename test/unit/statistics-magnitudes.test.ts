import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DOUBLE, LIST, listValue } from '@duckdb/node-api';
import type { DatasetColumn, DatasetTable } from '../../lib/data/dataset';
import { openDuckDb, parameterTypes, type DuckDbSession } from '../../lib/data/duckdb';
import { computeStatistics, powerOfTwoScale } from '../../lib/data/statistics';

/** Sample standard deviation computed in JS, for values whose squares stay finite after scaling by `unit`. */
function sampleStd(values: number[], unit = 1): number {
  const scaled = values.map((v) => v / unit);
  const mean = scaled.reduce((s, v) => s + v, 0) / scaled.length;
  return Math.sqrt(scaled.reduce((s, v) => s + (v - mean) ** 2, 0) / (scaled.length - 1)) * unit;
}

describe('numeric statistics at any magnitude, with any histogram edges', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
  });
  after(() => session.close());

  async function profile(name: string, values: number[]) {
    await session.run(
      `CREATE OR REPLACE TABLE ${name} AS SELECT unnest(CAST($1 AS DOUBLE[])) AS x, CASE WHEN unnest(CAST($1 AS DOUBLE[])) > $2 THEN 'yes' ELSE 'no' END AS y`,
      [listValue(values), values[Math.floor(values.length / 2)] as number],
    );
    const columns: DatasetColumn[] = [
      { name: 'x', type: 'numeric', duckdbType: 'DOUBLE' },
      { name: 'y', type: 'categorical', duckdbType: 'VARCHAR' },
    ];
    const table: DatasetTable = { table: name, columns, rowCount: values.length, labelColumn: 'y' };
    const stats = await computeStatistics(session, table, { task: 'binary' });
    return stats.columns[0]!;
  }

  it('histogram edges whose first interior edge is a whole number (0.5 … 10.5: edges 1, 1.5, 2, …)', async () => {
    const values = Array.from({ length: 21 }, (_, i) => 0.5 + i * 0.5);
    const x = await profile('edges', values);
    assert.deepEqual(x.numeric?.histogram.edges.slice(0, 4), [0.5, 1, 1.5, 2]);
    assert.equal(
      x.numeric?.histogram.counts.reduce((s, c) => s + c, 0),
      21,
    );
    assert.deepEqual(x.numeric?.histogram.counts.slice(0, 3), [2, 1, 1]); // (…,1] holds 0.5 and 1
  });

  for (const [label, unit] of [
    ['huge (1e200)', 1e200],
    ['tiny (1e-200)', 1e-200],
  ] as const) {
    it(`${label} values: mean, std and the label correlation come out instead of an "Out of Range" error`, async () => {
      const values = Array.from({ length: 50 }, (_, i) => ((i * 37) % 50) * unit);
      const x = await profile(`m${unit > 1 ? 'huge' : 'tiny'}`, values);
      const mean = values.reduce((s, v) => s + v / unit, 0) / values.length;
      assert.ok(Math.abs((x.numeric?.mean as number) / unit - mean) < 1e-9, `mean ${x.numeric?.mean}`);
      const expected = sampleStd(values, unit);
      assert.ok(
        Math.abs((x.numeric?.std as number) - expected) <= 1e-12 * expected,
        `std ${x.numeric?.std} vs ${expected}`,
      );
      assert.ok(Math.abs(x.labelAssociation?.correlation ?? 0) > 0.8, `correlation ${x.labelAssociation?.correlation}`);
    });
  }

  it('scales only magnitudes whose squares leave a double, by an exact power of two', () => {
    assert.equal(powerOfTwoScale({ min: -5, max: 1e6 }), undefined);
    assert.equal(powerOfTwoScale({ min: 0, max: 0 }), undefined);
    assert.equal(powerOfTwoScale({ min: 0, max: 2 ** 600 }), 2 ** -600);
    assert.equal(powerOfTwoScale({ min: -3 * 2 ** 600, max: 1 }), 2 ** -602);
    assert.equal(powerOfTwoScale({ min: 0, max: 2 ** -600 }), 2 ** 600);
    assert.equal(powerOfTwoScale({ min: 0, max: Number.MAX_VALUE }), 2 ** -1023);
  });

  it('binds numbers and number lists as DOUBLE unless every value is a safe integer', () => {
    assert.deepEqual(
      parameterTypes([1, 1.5, 1e200, 'a']).map((t) => t?.toString()),
      [undefined, DOUBLE.toString(), DOUBLE.toString(), undefined],
    );
    assert.equal(parameterTypes([listValue([1, 1.5])])[0]?.toString(), LIST(DOUBLE).toString());
    assert.equal(parameterTypes([listValue([1, 2])])[0]?.toString(), 'BIGINT[]');
    assert.equal(parameterTypes([listValue(['a'])])[0], undefined);
  });
});
