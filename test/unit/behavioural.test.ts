import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  measureDirectional,
  measureInvariance,
  perRowAbsChange,
  shuffleSeeded,
  type RawColumns,
} from '../../lib/evaluation/behavioural';

/** A stand-in model over raw columns: score = 0.1·a − 0.2·b, ignoring `noise`. */
const predict = async (columns: RawColumns) => {
  const a = columns.a as number[];
  const b = columns.b as (number | null)[];
  return Float32Array.from(a.map((v, i) => 0.1 * v - 0.2 * (b[i] ?? 0)));
};

const columns: RawColumns = { a: [1, 2, 3, 4, 5, 6], b: [3, 1, null, 4, 1, 5], noise: ['p', 'q', 'r', 's', 't', 'u'] };

describe('behavioural measurements', () => {
  it('a seeded shuffle is a permutation, the same for the same seed', () => {
    const values = [...Array(50).keys()];
    const once = shuffleSeeded(values, 7);
    assert.deepEqual(once, shuffleSeeded(values, 7));
    assert.notDeepEqual(once, values);
    assert.deepEqual(
      [...once].sort((x, y) => x - y),
      values,
    );
  });

  it('invariance: an ignored column moves nothing, a used one does', async () => {
    const baseline = await predict(columns);
    const common = { columns, epsilon: 0.05, task: 'regression' as const, classCount: 1, baseline, predict, seed: 1 };
    const ignored = await measureInvariance({ ...common, column: 'noise' });
    assert.equal(ignored.meanAbsChange, 0);
    const used = await measureInvariance({ ...common, column: 'a' });
    assert.ok(used.meanAbsChange > 0.05 && used.maxAbsChange >= used.meanAbsChange);
  });

  it('multiclass change per row is the largest class-probability change', () => {
    const change = perRowAbsChange(Float32Array.of(0.5, 0.5, 0.9, 0.1), Float32Array.of(0.25, 0.75, 0.9, 0.1), 2);
    assert.deepEqual([...change], [0.25, 0]);
  });

  it('directional: raising a column by one standard deviation, missing values stay missing', async () => {
    const baseline = await predict(columns);
    const up = await measureDirectional({
      columns,
      column: 'a',
      direction: 'increase',
      task: 'binary',
      baseline,
      predict,
    });
    // population std of 1..6 = sqrt(35/12); the score rises by 0.1·delta on every row
    const delta = Math.sqrt(35 / 12);
    assert.ok(Math.abs((up.delta ?? 0) - delta) < 1e-12);
    assert.ok(Math.abs((up.meanChange ?? 0) - 0.1 * delta) < 1e-6);
    assert.equal(up.wrongWayShare, 0);
    const down = await measureDirectional({
      columns,
      column: 'b',
      direction: 'increase',
      task: 'binary',
      baseline,
      predict,
    });
    assert.ok((down.meanChange ?? 0) < 0);
    assert.equal(down.wrongWayShare, 5 / 6, 'the row with b missing does not move');
  });

  it('directional is not run for multiclass or non-numeric columns', async () => {
    const baseline = await predict(columns);
    const multi = await measureDirectional({
      columns,
      column: 'a',
      direction: 'increase',
      task: 'multiclass',
      baseline,
      predict,
    });
    assert.equal(multi.meanChange, undefined);
    assert.match(multi.note ?? '', /multiclass/);
    const text = await measureDirectional({
      columns,
      column: 'noise',
      direction: 'increase',
      task: 'binary',
      baseline,
      predict,
    });
    assert.match(text.note ?? '', /no numeric values/);
  });
});
