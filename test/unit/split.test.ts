import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { quoteIdentifier } from '../../lib/data/identifiers';
import { splitRows, type SplitOutcome, type SplitRequest } from '../../lib/data/split';
import {
  resolveSplitStrategy,
  splitForDraw,
  stratumCounts,
  stratumCutoffs,
  timeQuantiles,
  type SplitFractions,
} from '../../lib/data/split-plan';
import { createTableFromRows, type TestColumnType, type TestRow } from '../support/duckdb-rows';

const FRACTIONS: SplitFractions = { train: 0.7, validation: 0.15, test: 0.15 };

describe('split arithmetic (pure)', () => {
  it('auto picks time when a time column is declared, stratified for classification, random for regression', () => {
    assert.equal(resolveSplitStrategy('auto', { taskType: 'binary', timeColumn: 'date' }), 'time');
    assert.equal(resolveSplitStrategy('auto', { taskType: 'regression', timeColumn: 'date' }), 'time');
    assert.equal(resolveSplitStrategy('auto', { taskType: 'multiclass' }), 'stratified');
    assert.equal(resolveSplitStrategy('auto', { taskType: 'binary' }), 'stratified');
    assert.equal(resolveSplitStrategy('auto', { taskType: 'regression' }), 'random');
    assert.equal(resolveSplitStrategy('random', { taskType: 'binary', timeColumn: 'date' }), 'random');
  });

  it('a stratum of 10 at 0.7/0.15/0.15 is cut 7/2/1 (cumulative bounds 7 and round(8.5) = 9)', () => {
    assert.deepEqual(stratumCutoffs(10, FRACTIONS), { trainEnd: 7, validationEnd: 9 });
    assert.deepEqual(stratumCounts(10, FRACTIONS), { train: 7, validation: 2, test: 1 });
    assert.deepEqual(stratumCounts(1, FRACTIONS), { train: 1, validation: 0, test: 0 });
    assert.deepEqual(stratumCounts(100, { train: 0.8, validation: 0, test: 0.2 }), {
      train: 80,
      validation: 0,
      test: 20,
    });
  });

  it('stratum counts sum to n and each is within one row of its exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (n, a, b) => {
          const train = Math.min(a, 100) / 100;
          const validation = Math.min(b, 100 - a) / 100;
          const fractions = { train, validation, test: 1 - train - validation };
          const counts = stratumCounts(n, fractions);
          assert.equal(counts.train + counts.validation + counts.test, n);
          for (const s of ['train', 'validation', 'test'] as const) {
            assert.ok(counts[s] >= 0);
            assert.ok(Math.abs(counts[s] - n * fractions[s]) <= 1 + 1e-9, `${s}: ${counts[s]} vs ${n * fractions[s]}`);
          }
        },
      ),
    );
  });

  it('a uniform draw lands by cumulative bounds; time quantiles are those bounds', () => {
    assert.equal(splitForDraw(0, FRACTIONS), 'train');
    assert.equal(splitForDraw(0.6999, FRACTIONS), 'train');
    assert.equal(splitForDraw(0.7, FRACTIONS), 'validation');
    assert.equal(splitForDraw(0.8499, FRACTIONS), 'validation');
    assert.equal(splitForDraw(0.85, FRACTIONS), 'test');
    assert.deepEqual(timeQuantiles(FRACTIONS), { validationStart: 0.7, testStart: 0.85 });
  });
});

describe('splitRows in DuckDB', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb({ threads: 2 });
  });
  after(async () => {
    await session?.close();
  });

  const COLUMNS: { name: string; type: TestColumnType }[] = [
    { name: 'id', type: 'DOUBLE' },
    { name: 'x', type: 'DOUBLE' },
    { name: 'label', type: 'VARCHAR' },
    { name: 'day', type: 'DATE' },
  ];

  async function load(rows: TestRow[], table = 'source', columns = COLUMNS) {
    return createTableFromRows(session, table, columns, rows);
  }

  async function split(
    loaded: Awaited<ReturnType<typeof load>>,
    options: Partial<SplitRequest> = {},
  ): Promise<SplitOutcome> {
    return splitRows(session, {
      table: loaded.table,
      columns: loaded.columns,
      labelColumn: 'label',
      strategy: 'random',
      fractions: FRACTIONS,
      seed: 7,
      ...options,
    });
  }

  /** Row identity (its id) → split, read back from the split table. */
  async function membership(outcome: SplitOutcome, idColumn = 'id'): Promise<Map<string, string>> {
    const rows = await session.all<{ id: unknown; split: string }>(
      `SELECT ${quoteIdentifier(idColumn)} AS id, ${outcome.splitColumn} AS split FROM ${outcome.table}`,
    );
    return new Map(rows.map((r) => [String(r.id), r.split]));
  }

  const rowsArbitrary = fc
    .uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 120 })
    .chain((ids) =>
      fc.tuple(
        fc.constant(ids),
        fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: ids.length, maxLength: ids.length }),
        fc.array(fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: null }), {
          minLength: ids.length,
          maxLength: ids.length,
        }),
      ),
    )
    .map(([ids, labels, xs]) => ids.map((id, i): TestRow => [id, xs[i] ?? null, labels[i] ?? 'a', (id % 365) + 15000]));

  it('membership is stable under re-run and row reordering (random and stratified)', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArbitrary,
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom('random' as const, 'stratified' as const),
        async (rows, seed, strategy) => {
          const first = await membership(await split(await load(rows), { seed, strategy }));
          const again = await membership(await split(await load(rows), { seed, strategy }));
          const shuffled = [...rows].reverse();
          shuffled.push(...shuffled.splice(0, Math.floor(shuffled.length / 3)));
          const reordered = await membership(await split(await load(shuffled), { seed, strategy }));
          assert.deepEqual([...again.entries()].sort(), [...first.entries()].sort());
          assert.deepEqual([...reordered.entries()].sort(), [...first.entries()].sort());
        },
      ),
      { numRuns: 25 },
    );
  });

  it('random membership depends only on (seed, key): adding rows moves none of the existing ones', async () => {
    const rows = Array.from({ length: 400 }, (_, i): TestRow => [i, i * 0.5, i % 3 === 0 ? 'a' : 'b', 15000 + i]);
    const before = await membership(await split(await load(rows)));
    const more = [...rows, ...Array.from({ length: 300 }, (_, i): TestRow => [1000 + i, 1, 'a', 15000])];
    const afterAdding = await membership(await split(await load(more)));
    for (const [id, s] of before) assert.equal(afterAdding.get(id), s, `row ${id} moved`);
    // and the key columns alone decide: changing a non-key value keeps the row where it was
    const changed = rows.map((r): TestRow => [r[0] as number, 99, r[2] as string, r[3] as number]);
    const byKey = await membership(await split(await load(changed), { keyColumns: ['id'] }));
    const byKeyOriginal = await membership(await split(await load(rows), { keyColumns: ['id'] }));
    assert.deepEqual([...byKey.entries()].sort(), [...byKeyOriginal.entries()].sort());
  });

  it('another seed gives another membership', async () => {
    const rows = Array.from({ length: 300 }, (_, i): TestRow => [i, i, 'a', 15000]);
    const a = await membership(await split(await load(rows), { seed: 1 }));
    const b = await membership(await split(await load(rows), { seed: 2 }));
    const differing = [...a].filter(([id, s]) => b.get(id) !== s).length;
    assert.ok(differing > 50, `only ${differing} of 300 rows changed split with the seed`);
  });

  it('random split proportions are within 5 standard deviations of the fractions', async () => {
    const n = 20_000;
    const rows = Array.from({ length: n }, (_, i): TestRow => [i, i % 17, 'a', 15000]);
    const outcome = await split(await load(rows));
    for (const s of ['train', 'validation', 'test'] as const) {
      const p = FRACTIONS[s];
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(outcome.rows[s] - n * p) < 5 * sd, `${s}: ${outcome.rows[s]} rows, expected ≈ ${n * p}`);
    }
  });

  it('stratified splits hold each stratum to stratumCounts exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        async (sizes, seed) => {
          const rows: TestRow[] = [];
          sizes.forEach((size, c) => {
            for (let i = 0; i < size; i += 1) rows.push([rows.length, i, `class-${c}`, 15000]);
          });
          const outcome = await split(await load(rows), { strategy: 'stratified', seed });
          const counts = await session.all<{ label: string; split: string; n: number }>(
            `SELECT label, ${outcome.splitColumn} AS split, count(*) AS n FROM ${outcome.table} GROUP BY ALL`,
          );
          sizes.forEach((size, c) => {
            const expected = stratumCounts(size, FRACTIONS);
            for (const s of ['train', 'validation', 'test'] as const) {
              const got = counts.find((r) => r.label === `class-${c}` && r.split === s)?.n ?? 0;
              assert.equal(got, expected[s], `class-${c} (${size} rows) ${s}`);
            }
          });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('stratifies by any column, not only the label', async () => {
    const rows = Array.from({ length: 200 }, (_, i): TestRow => [i, i < 40 ? 1 : 0, i % 2 === 0 ? 'a' : 'b', 15000]);
    const outcome = await split(await load(rows), { strategy: 'stratified', stratifyBy: 'x' });
    const counts = await session.all<{ x: number; n: number }>(
      `SELECT x, count(*) AS n FROM ${outcome.table} WHERE ${outcome.splitColumn} = 'train' GROUP BY x ORDER BY x`,
    );
    assert.deepEqual(
      counts.map((c) => c.n),
      [stratumCounts(160, FRACTIONS).train, stratumCounts(40, FRACTIONS).train],
    );
    assert.equal(outcome.stratifyBy, 'x');
  });

  it('removes exact duplicates before splitting, so no row sits in two splits; drops rows without a label', async () => {
    const base = Array.from({ length: 500 }, (_, i): TestRow => [i, i % 7, i % 4 === 0 ? 'a' : 'b', 15000 + (i % 30)]);
    const planted = [...base, ...base.slice(0, 60), ...base.slice(0, 10), [9999, 1, null, 15000] as TestRow];
    for (const strategy of ['random', 'stratified', 'time'] as const) {
      const outcome = await split(await load(planted), { strategy, timeColumn: 'day' });
      assert.equal(outcome.inputRows, 571);
      assert.equal(outcome.duplicateRows, 70);
      assert.equal(outcome.missingLabelRows, 1);
      const kept = await session.all<{ n: number; d: number }>(
        `SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${outcome.table}`,
      );
      assert.equal(kept[0]?.n, 500);
      assert.equal(kept[0]?.d, 500, `${strategy}: a row appears twice`);
      assert.equal(outcome.rows.train + outcome.rows.validation + outcome.rows.test, 500);
    }
  });

  it('time split: train < validationStart ≤ validation < testStart ≤ test, from quantiles by default', async () => {
    const rows = Array.from({ length: 1000 }, (_, i): TestRow => [
      i,
      i,
      i % 2 === 0 ? 'a' : 'b',
      15000 + Math.floor(i / 3),
    ]);
    rows.push([5000, 1, 'a', null]);
    const outcome = await split(await load(rows), { strategy: 'time', timeColumn: 'day' });
    assert.equal(outcome.missingTimeRows, 1);
    const ranges = await session.all<{ split: string; lo: number; hi: number }>(
      `SELECT ${outcome.splitColumn} AS split, min(epoch(day)) AS lo, max(epoch(day)) AS hi FROM ${outcome.table} GROUP BY 1`,
    );
    const range = (s: string) => ranges.find((r) => r.split === s) as { lo: number; hi: number };
    const { validationStart, testStart } = outcome.time as { validationStart: number; testStart: number };
    assert.ok(range('train').hi < validationStart);
    assert.ok(range('validation').lo >= validationStart && range('validation').hi < testStart);
    assert.ok(range('test').lo >= testStart);
    assert.equal(outcome.time?.source, 'quantiles');
    // 1000 rows, three per day: the cut days hold ~70% and ~85% of rows before them
    assert.ok(
      Math.abs(outcome.rows.train - 700) <= 3 && Math.abs(outcome.rows.train + outcome.rows.validation - 850) <= 3,
      JSON.stringify(outcome.rows),
    );
  });

  it('time split from configured ISO boundaries', async () => {
    // day 15000 is 2011-01-26; rows on days 15000..15099
    const rows = Array.from({ length: 100 }, (_, i): TestRow => [i, i, 'a', 15000 + i]);
    const outcome = await split(await load(rows), {
      strategy: 'time',
      timeColumn: 'day',
      validationStart: '2011-03-01',
      testStart: '2011-04-01',
    });
    const march1 = Date.UTC(2011, 2, 1) / 86_400_000 - 15000;
    const april1 = Date.UTC(2011, 3, 1) / 86_400_000 - 15000;
    assert.deepEqual(outcome.rows, { train: march1, validation: april1 - march1, test: 100 - april1 });
    assert.equal(outcome.time?.validationStart, Date.UTC(2011, 2, 1) / 1000);
  });

  it('refuses unusable configuration with InvalidPipelineConfig naming the field', async () => {
    const loaded = await load([[1, 1, 'a', 15000]]);
    const expectFailure = async (options: Partial<SplitRequest>, path: string) =>
      assert.rejects(split(loaded, options), (error: Error & { type?: string; details?: unknown[] }) => {
        assert.equal(error.type, 'InvalidPipelineConfig');
        assert.equal((error.details?.[0] as { path: string }).path, path);
        return true;
      });
    await expectFailure({ strategy: 'stratified', stratifyBy: 'nope' }, 'split.stratifyBy');
    await expectFailure({ keyColumns: ['id', 'nope'] }, 'split.keyColumns.1');
    await expectFailure({ strategy: 'time' }, 'split.timeColumn');
    await expectFailure(
      { strategy: 'time', timeColumn: 'day', validationStart: 'not a date', testStart: '2020-01-01' },
      'split.validationStart',
    );
    await expectFailure(
      { strategy: 'time', timeColumn: 'day', validationStart: '2020-01-01' },
      'split.validationStart',
    );
    await expectFailure({ labelColumn: 'missing' }, 'task.label');
  });

  it('hostile column names are data, not code', async () => {
    const hostile = [
      { name: 'id"; DROP TABLE source; --', type: 'DOUBLE' as const },
      { name: "x'); SELECT 1; --\nnext line", type: 'DOUBLE' as const },
      { name: `label ${'λ'.repeat(10_000)}`, type: 'VARCHAR' as const },
      { name: 'day;"', type: 'DATE' as const },
      { name: '__trainyard_split', type: 'VARCHAR' as const },
    ];
    const rows = Array.from({ length: 200 }, (_, i): TestRow => [i, i, i % 2 ? 'a' : 'b', 15000 + i, 'mine']);
    rows.push(rows[0] as TestRow);
    const loaded = await createTableFromRows(session, 'hostile"table', hostile, rows);
    for (const strategy of ['random', 'stratified', 'time'] as const) {
      const outcome = await splitRows(session, {
        table: loaded.table,
        columns: loaded.columns,
        labelColumn: hostile[2]?.name as string,
        strategy,
        fractions: FRACTIONS,
        seed: 3,
        keyColumns: [hostile[0]?.name as string, hostile[1]?.name as string],
        timeColumn: hostile[3]?.name as string,
      });
      assert.equal(outcome.duplicateRows, 1);
      assert.equal(outcome.rows.train + outcome.rows.validation + outcome.rows.test, 200);
      assert.notEqual(
        outcome.splitColumn,
        quoteIdentifier('__trainyard_split'),
        'the internal column must not shadow a data column',
      );
      const kept = await session.all<{ v: string }>(
        `SELECT DISTINCT ${quoteIdentifier('__trainyard_split')} AS v FROM ${outcome.table}`,
      );
      assert.deepEqual(kept, [{ v: 'mine' }]);
    }
    const still = await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${quoteIdentifier('hostile"table')}`);
    assert.equal(still[0]?.n, 201);
  });
});
