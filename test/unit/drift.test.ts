import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareColumnDrift, compareDrift, jensenShannonDistance, populationStabilityIndex } from '../../lib/data/drift';
import type { ColumnStatistics, DatasetStatistics } from '../../lib/data/statistics';
import { categoricalStatistics } from '../support/column-statistics';

const close = (actual: number, expected: number, tolerance = 1e-7) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

describe('populationStabilityIndex', () => {
  it('matches a hand-computed value', () => {
    // e = [.5, .3, .2], a = [.3, .3, .4]: (-.2)·ln(.6) + 0 + .2·ln(2) = .10216512 + .13862944
    close(populationStabilityIndex([50, 30, 20], [30, 30, 40]), 0.24079456);
  });

  it('clips empty bins at epsilon instead of dividing by zero', () => {
    // e' = [1, 1e-4], a = [.5, .5]: (-.5)·ln(.5) + (.4999)·ln(5000) = .34657359 + 4.25774486
    close(populationStabilityIndex([10, 0], [5, 5], 1e-4), 4.60431845, 1e-6);
  });

  it('is zero for identical proportions, whatever the totals', () => {
    close(populationStabilityIndex([1, 2, 3], [10, 20, 30]), 0);
  });

  it('is non-negative and symmetric (property)', () => {
    const counts = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 12 });
    fc.assert(
      fc.property(counts, counts, (a, b) => {
        const n = Math.min(a.length, b.length);
        const e = a.slice(0, n);
        const x = b.slice(0, n);
        const forward = populationStabilityIndex(e, x);
        assert.ok(forward >= -1e-12);
        close(forward, populationStabilityIndex(x, e), 1e-9);
      }),
    );
  });

  it('refuses counts on different bins', () => {
    assert.throws(() => populationStabilityIndex([1, 2], [1, 2, 3]), /same bins/);
  });
});

describe('jensenShannonDistance', () => {
  it('matches a hand-computed value', () => {
    // p = [.5, .5], q = [1, 0], m = [.75, .25]: KL(p‖m) = .20751875, KL(q‖m) = .41503750 bits,
    // JSD = .31127812, distance = √JSD
    close(jensenShannonDistance([0.5, 0.5], [1, 0]), Math.sqrt(0.31127812), 1e-7);
    close(jensenShannonDistance([0.5, 0.5], [1, 0]), 0.5579230, 1e-6);
  });

  it('is 0 for identical and 1 for disjoint distributions', () => {
    close(jensenShannonDistance([3, 1], [30, 10]), 0);
    close(jensenShannonDistance([1, 0, 0], [0, 2, 5]), 1);
  });

  it('is a symmetric distance in [0, 1] (property)', () => {
    const counts = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(counts, counts, (a, b) => {
        const n = Math.min(a.length, b.length);
        const d = jensenShannonDistance(a.slice(0, n), b.slice(0, n));
        assert.ok(d >= 0 && d <= 1);
        close(d, jensenShannonDistance(b.slice(0, n), a.slice(0, n)), 1e-12);
      }),
    );
  });
});

function numericColumn(name: string, counts: number[], onReferenceBins?: number[]): ColumnStatistics {
  const edges = counts.map((_, i) => i).concat(counts.length);
  return {
    name,
    type: 'numeric',
    duckdbType: 'DOUBLE',
    count: counts.reduce((s, c) => s + c, 0),
    missingCount: 0,
    missingFraction: 0,
    distinctCount: 10,
    numeric: {
      min: 0,
      max: counts.length,
      mean: 1,
      std: 1,
      quantiles: [{ q: 0.5, value: 1 }],
      nanCount: 0,
      infinityCount: 0,
      histogram: { edges, counts },
      ...(onReferenceBins ? { histogramOnReferenceBins: { edges, counts: onReferenceBins } } : {}),
    },
  };
}

function categoricalColumn(name: string, categories: Record<string, number>, otherCount = 0): ColumnStatistics {
  return categoricalStatistics(name, categories, { otherCount });
}

const thresholds = { psiThreshold: 0.2, jensenShannonThreshold: 0.1 };

describe('compareColumnDrift', () => {
  it("computes PSI on the reference's bins", () => {
    const drift = compareColumnDrift(numericColumn('x', [50, 30, 20]), numericColumn('x', [1, 1, 1], [30, 30, 40]), thresholds);
    assert.equal(drift?.metric, 'psi');
    close(drift?.value ?? NaN, 0.24079456);
    assert.equal(drift?.drifted, true);
  });

  it('cannot compare a numeric column without counts on the reference bins', () => {
    assert.equal(compareColumnDrift(numericColumn('x', [5, 5]), numericColumn('x', [5, 5]), thresholds), undefined);
  });

  it('computes Jensen–Shannon over the union of categories, with unseen ones counted', () => {
    const drift = compareColumnDrift(categoricalColumn('c', { a: 50, b: 50 }), categoricalColumn('c', { a: 100 }), thresholds);
    assert.equal(drift?.metric, 'jensen-shannon');
    close(drift?.value ?? NaN, 0.5579230, 1e-6);
    assert.match(drift?.summary ?? '', /"b" 50% → 0%/);
    const same = compareColumnDrift(categoricalColumn('c', { a: 5, b: 5 }), categoricalColumn('c', { b: 50, a: 50 }), thresholds);
    close(same?.value ?? NaN, 0);
    assert.equal(same?.drifted, false);
  });

  it('builds a table for the columns both datasets share', () => {
    const stats = (columns: ColumnStatistics[]): DatasetStatistics => ({ version: 1, rowCount: 100, columnCount: columns.length, duplicateRowCount: 0, duplicateRowShare: 0, columns });
    const table = compareDrift(
      stats([numericColumn('x', [50, 30, 20]), categoricalColumn('c', { a: 1 }), categoricalColumn('gone', { a: 1 })]),
      stats([numericColumn('x', [1, 1, 1], [50, 30, 20]), categoricalColumn('c', { a: 1 }), categoricalColumn('new', { a: 1 })]),
      thresholds,
    );
    assert.deepEqual(table.map((d) => [d.column, d.metric, d.drifted]), [['x', 'psi', false], ['c', 'jensen-shannon', false]]);
  });
});
