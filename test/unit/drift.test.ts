import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareDrift, referenceEdges, type DriftSettings } from '../../lib/data/drift';
import { createSeededRandom, type Random } from '../../lib/data/seeded-random';
import type { ColumnStatistics, DatasetStatistics } from '../../lib/data/statistics';
import { DatasetStatisticsSchema } from '../../lib/data/statistics-schema';
import { jensenShannonDistance, populationStabilityIndex } from '../../lib/stats/divergence';
import { binomialUpperTail } from '../../lib/stats/distributions';
import { chiSquareHomogeneity, poolCategories, poolOrderedBins } from '../../lib/stats/homogeneity';
import { benjaminiHochbergAdjust, holmAdjust } from '../../lib/stats/multiple-testing';
import { categoricalStatistics } from '../support/column-statistics';

const close = (actual: number, expected: number, tolerance = 1e-7) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

const settings: DriftSettings = { psiThreshold: 0.03, jensenShannonThreshold: 0.05, alpha: 0.005, minRows: 100 };

describe('populationStabilityIndex', () => {
  it('matches a hand-computed value', () => {
    // e = [.5, .3, .2], a = [.3, .3, .4]: (-.2)·ln(.6) + 0 + .2·ln(2) = .10216512 + .13862944
    close(populationStabilityIndex([50, 30, 20], [30, 30, 40]), 0.24079456);
  });

  it('clips empty bins at epsilon instead of dividing by zero', () => {
    // e' = [1, 1e-4], a = [.5, .5]: (-.5)·ln(.5) + (.4999)·ln(5000) = .34657359 + 4.25774486
    close(populationStabilityIndex([10, 0], [5, 5], 1e-4), 4.60431845, 1e-6);
  });

  it('is non-negative and symmetric (property)', () => {
    const counts = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 12 });
    fc.assert(
      fc.property(counts, counts, (a, b) => {
        const n = Math.min(a.length, b.length);
        const forward = populationStabilityIndex(a.slice(0, n), b.slice(0, n));
        assert.ok(forward >= -1e-12);
        close(forward, populationStabilityIndex(b.slice(0, n), a.slice(0, n)), 1e-9);
      }),
    );
  });
});

describe('jensenShannonDistance', () => {
  it('matches a hand-computed value', () => {
    // p = [.5, .5], q = [1, 0], m = [.75, .25]: KL(p‖m) = .20751875, KL(q‖m) = .41503750 bits, JSD = .31127812
    close(jensenShannonDistance([0.5, 0.5], [1, 0]), Math.sqrt(0.31127812), 1e-7);
  });

  it('is 0 for identical and 1 for disjoint distributions', () => {
    close(jensenShannonDistance([3, 1], [30, 10]), 0);
    close(jensenShannonDistance([1, 0, 0], [0, 2, 5]), 1);
  });
});

describe('chiSquareHomogeneity', () => {
  it('matches a hand-computed 2 × 3 table', () => {
    // Bin totals 80, 60, 60 of N = 200, rows of 100: E = 40, 30, 30 in each row.
    // X² = 2·(10²/40) + 0 + 2·(10²/30) = 5 + 6.6667 = 11.6667, df 2, p = exp(−X²/2) = 0.0029282
    const test = chiSquareHomogeneity([50, 30, 20], [30, 30, 40]);
    close(test.statistic, 35 / 3, 1e-12);
    assert.equal(test.degreesOfFreedom, 2);
    close(test.pValue, Math.exp(-35 / 6), 1e-12);
  });

  it('uses both sample sizes: the same proportions are stronger evidence with a bigger reference', () => {
    // 2 × 2: X² = N(ad − bc)² / (r₁ r₂ c₁ c₂) = 300 · 2000² / (200 · 100 · 140 · 160) = 2.6786
    const small = chiSquareHomogeneity([100, 100], [40, 60]);
    close(small.statistic, 1.2e9 / 4.48e8, 1e-12);
    // 20,100 · 200,000² / (20,000 · 100 · 10,040 · 10,060) = 3.9806
    const large = chiSquareHomogeneity([10_000, 10_000], [40, 60]);
    close(large.statistic, (20_100 * 200_000 ** 2) / (20_000 * 100 * 10_040 * 10_060), 1e-9);
    assert.ok(
      large.statistic > small.statistic,
      'a small reference adds its own noise: the same batch is weaker evidence against it',
    );
  });

  it('refuses a table it cannot test', () => {
    assert.throws(() => chiSquareHomogeneity([5, 0], [5, 0]), /two non-empty bins/);
    assert.throws(() => chiSquareHomogeneity([5, 5], [0, 0]), /both samples/);
  });
});

describe('pooling', () => {
  it('merges ordered neighbours until every expected count reaches the minimum (5 here), a short top joining the last group', () => {
    // n₁ = 303, n₂ = 31: a group needs a total of 5 · 334 / 31 = 53.9
    assert.deepEqual(poolOrderedBins([100, 100, 2, 1, 100], [10, 10, 0, 1, 10], 5), [[0], [1], [2, 3, 4]]);
    // 5 · 223 / 20 = 55.75: the last bin (3) is too small alone
    assert.deepEqual(poolOrderedBins([100, 100, 3], [10, 10, 0], 5), [[0], [1, 2]]);
  });

  it('pools rare categories, and the reference\'s "other", into one group; a short pool joins the smallest kept category', () => {
    // n₁ = 1000, n₂ = 100: need 55. a, b, c kept; d, e and other (index 5) pooled: 30 + 20 + 8 + 5 = 63 ≥ 55.
    assert.deepEqual(
      poolCategories([500, 300, 150, 20, 15, 5], [50, 30, 15, 10, 5, 3], {
        alwaysPooled: new Set([5]),
        minExpected: 5,
      }),
      { groups: [[0], [1], [2], [3, 4, 5]], pooledGroup: 3 },
    );
    // The pool (3 + 2 = 5) is too small: it joins c.
    assert.deepEqual(poolCategories([600, 300, 95, 3, 2], [60, 30, 10, 0, 0], { minExpected: 5 }), {
      groups: [[0], [1], [2, 3, 4]],
      pooledGroup: 2,
    });
  });

  it('leaves every group with an expected count of at least 5 in both samples (property)', () => {
    const counts = fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 300 })), {
      minLength: 2,
      maxLength: 40,
    });
    fc.assert(
      fc.property(counts, fc.boolean(), (pairs, ordered) => {
        const reference = pairs.map(([r]) => r);
        const batch = pairs.map(([, b]) => b);
        const n1 = reference.reduce((s, v) => s + v, 0);
        const n2 = batch.reduce((s, v) => s + v, 0);
        if (n1 === 0 || n2 === 0) return;
        const groups = ordered ? poolOrderedBins(reference, batch) : poolCategories(reference, batch).groups;
        assert.deepEqual(
          groups.flat().sort((a, b) => a - b),
          reference.map((_, k) => k).filter((k) => ordered || (reference[k] as number) + (batch[k] as number) > 0),
        );
        if (groups.length < 2) return;
        for (const group of groups) {
          const total = group.reduce((s, k) => s + (reference[k] as number) + (batch[k] as number), 0);
          assert.ok((Math.min(n1, n2) * total) / (n1 + n2) >= 5 - 1e-9, `group ${group} expected count below 5`);
        }
      }),
    );
  });
});

describe('multiple testing', () => {
  it('Holm matches a hand example', () => {
    // Sorted 0.005, 0.01, 0.03, 0.04 (m = 4) → 4·0.005 = 0.02, 3·0.01 = 0.03, 2·0.03 = 0.06, max(1·0.04, 0.06) = 0.06
    assert.deepEqual(
      holmAdjust([0.01, 0.04, 0.03, 0.005]).map((p) => Number(p.toFixed(12))),
      [0.03, 0.06, 0.06, 0.02],
    );
    assert.deepEqual(holmAdjust([0.5, 0.9]), [1, 1]);
    assert.deepEqual(holmAdjust([]), []);
  });

  it('Benjamini–Hochberg matches a hand example', () => {
    // 4·0.005/1 = 0.02, 4·0.01/2 = 0.02, 4·0.03/3 = 0.04, 4·0.04/4 = 0.04
    assert.deepEqual(
      benjaminiHochbergAdjust([0.01, 0.04, 0.03, 0.005]).map((p) => Number(p.toFixed(12))),
      [0.02, 0.04, 0.04, 0.02],
    );
  });

  it('adjusted p-values are monotone in p, at least p, and Holm is at least BH (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }), (p) => {
        const holm = holmAdjust(p);
        const bh = benjaminiHochbergAdjust(p);
        p.forEach((value, i) => {
          assert.ok((holm[i] as number) >= value && (holm[i] as number) <= 1);
          assert.ok((holm[i] as number) >= (bh[i] as number) - 1e-15);
          p.forEach((other, j) => {
            if (value < other) assert.ok((holm[i] as number) <= (holm[j] as number));
          });
        });
      }),
    );
  });
});

// ---- drift on statistics ----

function stats(columns: ColumnStatistics[], rowCount = columns[0]?.count ?? 0): DatasetStatistics {
  return { version: 1, rowCount, columnCount: columns.length, duplicateRowCount: 0, duplicateRowShare: 0, columns };
}

/** Counts on histogram bins as computeStatistics bins them: (edges[j], edges[j+1]], open at both ends. */
function binCounts(values: readonly number[], edges: readonly number[]): number[] {
  const interior = edges.slice(1, -1);
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const v of values) {
    let k = interior.findIndex((edge) => v <= edge);
    if (k < 0) k = counts.length - 1;
    counts[k] = (counts[k] as number) + 1;
  }
  return counts;
}

/** A numeric column's statistics with quantile bins at its own deciles (or `edges`), counted on `referenceBins` when given. */
function numericColumn(
  name: string,
  values: readonly number[],
  options: { referenceBins?: number[]; quantileBins?: boolean } = {},
): ColumnStatistics {
  const sorted = [...values].sort((a, b) => a - b);
  const min = sorted[0] as number;
  const max = sorted.at(-1) as number;
  const deciles = Array.from(
    { length: 9 },
    (_, j) => sorted[Math.floor(((j + 1) / 10) * (sorted.length - 1))] as number,
  );
  const cuts = [...new Set([min, ...deciles])].filter((v) => v < max);
  const edges = [min, ...cuts, max];
  const equalWidth = Array.from({ length: 21 }, (_, j) => min + ((max - min) * j) / 20);
  return {
    name,
    type: 'numeric',
    duckdbType: 'DOUBLE',
    count: values.length,
    missingCount: 0,
    missingFraction: 0,
    distinctCount: new Set(values).size,
    numeric: {
      min,
      max,
      mean: values.reduce((s, v) => s + v, 0) / values.length,
      std: 1,
      quantiles: [{ q: 0.5, value: sorted[Math.floor(sorted.length / 2)] as number }],
      nanCount: 0,
      infinityCount: 0,
      histogram: { edges: equalWidth, counts: binCounts(values, equalWidth) },
      ...(options.quantileBins === false ? {} : { quantileHistogram: { edges, counts: binCounts(values, edges) } }),
      ...(options.referenceBins
        ? {
            histogramOnReferenceBins: {
              edges: options.referenceBins,
              counts: binCounts(values, options.referenceBins),
            },
          }
        : {}),
    },
  };
}

function categoryColumn(name: string, values: readonly string[]): ColumnStatistics {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return categoricalStatistics(name, counts);
}

/** Reference and batch statistics of the same columns, the batch counted on the reference's bins (as checkDrift does). */
function compare(
  reference: { numbers?: Record<string, number[]>; categories?: Record<string, string[]> },
  batch: typeof reference,
  over: Partial<DriftSettings> = {},
) {
  const ref = stats([
    ...Object.entries(reference.numbers ?? {}).map(([name, v]) => numericColumn(name, v)),
    ...Object.entries(reference.categories ?? {}).map(([name, v]) => categoryColumn(name, v)),
  ]);
  const edges = referenceEdges(ref);
  const current = stats([
    ...Object.entries(batch.numbers ?? {}).map(([name, v]) =>
      numericColumn(name, v, edges[name] ? { referenceBins: edges[name] } : {}),
    ),
    ...Object.entries(batch.categories ?? {}).map(([name, v]) => categoryColumn(name, v)),
  ]);
  return compareDrift(ref, current, { ...settings, ...over });
}

const normal = (random: Random, mean = 0) =>
  mean + Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
const draw = <T>(n: number, f: () => T) => Array.from({ length: n }, f);
/** A category drawn from cumulative shares. */
const pick = (random: Random, names: readonly string[], cumulative: readonly number[]) => {
  const u = random();
  const k = cumulative.findIndex((c) => u < c);
  return names[k < 0 ? names.length - 1 : k] as string;
};

describe('compareDrift', () => {
  it("tests numbers on the reference's quantile bins, with the test, p-values and effect size in each row", () => {
    const random = createSeededRandom(1);
    const result = compare(
      { numbers: { x: draw(5000, () => normal(random)) } },
      { numbers: { x: draw(1000, () => normal(random, 1)) } },
    );
    assert.equal(result.outcome, 'judged');
    const [x] = result.columns;
    assert.equal(x?.test, 'chi-square');
    assert.equal(x?.binning, 'quantile');
    assert.equal(x?.bins, 10);
    assert.equal(x?.degreesOfFreedom, 9);
    assert.equal(x?.metric, 'psi');
    assert.ok((x?.pValue as number) < 1e-12 && x?.adjustedPValue === x?.pValue, 'one column: Holm changes nothing');
    assert.ok((x?.value as number) > 0.5 && (x?.value as number) < (x?.observedValue as number));
    assert.equal(x?.drifted, true);
    assert.match(x?.summary ?? '', /^mean -?0\.\d+ → 0\.9\d*|^mean -?0\.\d+ → 1\.0\d*/);
  });

  it('falls back to the equal-width histogram of statistics written before quantile bins', () => {
    const random = createSeededRandom(2);
    const old = numericColumn(
      'x',
      draw(5000, () => normal(random)),
      { quantileBins: false },
    );
    const reparsed = DatasetStatisticsSchema.parse(JSON.parse(JSON.stringify(stats([old]))));
    const edges = referenceEdges(reparsed);
    assert.equal(edges.x?.length, 21);
    const batch = stats([
      numericColumn(
        'x',
        draw(200, () => normal(random)),
        { referenceBins: edges.x as number[] },
      ),
    ]);
    const [x] = compareDrift(reparsed, batch, settings).columns;
    assert.equal(x?.binning, 'equal-width');
    assert.ok((x?.bins as number) < 20, 'sparse tail bins pooled');
    assert.equal(x?.drifted, false);
  });

  it('pools categories: rare and unseen values share "other", and a new value taking over is drift', () => {
    const reference = categoricalStatistics('c', { a: 500, b: 400, c: 95, d: 5 });
    const batch = categoricalStatistics('c', { a: 40, b: 30, new: 130 });
    const [c] = compareDrift(stats([reference]), stats([batch]), settings).columns;
    assert.equal(c?.binning, 'categories');
    assert.equal(c?.bins, 4, 'a, b, c, and other (d, new): c has 95 of the 30 a category needs at 1,000 vs 200 rows');
    assert.equal(c?.metric, 'jensen-shannon');
    assert.equal(c?.drifted, true);
    assert.match(c?.summary ?? '', /^\(other values\) 0\.5% → 65%/);
  });

  it('corrects across columns with Holm', () => {
    const random = createSeededRandom(3);
    const result = compare(
      { numbers: { x: draw(4000, () => normal(random)), y: draw(4000, () => normal(random)) } },
      { numbers: { x: draw(300, () => normal(random, 0.3)), y: draw(300, () => normal(random)) } },
    );
    const [x, y] = result.columns;
    assert.deepEqual([x?.adjustedPValue, y?.adjustedPValue], holmAdjust([x?.pValue as number, y?.pValue as number]));
    assert.ok((x?.adjustedPValue as number) > (x?.pValue as number), 'two columns: the smaller p-value is doubled');
  });

  it('a significant but tiny shift stays under the floor', () => {
    const random = createSeededRandom(4);
    // 0.05σ on 200,000 rows: p ≈ 0 but PSI ≈ 0.0025
    const result = compare(
      { numbers: { x: draw(200_000, () => normal(random)) } },
      { numbers: { x: draw(200_000, () => normal(random, 0.05)) } },
    );
    const [x] = result.columns;
    assert.ok((x?.adjustedPValue as number) < settings.alpha);
    assert.ok((x?.value as number) < settings.psiThreshold);
    assert.equal(x?.drifted, false);
  });

  it('says "too few rows" below minRows, with no column judged', () => {
    const random = createSeededRandom(5);
    const result = compare(
      { numbers: { x: draw(2000, () => normal(random)) } },
      { numbers: { x: draw(99, () => normal(random, 3)) } },
    );
    assert.equal(result.outcome, 'too-few-rows');
    assert.deepEqual(result.columns, []);
    assert.match(
      result.note ?? '',
      /too few rows to judge drift: the batch has 99 rows, fewer than validation\.drift\.minRows \(100\)/,
    );
  });

  it('detects a large shift in numbers and in categories at 1,000 rows (property, random seeds)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const random = createSeededRandom(seed);
        const names = ['a', 'b', 'c', 'd'];
        const before = [0.2, 0.5, 0.8, 1];
        const after = [0.4, 0.6, 0.85, 1]; // a: 20% → 40%
        const result = compare(
          {
            numbers: { x: draw(5000, () => normal(random)) },
            categories: { c: draw(5000, () => pick(random, names, before)) },
          },
          {
            numbers: { x: draw(1000, () => normal(random, 0.5)) },
            categories: { c: draw(1000, () => pick(random, names, after)) },
          },
        );
        assert.deepEqual(
          result.columns.map((d) => [d.column, d.drifted]),
          [
            ['x', true],
            ['c', true],
          ],
        );
      }),
      { numRuns: 30 },
    );
  });

  it('under no change, rejects at most alpha of the time, at any batch size (random draws and seeds)', () => {
    // Two samples of one distribution (continuous, tied integers, or categories with rare ones), many
    // random draws: the per-column rejection rate at alpha 0.05 must not be significantly above 0.05.
    const trials = 600;
    const alpha = 0.05;
    const seeds = fc.sample(fc.integer(), trials);
    let rejections = 0;
    seeds.forEach((seed, trial) => {
      const random = createSeededRandom(seed);
      const referenceRows = 500 + Math.floor(random() * 5000);
      const batchRows = 100 + Math.floor(random() * 2000);
      const kind = trial % 3;
      let result;
      if (kind === 0) {
        const value = () => Math.exp(normal(random)); // heavy right tail
        result = compare(
          { numbers: { x: draw(referenceRows, value) } },
          { numbers: { x: draw(batchRows, value) } },
          { alpha },
        );
      } else if (kind === 1) {
        const value = () => Math.floor(-Math.log(random()) * 2); // geometric-ish integers: heavy ties at 0
        result = compare(
          { numbers: { x: draw(referenceRows, value) } },
          { numbers: { x: draw(batchRows, value) } },
          { alpha },
        );
      } else {
        const k = 2 + Math.floor(random() * 60);
        const weights = draw(k, () => random() ** 3); // many rare categories
        const total = weights.reduce((s, w) => s + w, 0);
        let running = 0;
        const cumulative = weights.map((w) => (running += w / total));
        const names = weights.map((_, i) => `v${i}`);
        result = compare(
          { categories: { c: draw(referenceRows, () => pick(random, names, cumulative)) } },
          { categories: { c: draw(batchRows, () => pick(random, names, cumulative)) } },
          { alpha },
        );
      }
      const [column] = result.columns;
      if (column && column.adjustedPValue < alpha) rejections += 1;
    });
    // One-sided: P(X ≥ rejections | Binomial(trials, 0.05)) below 0.001 would mean the test is anti-conservative.
    const tail = binomialUpperTail(rejections, trials, alpha);
    if (process.env.DRIFT_TEST_VERBOSE) console.log(`${rejections} of ${trials} rejected at alpha ${alpha}`);
    assert.ok(
      tail > 0.001,
      `${rejections} of ${trials} rejected at alpha ${alpha} (upper tail ${tail}); seeds ${seeds.slice(0, 5).join(', ')}…`,
    );
  });
});
