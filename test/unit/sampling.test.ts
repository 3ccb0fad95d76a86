import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { quoteIdentifier } from '../../lib/data/identifiers';
import {
  balancedClassWeights,
  copiesOfRow,
  oversampleFloor,
  planClassTargets,
  undersampleCap,
} from '../../lib/data/rebalance';
import { Reservoir, reservoirSample } from '../../lib/data/reservoir';
import { sampleTrainRows, type SamplingSettings } from '../../lib/data/sampling';
import { createSeededRandom } from '../../lib/data/seeded-random';
import { splitRows, type SplitOutcome } from '../../lib/data/split';
import { createTableFromRows, type TestRow } from '../support/duckdb-rows';

const bump = (counts: number[], index: number) => {
  counts[index] = (counts[index] ?? 0) + 1;
};

/** Pearson's chi-square statistic of observed counts against equal expected counts. */
function chiSquare(observed: number[], expected: number): number {
  return observed.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
}

// Upper 0.1% points of the chi-square distribution (tables): a fair sampler fails one run in a thousand.
const CHI_SQUARE_999 = { 9: 27.877, 19: 43.82, 49: 85.351 } as const;

describe('seeded random', () => {
  it('repeats its sequence for a seed, differs across seeds, stays in (0, 1)', () => {
    const a = createSeededRandom(42);
    const b = createSeededRandom(42);
    const c = createSeededRandom(43);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      Array.from({ length: 1000 }, () => b()),
      xs,
    );
    assert.notDeepEqual(
      Array.from({ length: 1000 }, () => c()),
      xs,
    );
    assert.ok(xs.every((x) => x > 0 && x < 1));
  });

  it('is uniform: 100 000 draws over 50 bins pass chi-square at 0.1%', () => {
    const random = createSeededRandom(7);
    const bins = new Array<number>(50).fill(0);
    for (let i = 0; i < 100_000; i += 1) bump(bins, Math.floor(random() * 50));
    assert.ok(chiSquare(bins, 2000) < CHI_SQUARE_999[49], `chi-square ${chiSquare(bins, 2000)}`);
  });
});

describe('reservoir sampling (Algorithm L)', () => {
  it('returns min(k, n) distinct items of the stream', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 60 }), fc.integer(), (n, k, seed) => {
        const items = Array.from({ length: n }, (_, i) => i);
        const sample = reservoirSample(items, k, createSeededRandom(seed));
        assert.equal(sample.length, Math.min(n, k));
        assert.equal(new Set(sample).size, sample.length);
        assert.ok(sample.every((s) => s >= 0 && s < n));
      }),
    );
  });

  it('gives every item the same inclusion probability k/n (chi-square, 20 items, k = 5, 20 000 runs)', () => {
    const random = createSeededRandom(2024);
    const counts = new Array<number>(20).fill(0);
    const items = Array.from({ length: 20 }, (_, i) => i);
    for (let run = 0; run < 20_000; run += 1) for (const item of reservoirSample(items, 5, random)) bump(counts, item);
    const statistic = chiSquare(counts, (20_000 * 5) / 20);
    assert.ok(
      statistic < CHI_SQUARE_999[19],
      `chi-square ${statistic.toFixed(1)} ≥ ${CHI_SQUARE_999[19]}: counts ${counts.join(' ')}`,
    );
  });

  it('skips fairly on long streams: inclusions spread evenly over 10 position bins (n = 10 000, k = 10)', () => {
    const random = createSeededRandom(99);
    const bins = new Array<number>(10).fill(0);
    for (let run = 0; run < 3000; run += 1) {
      const reservoir = new Reservoir<number>(10, random);
      for (let i = 0; i < 10_000; i += 1) reservoir.offer(i);
      for (const item of reservoir.sample()) bump(bins, Math.floor(item / 1000));
    }
    const statistic = chiSquare(bins, 3000);
    assert.ok(statistic < CHI_SQUARE_999[9], `chi-square ${statistic.toFixed(1)}: bins ${bins.join(' ')}`);
  });

  it('the same seed gives the same sample, fed in one piece or in chunks', () => {
    const items = Array.from({ length: 5000 }, (_, i) => i);
    const whole = reservoirSample(items, 50, createSeededRandom(5));
    const chunked = new Reservoir<number>(50, createSeededRandom(5));
    for (let i = 0; i < items.length; i += 2048) chunked.offerAll(items.slice(i, i + 2048));
    assert.deepEqual(chunked.sample(), whole);
    assert.equal(chunked.itemsSeen, 5000);
  });
});

describe('class rebalancing arithmetic (pure)', () => {
  it('hand-computed targets: 100 vs 10 at ratio 0.5', () => {
    assert.deepEqual(planClassTargets({ a: 100, b: 10 }, 'undersample', 0.5), { a: 20, b: 10 });
    assert.deepEqual(planClassTargets({ a: 100, b: 10 }, 'oversample', 0.5), { a: 100, b: 50 });
    assert.deepEqual(planClassTargets({ a: 100, b: 10, c: 30 }, 'undersample', 1), { a: 10, b: 10, c: 10 });
    assert.deepEqual(planClassTargets({ a: 100, b: 10, c: 30 }, 'oversample', 1), { a: 100, b: 100, c: 100 });
    assert.equal(undersampleCap({ a: 7, b: 3 }, 0.4), 7);
    assert.equal(oversampleFloor({ a: 7, b: 3 }, 0.4), 3);
  });

  it('afterwards minority / majority ≥ targetRatio (up to one row of rounding); under never adds, over never removes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 2, maxLength: 6 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (sizes, ratio) => {
          const counts = Object.fromEntries(sizes.map((n, i) => [`c${i}`, n]));
          const under = planClassTargets(counts, 'undersample', ratio);
          const over = planClassTargets(counts, 'oversample', ratio);
          for (const [name, n] of Object.entries(counts)) {
            assert.ok((under[name] as number) <= n);
            assert.ok((over[name] as number) >= n);
          }
          // under: min stays, max becomes ≤ floor(min / ratio); over: min becomes ≥ ceil(max × ratio)
          const ratioOf = (t: Record<string, number>) => Math.min(...Object.values(t)) / Math.max(...Object.values(t));
          assert.ok(ratioOf(under) >= ratio * (1 - 1e-9), `under: ${ratioOf(under)} < ${ratio}`);
          assert.ok(ratioOf(over) >= ratio * (1 - 1e-9), `over: ${ratioOf(over)} < ${ratio}`);
        },
      ),
    );
  });

  it('whole copies add up to the target', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 5000 }), (n, extra) => {
        const target = n + extra;
        let total = 0;
        for (let rank = 0; rank < n; rank += 1) total += copiesOfRow(rank, n, target);
        assert.equal(total, target);
      }),
    );
  });

  it('balanced weights are n / (k · n_c): 75 / 25 → 2/3 and 2, and every class carries n / k', () => {
    const weights = balancedClassWeights({ a: 75, b: 25 });
    assert.ok(Math.abs((weights.a as number) - 2 / 3) < 1e-12);
    assert.equal(weights.b, 2);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 8 }), (sizes) => {
        const counts = Object.fromEntries(sizes.map((n, i) => [`c${i}`, n]));
        const w = balancedClassWeights(counts);
        const total = sizes.reduce((a, b) => a + b, 0);
        sizes.forEach((n, i) => assert.ok(Math.abs(n * (w[`c${i}`] as number) - total / sizes.length) < 1e-6));
      }),
    );
  });
});

describe('sampleTrainRows in DuckDB', () => {
  let session: DuckDbSession;
  let split: SplitOutcome;
  let loaded: Awaited<ReturnType<typeof createTableFromRows>>;
  const columns = [
    { name: 'id', type: 'DOUBLE' as const },
    { name: 'w', type: 'DOUBLE' as const },
    { name: 'label', type: 'VARCHAR' as const },
  ];
  // 2000 rows: class "major" 1800, "minor" 200; weight 0 for ids divisible by 10, else 1 or 9
  const rows = Array.from({ length: 2000 }, (_, i): TestRow => [
    i,
    i % 10 === 0 ? 0 : i % 2 === 0 ? 9 : 1,
    i % 10 === 3 ? 'minor' : 'major',
  ]);

  before(async () => {
    session = await openDuckDb({ threads: 2 });
    loaded = await createTableFromRows(session, 'source', columns, rows);
    split = await splitRows(session, {
      table: loaded.table,
      columns: loaded.columns,
      labelColumn: 'label',
      strategy: 'stratified',
      fractions: { train: 0.7, validation: 0.15, test: 0.15 },
      seed: 1,
    });
  });
  after(async () => {
    await session?.close();
  });

  const settings = (s: Partial<SamplingSettings>): SamplingSettings => ({ strategy: 'none', targetRatio: 1, ...s });
  const sample = (s: Partial<SamplingSettings>, seed = 11, taskType: 'binary' | 'regression' = 'binary') =>
    sampleTrainRows(session, {
      split,
      columns: loaded.columns,
      labelColumn: 'label',
      taskType,
      sampling: settings(s),
      seed,
    });
  const perClass = async (table: string) =>
    Object.fromEntries(
      (await session.all<{ label: string; n: number }>(`SELECT label, count(*) AS n FROM ${table} GROUP BY 1`)).map(
        (r) => [r.label, r.n],
      ),
    );
  const ids = async (table: string) =>
    (await session.all<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id);

  it('train has 1260 major and 140 minor rows before sampling', async () => {
    const none = await sample({});
    assert.equal(none.rowsBefore, 1400);
    assert.deepEqual(none.classCountsBefore, { major: 1260, minor: 140 });
    assert.deepEqual(await perClass(none.table), { major: 1260, minor: 140 });
  });

  it('undersamples and oversamples to exactly the planned class counts', async () => {
    for (const [strategy, ratio] of [
      ['undersample', 0.5],
      ['undersample', 1],
      ['oversample', 0.5],
      ['oversample', 1],
      ['oversample', 0.3],
    ] as const) {
      const result = await sample({ strategy, targetRatio: ratio });
      assert.deepEqual(
        await perClass(result.table),
        planClassTargets({ major: 1260, minor: 140 }, strategy, ratio),
        `${strategy} ${ratio}`,
      );
    }
  });

  it('oversampling repeats rows whole: every minor row appears floor or ceil of target / n times', async () => {
    const result = await sample({ strategy: 'oversample', targetRatio: 0.5 }); // minor 140 → 630: 4 or 5 copies each
    const copies = await session.all<{ c: number; n: number }>(
      `SELECT c, count(*) AS n FROM (SELECT id, count(*) AS c FROM ${result.table} WHERE label = 'minor' GROUP BY id) GROUP BY c ORDER BY c`,
    );
    assert.deepEqual(copies, [
      { c: 4, n: 140 - (630 % 140) },
      { c: 5, n: 630 % 140 },
    ]);
  });

  it('uniform keeps exactly n (or round(fraction × rows)) and stratified keeps round(fraction × n_c) per class', async () => {
    assert.equal((await sample({ strategy: 'uniform', n: 333 })).rowsAfter, 333);
    assert.equal((await sample({ strategy: 'uniform', fraction: 0.25 })).rowsAfter, 350);
    const stratified = await sample({ strategy: 'stratified', fraction: 0.1 });
    assert.deepEqual(await perClass(stratified.table), { major: 126, minor: 14 });
  });

  it('weighted sampling never picks a zero weight and favours heavy rows', async () => {
    const result = await sample({ strategy: 'weighted', weightColumn: 'w', n: 300 });
    const weights = await session.all<{ w: number; n: number }>(
      `SELECT w, count(*) AS n FROM ${result.table} GROUP BY w ORDER BY w`,
    );
    assert.equal(result.rowsAfter, 300);
    assert.ok(!weights.some((r) => r.w === 0), 'a zero-weight row was sampled');
    const heavy = weights.find((r) => r.w === 9)?.n ?? 0;
    const light = weights.find((r) => r.w === 1)?.n ?? 0;
    assert.ok(heavy > 3 * light, `heavy ${heavy} vs light ${light}`);
  });

  it('reservoir keeps exactly k rows, the same ones for the same seed and others for another', async () => {
    const a = await ids((await sample({ strategy: 'reservoir', n: 100 }, 5)).table);
    const b = await ids((await sample({ strategy: 'reservoir', n: 100 }, 5)).table);
    const c = await ids((await sample({ strategy: 'reservoir', n: 100 }, 6)).table);
    assert.equal(a.length, 100);
    assert.deepEqual(b, a);
    assert.notDeepEqual(c, a);
  });

  it('every strategy is deterministic for a seed', async () => {
    for (const strategy of ['uniform', 'stratified', 'weighted', 'undersample', 'oversample'] as const) {
      const s = { strategy, fraction: 0.3, weightColumn: 'w', targetRatio: 0.5 };
      assert.deepEqual(await ids((await sample(s, 21)).table), await ids((await sample(s, 21)).table), strategy);
    }
  });

  it('class weights resample nothing and hand balanced weights to training', async () => {
    const result = await sample({ strategy: 'class-weights' });
    assert.equal(result.rowsAfter, 1400);
    assert.deepEqual(result.classWeights, { major: 1400 / (2 * 1260), minor: 1400 / (2 * 140) });
  });

  it('never touches validation or test', async () => {
    const before = await session.all(
      `SELECT ${split.splitColumn} AS s, count(*) AS n FROM ${split.table} GROUP BY 1 ORDER BY 1`,
    );
    await sample({ strategy: 'oversample', targetRatio: 1 });
    await sample({ strategy: 'undersample', targetRatio: 1 });
    const after = await session.all(
      `SELECT ${split.splitColumn} AS s, count(*) AS n FROM ${split.table} GROUP BY 1 ORDER BY 1`,
    );
    assert.deepEqual(after, before);
  });

  it('refuses class strategies for regression and sizes it cannot resolve, naming the field', async () => {
    const expectFailure = async (promise: Promise<unknown>, path: string) =>
      assert.rejects(promise, (error: Error & { type?: string; details?: { path: string }[] }) => {
        assert.equal(error.type, 'InvalidPipelineConfig');
        assert.equal(error.details?.[0]?.path, path);
        return true;
      });
    await expectFailure(sample({ strategy: 'undersample' }, 1, 'regression'), 'sampling.strategy');
    await expectFailure(sample({ strategy: 'uniform' }), 'sampling.n');
    await expectFailure(sample({ strategy: 'weighted', n: 5 }), 'sampling.weightColumn');
    await expectFailure(sample({ strategy: 'weighted', n: 5, weightColumn: 'label' }), 'sampling.weightColumn');
  });

  it('internal column names never clash with data columns named like them', async () => {
    const clash = await createTableFromRows(
      session,
      'clash',
      [
        { name: '__trainyard_copy', type: 'DOUBLE' },
        { name: '__trainyard_sample_hash', type: 'DOUBLE' },
        { name: '__trainyard_class_rows', type: 'DOUBLE' },
        { name: 'label', type: 'VARCHAR' },
      ],
      Array.from({ length: 300 }, (_, i): TestRow => [i, -1, -2, i % 5 === 0 ? 'b' : 'a']),
    );
    const clashSplit = await splitRows(session, {
      table: clash.table,
      columns: clash.columns,
      labelColumn: 'label',
      strategy: 'random',
      fractions: { train: 1, validation: 0, test: 0 },
      seed: 1,
    });
    const result = await sampleTrainRows(session, {
      split: clashSplit,
      columns: clash.columns,
      labelColumn: 'label',
      taskType: 'binary',
      sampling: settings({ strategy: 'oversample' }),
      seed: 1,
    });
    assert.equal(result.rowsAfter, 480);
    const kept = await session.all<{ v: number }>(
      `SELECT DISTINCT ${quoteIdentifier('__trainyard_sample_hash')} AS v FROM ${result.table}`,
    );
    assert.deepEqual(kept, [{ v: -1 }]);
  });
});
