import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { listValue } from '@duckdb/node-api';
import type { DatasetColumn, DatasetTable } from '../../lib/data/dataset';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { aucFromScoredGroups, measureLabelAssociation, rankAuc } from '../../lib/data/label-association';
import { computeStatistics, histogramEdges, MAX_CATEGORIES, type Histogram } from '../../lib/data/statistics';
import { DatasetStatisticsSchema } from '../../lib/data/statistics-schema';

const close = (actual: number | null | undefined, expected: number, tolerance = 1e-9) =>
  assert.ok(
    actual !== null && actual !== undefined && Math.abs(actual - expected) <= tolerance,
    `expected ${expected}, got ${actual}`,
  );

/** The definition, O(n²): P(score⁺ > score⁻) + ½ P(tie), folded to max(AUC, 1 − AUC). */
function pairwiseAuc(scores: number[], labels: boolean[]): number | undefined {
  let wins = 0;
  let pairs = 0;
  scores.forEach((p, i) => {
    if (!labels[i]) return;
    scores.forEach((n, j) => {
      if (labels[j]) return;
      pairs += 1;
      wins += p > n ? 1 : p === n ? 0.5 : 0;
    });
  });
  if (pairs === 0) return undefined;
  return Math.max(wins / pairs, 1 - wins / pairs);
}

describe('statistics over DuckDB', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
    // 6 rows: x has a NULL, a NaN and an Infinity; c has a NULL; row 6 repeats row 5.
    await session.run(`CREATE TABLE t AS SELECT * FROM (VALUES
      (1.0, 'a', true, 'yes'),
      (2.0, 'b', false, 'no'),
      (NULL, 'a', true, 'yes'),
      ('nan'::DOUBLE, NULL, true, 'no'),
      ('inf'::DOUBLE, 'a', false, 'yes'),
      ('inf'::DOUBLE, 'a', false, 'yes')) AS v(x, c, b, y)`);
  });
  after(() => session.close());

  const columns: DatasetColumn[] = [
    { name: 'x', type: 'numeric', duckdbType: 'DOUBLE' },
    { name: 'c', type: 'categorical', duckdbType: 'VARCHAR' },
    { name: 'b', type: 'boolean', duckdbType: 'BOOLEAN' },
    { name: 'y', type: 'categorical', duckdbType: 'VARCHAR' },
  ];
  const table: DatasetTable = { table: '"t"', columns, rowCount: 6, labelColumn: 'y' };

  it('counts missing, NaN, Infinity, duplicates and categories as computed by hand', async () => {
    const stats = await computeStatistics(session, table, { task: 'binary' });
    assert.equal(stats.rowCount, 6);
    assert.equal(stats.duplicateRowCount, 1);
    close(stats.duplicateRowShare, 1 / 6);
    const [x, c, b] = stats.columns;
    assert.equal(x?.missingCount, 1);
    close(x?.missingFraction, 1 / 6);
    assert.equal(x?.numeric?.nanCount, 1);
    assert.equal(x?.numeric?.infinityCount, 2);
    // Finite values are 1 and 2 only.
    assert.equal(x?.numeric?.min, 1);
    assert.equal(x?.numeric?.max, 2);
    close(x?.numeric?.mean, 1.5);
    close(x?.numeric?.std, Math.SQRT1_2); // sample std of {1, 2}
    assert.deepEqual(
      x?.numeric?.histogram.counts.reduce((s, v) => s + v, 0),
      2,
    );
    assert.deepEqual(c?.categorical?.categories, [
      { value: 'a', count: 4 },
      { value: 'b', count: 1 },
    ]);
    assert.equal(c?.missingCount, 1);
    assert.deepEqual(b?.boolean, { trueCount: 3, falseCount: 3 });
    assert.deepEqual(stats.label?.classes, [
      { value: 'yes', count: 4 },
      { value: 'no', count: 2 },
    ]);
    // The artifact reads back through its zod schema.
    assert.deepEqual(
      DatasetStatisticsSchema.parse(JSON.parse(JSON.stringify(stats))),
      JSON.parse(JSON.stringify(stats)),
    );
  });

  it('bins right-closed with open outer bins, on its own edges and on reference edges', async () => {
    await session.run('CREATE TABLE h AS SELECT unnest([0, 1, 1.5, 2, 3, 4, 10, -5]::DOUBLE[]) AS v');
    const hTable: DatasetTable = {
      table: '"h"',
      columns: [{ name: 'v', type: 'numeric', duckdbType: 'DOUBLE' }],
      rowCount: 8,
    };
    const stats = await computeStatistics(session, hTable, { histogramBins: 3, referenceEdges: { v: [0, 1, 2, 3] } });
    const numeric = stats.columns[0]?.numeric;
    // Own edges: -5, 0, 5, 10 → (-∞,0] {-5,0}, (0,5] {1,1.5,2,3,4}, (5,∞) {10}
    assert.deepEqual(numeric?.histogram, { edges: [-5, 0, 5, 10], counts: [2, 5, 1] });
    // Reference edges 0..3 → (-∞,1] {-5,0,1}, (1,2] {1.5,2}, (2,∞) {3,4,10}
    assert.deepEqual(numeric?.histogramOnReferenceBins, { edges: [0, 1, 2, 3], counts: [3, 2, 3] });
  });

  it('counts numbers on bins cut at their own deciles: ties get a bin of their own, and a batch counts on them as reference edges', async () => {
    await session.run(
      'CREATE TABLE qz AS SELECT CASE WHEN i <= 80 THEN 0 ELSE i END::DOUBLE AS v, i::DOUBLE AS u FROM range(1, 101) t(i)',
    );
    const qTable: DatasetTable = {
      table: '"qz"',
      columns: [
        { name: 'v', type: 'numeric', duckdbType: 'DOUBLE' },
        { name: 'u', type: 'numeric', duckdbType: 'DOUBLE' },
      ],
      rowCount: 100,
    };
    const stats = await computeStatistics(session, qTable, { seed: 3 });
    const [v, u] = stats.columns.map((c) => c.numeric?.quantileHistogram);
    // 80 zeros: every decile up to the 80th is 0, so 0 is one cut and the zeros one bin.
    assert.equal(v?.edges[0], 0);
    assert.equal(v?.edges[1], 0);
    assert.equal(v?.counts[0], 80);
    assert.equal(
      v?.counts.reduce((s, c) => s + c, 0),
      100,
    );
    assert.ok((v?.counts.length as number) >= 2);
    // 1..100: ten bins of about ten (the minimum is a cut too, so the first bin holds it alone).
    assert.equal(
      u?.counts.reduce((s, c) => s + c, 0),
      100,
    );
    assert.ok(
      (u?.counts.length as number) >= 10 && (u?.counts.every((c, k) => k === 0 || (c >= 9 && c <= 11)) ?? false),
      JSON.stringify(u),
    );
    const batch = await computeStatistics(session, qTable, { referenceEdges: { u: u?.edges as number[] } });
    assert.deepEqual(batch.columns[1]?.numeric?.histogramOnReferenceBins, u);
    assert.deepEqual(
      DatasetStatisticsSchema.parse(JSON.parse(JSON.stringify(stats))),
      JSON.parse(JSON.stringify(stats)),
    );
  });

  it('gives small-range integer columns one bin per integer', () => {
    assert.deepEqual(histogramEdges(1, 3, 20, true), [0.5, 1.5, 2.5, 3.5]);
    assert.deepEqual(histogramEdges(0, 10, 5, false), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(histogramEdges(4, 4, 20, false), [4, 4]);
  });

  it('rank AUC in SQL equals the pairwise definition, ties included (property)', async () => {
    const rows = fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 60 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(rows, async (data) => {
        run += 1;
        const name = `auc_${run}`;
        await session.run(`CREATE TABLE ${name} AS SELECT unnest($1::DOUBLE[]) AS x, unnest($2::VARCHAR[]) AS y`, [
          listValue(data.map(([x]) => x)),
          listValue(data.map(([, y]) => (y ? 'p' : 'n'))),
        ]);
        const result = await measureLabelAssociation(
          session,
          `"${name}"`,
          [
            { name: 'x', type: 'numeric', duckdbType: 'DOUBLE' },
            { name: 'y', type: 'categorical', duckdbType: 'VARCHAR' },
          ],
          {
            task: 'binary',
            labelColumn: 'y',
            classes: ['p', 'n'],
          },
        );
        await session.run(`DROP TABLE ${name}`);
        const expected = pairwiseAuc(
          data.map(([x]) => x),
          data.map(([, y]) => y),
        );
        const measured = result.get('x')?.auc;
        if (expected === undefined) assert.equal(measured, undefined);
        else close(measured, expected, 1e-9);
      }),
      { numRuns: 60 },
    );
  });

  it('target-encoded AUC flags a category that is pure in one class, and multiclass uses the macro average', async () => {
    // 'leak' = the class itself; 'noise' = unrelated; 'code' = a class code hidden in a number.
    await session.run(`CREATE TABLE m AS SELECT i % 3 AS k, ['r', 'g', 'b'][i % 3 + 1] AS y, ['r', 'g', 'b'][i % 3 + 1] || '!' AS leak,
      ['u', 'v'][i % 2 + 1] AS noise, CAST(i % 3 AS DOUBLE) AS code, CAST(i % 5 AS DOUBLE) AS other FROM range(300) r(i)`);
    const cols: DatasetColumn[] = [
      { name: 'y', type: 'categorical', duckdbType: 'VARCHAR' },
      { name: 'leak', type: 'categorical', duckdbType: 'VARCHAR' },
      { name: 'noise', type: 'categorical', duckdbType: 'VARCHAR' },
      { name: 'code', type: 'numeric', duckdbType: 'DOUBLE' },
      { name: 'other', type: 'numeric', duckdbType: 'DOUBLE' },
    ];
    const result = await measureLabelAssociation(session, '"m"', cols, {
      task: 'multiclass',
      labelColumn: 'y',
      classes: ['r', 'g', 'b'],
    });
    close(result.get('leak')?.auc, 1);
    close(result.get('code')?.auc, 1);
    assert.equal(result.get('code')?.aucMethod, 'binned-target-encoded');
    assert.ok((result.get('noise')?.auc ?? 1) < 0.6);
    assert.ok((result.get('other')?.auc ?? 1) < 0.6);
  });
});

/** Bin counts by the documented rule: (edges[j], edges[j+1]], the outer bins open-ended. */
function binByHand(values: number[], edges: number[]): Histogram {
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const v of values) {
    let j = 0;
    while (j < counts.length - 1 && v > (edges[j + 1] as number)) j += 1;
    counts[j] = (counts[j] ?? 0) + 1;
  }
  return { edges, counts };
}

function sampleStd(values: number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
}

/**
 * Writes `sql`'s rows as Parquet and then turns every stored `marker` value into NaN in the data pages
 * only: the file's min/max statistics stay finite, as some writers (Arrow's, for one) leave NaN out of
 * them. DuckDB answers min()/max() from those statistics, so the profile believes the bounds.
 */
async function writeParquetHidingNaN(session: DuckDbSession, file: string, sql: string, marker: number): Promise<void> {
  await session.run(`COPY (${sql}) TO '${file}' (FORMAT parquet, COMPRESSION uncompressed)`);
  const bytes = await readFile(file);
  const footerStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
  const pattern = Buffer.alloc(8);
  pattern.writeDoubleLE(marker);
  let patched = 0;
  for (let at = bytes.indexOf(pattern); at >= 0 && at < footerStart; at = bytes.indexOf(pattern, at + 8)) {
    bytes.writeDoubleLE(Number.NaN, at);
    patched += 1;
  }
  assert.ok(patched > 0, 'the marker was not found in the data pages');
  await writeFile(file, bytes);
}

describe('statistics: NaN and Infinity that finite bounds did not rule out; std precision', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb({ threads: 2, memoryLimit: '256MB' });
  });
  after(() => session.close());
  const numeric = (name: string): DatasetColumn => ({ name, type: 'numeric', duckdbType: 'DOUBLE' });

  it('Parquet statistics that leave NaN out: NaN counted exactly, moments and bins on the finite values', async () => {
    const file = path.join(session.workDirectory, 'hidden-nan.parquet');
    // x = 0..19 except every fourth value (3, 7, 11, 15, 19), which becomes NaN: statistics say [0, 18].
    await writeParquetHidingNaN(
      session,
      file,
      'SELECT CASE WHEN i % 4 = 3 THEN 1.25 ELSE i END::DOUBLE AS x, i AS k FROM range(20) r(i)',
      1.25,
    );
    await session.run(`CREATE VIEW hidden AS SELECT * FROM read_parquet('${file}')`);
    const bounds = await session.all<{ lo: number; hi: number }>('SELECT min(x) AS lo, max(x) AS hi FROM hidden');
    assert.deepEqual(bounds, [{ lo: 0, hi: 18 }], 'the bounds come from the file statistics, NaN left out');
    const table: DatasetTable = {
      table: '"hidden"',
      columns: [numeric('x'), { name: 'k', type: 'numeric', duckdbType: 'BIGINT' }],
      rowCount: 20,
    };
    const x = (await computeStatistics(session, table, { histogramBins: 4 })).columns[0]?.numeric;
    const finite = Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 4 !== 3);
    assert.equal(x?.nanCount, 5);
    assert.equal(x?.infinityCount, 0);
    assert.equal(x?.min, 0);
    assert.equal(x?.max, 18);
    close(x?.mean, finite.reduce((s, v) => s + v, 0) / finite.length);
    close(x?.std, sampleStd(finite));
    assert.deepEqual(x?.histogram, binByHand(finite, histogramEdges(0, 18, 4, false)));
  });

  it('a lone hidden NaN (no std to fail on) is caught by its mean and counted', async () => {
    const file = path.join(session.workDirectory, 'lone-nan.parquet');
    await writeParquetHidingNaN(
      session,
      file,
      'SELECT CASE WHEN i = 2 THEN 1.25 END::DOUBLE AS x FROM range(3) r(i)',
      1.25,
    );
    await session.run(`CREATE VIEW lone AS SELECT * FROM read_parquet('${file}')`);
    const x = (await computeStatistics(session, { table: '"lone"', columns: [numeric('x')], rowCount: 3 })).columns[0];
    assert.equal(x?.missingCount, 2);
    assert.deepEqual(
      {
        nan: x?.numeric?.nanCount,
        inf: x?.numeric?.infinityCount,
        min: x?.numeric?.min,
        max: x?.numeric?.max,
        mean: x?.numeric?.mean,
        histogram: x?.numeric?.histogram,
      },
      { nan: 1, inf: 0, min: null, max: null, mean: null, histogram: { edges: [], counts: [] } },
    );
  });

  it('finite bounds whose sum overflows: redone on the finite values, nothing counted as NaN or Infinity', async () => {
    await session.run('CREATE TABLE huge AS SELECT unnest([1e308, 1e308, 1e308]::DOUBLE[]) AS x');
    const x = (await computeStatistics(session, { table: '"huge"', columns: [numeric('x')], rowCount: 3 })).columns[0]
      ?.numeric;
    assert.deepEqual(
      { nan: x?.nanCount, inf: x?.infinityCount, min: x?.min, max: x?.max, std: x?.std },
      { nan: 0, inf: 0, min: 1e308, max: 1e308, std: 0 },
    );
    assert.deepEqual(x?.histogram.counts, [3]);
  });

  it('std of large values with a small spread keeps its precision (no naive sum of squares)', async () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1e9 + (i % 7) * 0.001);
    // Passed as text, which reads back as the very same doubles.
    await session.run('CREATE TABLE wide AS SELECT CAST(unnest($1::VARCHAR[]) AS DOUBLE) AS x', [
      listValue(values.map(String)),
    ]);
    const x = (await computeStatistics(session, { table: '"wide"', columns: [numeric('x')], rowCount: values.length }))
      .columns[0]?.numeric;
    // Σx² − (Σx)²/n would cancel all 16 significant digits here (Σx² ≈ 1e21, n·var ≈ 4e-3).
    // stddev_samp's running mean is only good to ulp(1e9) ≈ 1e-7, hence ~2e-6 relative error: the
    // reference is computed on x − 1e9, which is exact.
    const expected = sampleStd(values.map((v) => v - 1e9));
    close(x?.std, expected, expected * 1e-5);
    close(x?.mean, 1e9 + values.reduce((sum, v) => sum + (v - 1e9), 0) / values.length, 1e-6);
  });
});

describe('statistics: categorical and text columns', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb({ threads: 2, memoryLimit: '256MB' });
  });
  after(() => session.close());

  it('counts every value, most frequent first (ties by value), NULL apart, the rest beyond MAX_CATEGORIES as other', async () => {
    // 1005 values: v0 … v1004 once each, plus 'b' ×3, 'a' ×3, '7' ×2 and two NULLs.
    await session.run(`CREATE TABLE cats AS SELECT 'v' || i AS c FROM range(1005) r(i)
      UNION ALL SELECT unnest(['b', 'a', 'b', 'a', 'b', 'a', '7', '7', NULL, NULL])`);
    const column = { name: 'c', type: 'categorical', duckdbType: 'VARCHAR' } as const;
    const [c] = (await computeStatistics(session, { table: '"cats"', columns: [column], rowCount: 1015 })).columns;
    assert.equal(c?.count, 1013);
    assert.equal(c?.missingCount, 2);
    assert.equal(c?.distinctCount, 1008);
    const categories = c?.categorical?.categories ?? [];
    assert.equal(categories.length, MAX_CATEGORIES);
    assert.deepEqual(categories.slice(0, 4), [
      { value: 'a', count: 3 },
      { value: 'b', count: 3 },
      { value: '7', count: 2 },
      { value: 'v0', count: 1 },
    ]);
    // Kept: a, b, 7 and the first 997 v's by value; the other 8 v's are "other".
    assert.equal(c?.categorical?.otherCount, 8);
    close(c?.categorical?.otherShare, 8 / 1013);
    close(c?.categorical?.numericShare, 2 / 1013);
    assert.deepEqual(c?.categorical?.nonNumericExamples, ['a', 'b', 'v0']);
  });

  it('text: the share of values that parse as numbers equals TRY_CAST over every row (property)', async () => {
    const numberLike = fc.constantFrom(
      '1',
      ' 2',
      '+3',
      '-4.5',
      '.5',
      '5.',
      '1e5',
      '1_000',
      'nan',
      'NaN',
      'inf',
      '-inf',
      'Infinity',
      '0x10',
      '1,5',
      'e5',
      '',
    );
    const value = fc.oneof(
      numberLike,
      fc.string({ maxLength: 6 }),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
      fc.string({ unit: 'binary-ascii', maxLength: 4 }),
      fc.constant(null),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 40 }), async (values) => {
        run += 1;
        const name = `text_${run}`;
        // Through JSON: a bound list would turn '' into NULL.
        await session.run(`CREATE TABLE ${name} AS SELECT unnest(from_json($1, '["VARCHAR"]')) AS s`, [
          JSON.stringify(values),
        ]);
        const [expected] = await session.all<{ numbers: number; present: number; others: number }>(
          `SELECT count(TRY_CAST(s AS DOUBLE)) AS numbers, count(s) AS present, count(DISTINCT s) FILTER (WHERE TRY_CAST(s AS DOUBLE) IS NULL) AS others FROM ${name}`,
        );
        const stats = await computeStatistics(session, {
          table: name,
          columns: [{ name: 's', type: 'text', duckdbType: 'VARCHAR' }],
          rowCount: values.length,
        });
        await session.run(`DROP TABLE ${name}`);
        const text = stats.columns[0]?.text;
        close(text?.numericShare, expected && expected.present > 0 ? expected.numbers / expected.present : 0, 1e-12);
        const examples = text?.nonNumericExamples ?? [];
        const [parsed] = await session.all<{ n: number }>(
          `SELECT count(TRY_CAST(e AS DOUBLE)) AS n FROM unnest(from_json($1, '["VARCHAR"]')) AS u(e)`,
          [JSON.stringify(examples)],
        );
        assert.equal(parsed?.n ?? 0, 0, `examples of non-numbers include a number: ${JSON.stringify(examples)}`);
        assert.equal(examples.length, Math.min(3, expected?.others ?? 0));
      }),
      { numRuns: 80 },
    );
  });
});

describe('label association sample', () => {
  it("is the same rows whatever the thread count, and leaves the session's thread setting as it was", async () => {
    const measure = async (threads: number) => {
      const session = await openDuckDb({ threads, memoryLimit: '256MB' });
      try {
        await session.run(
          `CREATE TABLE s AS SELECT (hash(i) % 1000)::DOUBLE + (i % 2) * 300 AS x, ['p', 'n'][i % 2 + 1] AS y FROM range(20000) r(i)`,
        );
        const columns: DatasetColumn[] = [
          { name: 'x', type: 'numeric', duckdbType: 'DOUBLE' },
          { name: 'y', type: 'categorical', duckdbType: 'VARCHAR' },
        ];
        const found = await measureLabelAssociation(session, '"s"', columns, {
          task: 'binary',
          labelColumn: 'y',
          classes: ['p', 'n'],
          sampleRows: 1000,
          seed: 7,
        });
        const [setting] = await session.all<{ threads: number }>("SELECT current_setting('threads') AS threads");
        return { association: found.get('x'), threads: setting?.threads };
      } finally {
        await session.close();
      }
    };
    const [one, two] = [await measure(1), await measure(2)];
    assert.equal(one.association?.sampledRows, 1000);
    // The AUC is measured on the sample; the correlation (over every row) may differ in its last bits.
    const { correlation: c1, ...sampled1 } = one.association ?? {};
    const { correlation: c2, ...sampled2 } = two.association ?? {};
    assert.deepEqual(sampled2, sampled1);
    close(c2, c1 ?? Number.NaN, 1e-12);
    assert.deepEqual([one.threads, two.threads], [1, 2]);
  });
});

describe('AUC arithmetic', () => {
  it('rankAuc: Mann–Whitney from rank sums, by hand', () => {
    // scores 1, 2, 3, 4 with labels n, p, n, p: positive ranks 2 + 4 = 6, U = 6 − 3 = 3, AUC = 3/4
    assert.equal(
      rankAuc(
        [
          { label: 'p', rankSum: 6, n: 2 },
          { label: 'n', rankSum: 4, n: 2 },
        ],
        'p',
      ),
      0.75,
    );
    // A perfect inverse predictor folds to 1.
    assert.equal(
      rankAuc(
        [
          { label: 'p', rankSum: 3, n: 2 },
          { label: 'n', rankSum: 7, n: 2 },
        ],
        'p',
      ),
      1,
    );
    assert.equal(rankAuc([{ label: 'p', rankSum: 3, n: 2 }], 'p'), undefined);
  });

  it('aucFromScoredGroups: ties within and across groups count one half', () => {
    // Scores: group A 0.2 (1 pos, 3 neg), group B 0.8 (4 pos, 1 neg).
    // Pairs 5×4 = 20: B⁺ vs A⁻: 4·3 = 12 wins; B⁺ vs B⁻: 4·1·½ = 2; A⁺ vs A⁻: 1·3·½ = 1.5 → 15.5/20
    assert.equal(
      aucFromScoredGroups([
        { score: 0.2, positives: 1, negatives: 3 },
        { score: 0.8, positives: 4, negatives: 1 },
      ]),
      0.775,
    );
    assert.equal(aucFromScoredGroups([{ score: 0.5, positives: 2, negatives: 0 }]), undefined);
  });
});
