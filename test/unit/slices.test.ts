import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { groupRowsByValue, measureSlices, MISSING_SLICE, NUMERIC_BINS, OTHER_SLICE } from '../../lib/evaluation/slices';

const groupsOf = (values: unknown[]) => groupRowsByValue(values).map((g) => [g.value, [...g.indices]]);

describe('groupRowsByValue', () => {
  it('groups by value, largest first, missing values apart', () => {
    assert.deepEqual(groupsOf(['a', 'b', 'a', null, 'c', 'a', 'b', undefined]), [
      ['a', [0, 2, 5]],
      [MISSING_SLICE, [3, 7]],
      ['b', [1, 6]],
      ['c', [4]],
    ]);
  });

  it('few distinct numbers and booleans are categories', () => {
    assert.deepEqual(groupsOf([1, 2, 1, 2n]), [
      ['1', [0, 2]],
      ['2', [1, 3]],
    ]);
    assert.deepEqual(groupsOf([true, false, true]), [
      ['true', [0, 2]],
      ['false', [1]],
    ]);
  });

  it('many distinct numbers go into equal-frequency bins', () => {
    const values = [...Array(100).keys()].map((i) => i * 1.5);
    const groups = groupRowsByValue([...values, Number.NaN]);
    assert.equal(groups.length, NUMERIC_BINS + 1);
    assert.deepEqual(
      groups.map((g) => g.indices.length),
      [20, 20, 20, 20, 20, 1],
    );
    assert.equal(groups[0]?.value, '[0, 30)');
    assert.equal(groups[4]?.value, '[120, 148.5]');
    assert.equal(groups[5]?.value, MISSING_SLICE);
  });

  it('many categories keep the largest and pool the rest', () => {
    const values = [...Array(200).keys()].map((i) => `v${i % 80}`);
    const groups = groupRowsByValue(values);
    assert.equal(groups.length, 50);
    assert.equal(groups.at(-1)?.value, OTHER_SLICE);
  });

  it('every row lands in exactly one group', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constant(null)), { maxLength: 150 }),
        (values) => {
          const rows = groupRowsByValue(values)
            .flatMap((g) => [...g.indices])
            .sort((a, b) => a - b);
          assert.deepEqual(rows, [...values.keys()]);
        },
      ),
    );
  });
});

describe('measureSlices', () => {
  it('computes the metric on each group (multiclass rows keep their k outputs)', () => {
    const measurement = measureSlices({
      task: 'multiclass',
      column: 'island',
      metric: 'accuracy',
      floor: 0.5,
      minSize: 1,
      groups: groupRowsByValue(['x', 'y', 'x', 'y']),
      labels: [0, 1, 1, 1],
      outputs: [0.9, 0.1, 0.2, 0.8, 0.7, 0.3, 0.6, 0.4],
      classes: ['a', 'b'],
      threshold: 0.5,
    });
    assert.deepEqual(measurement.slices, [
      { value: 'x', size: 2, metricValue: 0.5 },
      { value: 'y', size: 2, metricValue: 0.5 },
    ]);
  });
});
