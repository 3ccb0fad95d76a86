import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { PreprocessConfig } from '../../contracts/stage-config';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { decodeTarget, encodeColumns, encodeNumber } from '../../lib/data/encode-columns';
import { quoteIdentifier } from '../../lib/data/identifiers';
import { fitPreprocessor, type FitRequest } from '../../lib/data/preprocessor';
import { PreprocessorSpec, type NumericFeature } from '../../lib/data/preprocessor-spec';
import { hashBucket, murmurHash3 } from '../../lib/data/stable-hash';
import { createTableFromRows, type TestColumnType, type TestRow } from '../support/duckdb-rows';

const bump = (counts: number[], index: number) => {
  counts[index] = (counts[index] ?? 0) + 1;
};

const close = (actual: number | undefined, expected: number, tolerance = 1e-6) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

/** MurmurHash3 x86_32 written the plain way, over TextEncoder's bytes: the reference for the streaming one. */
function referenceMurmur(text: string, seed: number): number {
  const bytes = new TextEncoder().encode(text);
  let h = seed >>> 0;
  const blocks = Math.floor(bytes.length / 4);
  const mix = (k: number) => {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    return Math.imul(k, 0x1b873593);
  };
  for (let i = 0; i < blocks; i += 1) {
    const k =
      (bytes[i * 4] as number) |
      ((bytes[i * 4 + 1] as number) << 8) |
      ((bytes[i * 4 + 2] as number) << 16) |
      ((bytes[i * 4 + 3] as number) << 24);
    h ^= mix(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  for (let i = bytes.length - 1; i >= blocks * 4; i -= 1) tail = (tail << 8) | (bytes[i] as number);
  if (bytes.length % 4 !== 0) h ^= mix(tail);
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

describe('stable string hash (MurmurHash3 x86_32)', () => {
  it('matches the published test vectors', () => {
    assert.equal(murmurHash3('', 0), 0);
    assert.equal(murmurHash3('', 1), 0x514e28b7);
    assert.equal(murmurHash3('test', 0), 0xba6bd213);
    assert.equal(murmurHash3('Hello, world!', 0), 0xc0363e43);
    assert.equal(murmurHash3('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
  });

  it('equals the byte-wise reference on any string, surrogates and all', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), fc.nat(), (text, seed) => {
        assert.equal(murmurHash3(text, seed), referenceMurmur(text, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it('spreads categories evenly over buckets', () => {
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 32_000; i += 1) bump(counts, hashBucket(`user-${i}`, 32));
    assert.ok(Math.min(...counts) > 850 && Math.max(...counts) < 1150, counts.join(' '));
  });
});

/** A spec written by hand, so encodeColumns can be checked against values worked out on paper. */
function handSpec(): PreprocessorSpec {
  return PreprocessorSpec.parse({
    version: 1,
    task: 'binary',
    label: { column: 'y', source: 'string', classes: ['no', 'yes'] },
    features: [
      {
        kind: 'numeric',
        column: 'a',
        source: 'number',
        impute: 2,
        log1p: false,
        center: 1,
        scale: 2,
        statistics: { count: 3, missing: 1, mean: 1, median: 2, negative: 0 },
      },
      {
        kind: 'numeric',
        column: 'b',
        source: 'number',
        impute: 0,
        log1p: true,
        center: 0,
        scale: 1,
        statistics: { count: 3, missing: 0, mean: 0, median: 0, negative: 1 },
      },
      { kind: 'one-hot', column: 'c', source: 'string', impute: 'q', categories: ['p', 'q'] },
      { kind: 'hashed', column: 'd', source: 'string', impute: 'abc', buckets: 4, seed: 0, distinct: 50 },
      {
        kind: 'numeric',
        column: 'e',
        source: 'boolean',
        impute: 0,
        log1p: false,
        center: 0.5,
        scale: 0.5,
        statistics: { count: 3, missing: 0, mean: 0.5, median: 0.5, negative: 0 },
      },
      {
        kind: 'numeric',
        column: 't',
        source: 'epoch-seconds',
        impute: 0,
        log1p: false,
        center: 0,
        scale: 86_400,
        statistics: { count: 3, missing: 0, mean: 0, median: 0, negative: 0 },
      },
    ],
    featureNames: ['a', 'b', 'c=p', 'c=q', 'c=<unseen>', 'd#0', 'd#1', 'd#2', 'd#3', 'e', 't'],
    featureCount: 11,
    excluded: [{ column: 'y', reason: 'label' }],
    notes: [],
    fittedOn: { split: 'train', rows: 3 },
  });
}

describe('encodeColumns (hand-computed)', () => {
  it('imputes, log-transforms, scales, one-hot encodes with an unseen bucket, hashes, and encodes the label', () => {
    const spec = handSpec();
    const { x, y, rows } = encodeColumns(
      spec,
      {
        a: [3, null, Number.NaN],
        b: [Math.E - 1, -5, null],
        c: ['p', null, 'never seen'],
        d: ['abc', null, 'x'],
        e: [true, false, null],
        t: [86_400, '1970-01-03T00:00:00Z', null],
        y: ['yes', 'no', 'yes'],
        ignored: ['extra columns are ignored', 1, 2],
      },
      3,
    );
    assert.equal(rows, 3);
    // murmurHash3("abc") = 0xb3dd93fa → bucket 0xfa % 4 = 2; "x" → bucket per murmurHash3("x") % 4
    const xBucket = murmurHash3('x', 0) % 4;
    const dOf = (bucket: number) => [0, 1, 2, 3].map((i) => (i === bucket ? 1 : 0));
    const expected = [
      [(3 - 1) / 2, 1, 1, 0, 0, ...dOf(2), (1 - 0.5) / 0.5, 1],
      [(2 - 1) / 2, 0, 0, 1, 0, ...dOf(2), (0 - 0.5) / 0.5, 2],
      [(2 - 1) / 2, 0, 0, 0, 1, ...dOf(xBucket), (0 - 0.5) / 0.5, 0],
    ];
    for (let r = 0; r < 3; r += 1) {
      for (let f = 0; f < 11; f += 1) close(x[r * 11 + f], expected[r]?.[f] as number);
    }
    assert.deepEqual(Array.from(y as Float32Array), [1, 0, 1]);
  });

  it('leaves y out when the label column is absent (inference) and refuses a missing feature column', () => {
    const spec = handSpec();
    const columns = { a: [1], b: [1], c: ['p'], d: ['q'], e: [true], t: [0] };
    assert.equal(encodeColumns(spec, columns, 1).y, undefined);
    const { c: _dropped, ...withoutC } = columns;
    assert.throws(() => encodeColumns(spec, withoutC, 1), /Column "c" is missing/);
    assert.throws(() => encodeColumns(spec, { ...columns, y: ['maybe'] }, 1), /not one of the classes/);
  });

  it('encodes the same value the same way wherever it sits (row independence)', () => {
    const spec = handSpec();
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.option(fc.double(), { nil: null }),
            fc.option(fc.constantFrom('p', 'q', 'r'), { nil: null }),
            fc.string(),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        (rowsIn) => {
          const columns = {
            a: rowsIn.map((r) => r[0]),
            b: rowsIn.map((r) => r[0]),
            c: rowsIn.map((r) => r[1]),
            d: rowsIn.map((r) => r[2]),
            e: rowsIn.map(() => true),
            t: rowsIn.map(() => 0),
          };
          const all = encodeColumns(spec, columns, rowsIn.length).x;
          rowsIn.forEach((row, i) => {
            const one = encodeColumns(
              spec,
              { a: [row[0]], b: [row[0]], c: [row[1]], d: [row[2]], e: [true], t: [0] },
              1,
            ).x;
            assert.deepEqual(Array.from(all.subarray(i * 11, (i + 1) * 11)), Array.from(one));
          });
        },
      ),
    );
  });
});

describe('fitPreprocessor in DuckDB', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb({ threads: 2 });
  });
  after(async () => {
    await session?.close();
  });

  const config = (overrides: Record<string, unknown> = {}) => PreprocessConfig.parse(overrides);

  async function fit(
    table: string,
    columns: { name: string; type: TestColumnType }[],
    rows: TestRow[],
    request: Partial<FitRequest> = {},
  ) {
    const loaded = await createTableFromRows(session, table, columns, rows);
    return fitPreprocessor(session, {
      relation: loaded.table,
      columns: loaded.columns,
      labelColumn: 'y',
      taskType: 'binary',
      config: config(),
      ...request,
    });
  }

  const numericColumns = [
    { name: 'x', type: 'DOUBLE' as const },
    { name: 'v', type: 'DOUBLE' as const },
    { name: 'c', type: 'VARCHAR' as const },
    { name: 'y', type: 'VARCHAR' as const },
  ];
  const numericRows: TestRow[] = [
    [1, -1, 'p', 'no'],
    [2, 0, 'p', 'yes'],
    [10, Math.E - 1, 'q', 'no'],
    [null, null, null, 'yes'],
  ];

  it('median imputation, then mean and population std of the imputed values (hand-computed)', async () => {
    const spec = await fit('hand', numericColumns, numericRows);
    const x = spec.features.find((f) => f.column === 'x') as NumericFeature;
    // x = 1, 2, 10, missing → median 2; imputed 1, 2, 10, 2 → mean 3.75, variance 52.75 / 4
    assert.equal(x.impute, 2);
    close(x.center, 3.75, 1e-12);
    close(x.scale, Math.sqrt(52.75 / 4), 1e-12);
    assert.deepEqual(x.statistics, { count: 3, missing: 1, mean: 13 / 3, median: 2, negative: 0 });
    assert.deepEqual(spec.label.classes, ['no', 'yes']);
    assert.deepEqual(spec.featureNames, ['x', 'v', 'c=p', 'c=q', 'c=<unseen>']);
    const c = spec.features.find((f) => f.column === 'c');
    assert.deepEqual(c, { kind: 'one-hot', column: 'c', source: 'string', impute: 'p', categories: ['p', 'q'] });
  });

  it('mean and constant imputation; the constant category joins the one-hot categories when train has missing values', async () => {
    const spec = await fit('hand2', numericColumns, numericRows, {
      config: config({
        impute: { numeric: 'mean', categorical: 'constant', categoricalConstant: '(none)' },
        standardize: false,
      }),
    });
    const x = spec.features.find((f) => f.column === 'x') as NumericFeature;
    close(x.impute, 13 / 3, 1e-12);
    assert.equal(x.center, 0);
    assert.equal(x.scale, 1);
    const c = spec.features.find((f) => f.column === 'c');
    assert.deepEqual(c, {
      kind: 'one-hot',
      column: 'c',
      source: 'string',
      impute: '(none)',
      categories: ['(none)', 'p', 'q'],
    });
    const constant = await fit('hand3', numericColumns, numericRows, {
      config: config({ impute: { numeric: 'constant', numericConstant: -7 } }),
    });
    assert.equal((constant.features[0] as NumericFeature).impute, -7);
  });

  it('log1p clamps negatives to 0 with a note, and scales the transformed values', async () => {
    const spec = await fit('logged', numericColumns, numericRows, { config: config({ logTransform: ['v'] }) });
    const v = spec.features.find((f) => f.column === 'v') as NumericFeature;
    // raw finite −1, 0, e − 1 → median 0; imputed −1, 0, e − 1, 0 → log1p(max(·, 0)) = 0, 0, 1, 0
    assert.equal(v.log1p, true);
    assert.equal(v.impute, 0);
    close(v.center, 0.25, 1e-12);
    close(v.scale, Math.sqrt(0.1875), 1e-12);
    assert.equal(v.statistics.negative, 1);
    assert.ok(
      spec.notes.some((n) => n.includes('"v"') && n.includes('clamped')),
      spec.notes.join('\n'),
    );
    close(encodeNumber(v, -3), (0 - 0.25) / Math.sqrt(0.1875));
  });

  it('statistics come from the train split only: a different distribution planted in test changes nothing', async () => {
    const rows: TestRow[] = [];
    for (let i = 1; i <= 100; i += 1)
      rows.push([i, i % 3 === 0 ? null : i * 2, i % 2 ? 'p' : 'q', i % 2 ? 'no' : 'yes', 'train']);
    for (let i = 0; i < 400; i += 1) rows.push([1000 + i, -500, 'test-only', 'maybe', 'test']);
    const columns = [...numericColumns, { name: 'split', type: 'VARCHAR' as const }];
    const loaded = await createTableFromRows(session, 'planted', columns, rows);
    const trainOnly = `(SELECT * FROM ${loaded.table} WHERE split = 'train')`;
    const spec = await fitPreprocessor(session, {
      relation: trainOnly,
      columns: loaded.columns,
      labelColumn: 'y',
      taskType: 'binary',
      config: config({ exclude: ['split'] }),
    });
    const trainX = Array.from({ length: 100 }, (_, i) => i + 1);
    const trainV = trainX.filter((i) => i % 3 !== 0).map((i) => i * 2);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2
        ? (s[(s.length - 1) / 2] as number)
        : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
    };
    const x = spec.features.find((f) => f.column === 'x') as NumericFeature;
    const v = spec.features.find((f) => f.column === 'v') as NumericFeature;
    close(x.statistics.mean as number, mean(trainX), 1e-9);
    close(x.statistics.median as number, median(trainX), 1e-9);
    close(v.statistics.mean as number, mean(trainV), 1e-9);
    close(v.impute, median(trainV), 1e-9);
    assert.equal(x.statistics.count, 100);
    const c = spec.features.find((f) => f.column === 'c');
    assert.deepEqual(c?.kind === 'one-hot' ? c.categories : [], ['p', 'q']);
    assert.deepEqual(spec.label.classes, ['no', 'yes']);
    assert.equal(spec.fittedOn.rows, 100);
    assert.deepEqual(spec.excluded, [
      { column: 'y', reason: 'label' },
      { column: 'split', reason: 'preprocess.exclude' },
    ]);
  });

  it('one-hot up to oneHotMaxCardinality categories, the hashing trick beyond (highCardinality "hash")', async () => {
    const columns = [
      { name: 'few', type: 'VARCHAR' as const },
      { name: 'many', type: 'VARCHAR' as const },
      { name: 'y', type: 'VARCHAR' as const },
    ];
    const rows = Array.from({ length: 200 }, (_, i): TestRow => [`f${i % 5}`, `m${i % 40}`, i % 2 ? 'a' : 'b']);
    const spec = await fit('cards', columns, rows, {
      config: config({ oneHotMaxCardinality: 5, highCardinality: 'hash', hashBuckets: 8 }),
    });
    assert.deepEqual(
      spec.features.map((f) => f.kind),
      ['one-hot', 'hashed'],
    );
    assert.equal(spec.featureCount, 6 + 8);
    const many = spec.features[1];
    assert.equal(many?.kind === 'hashed' ? many.distinct : 0, 40);
    assert.deepEqual(spec.notes, [], 'a 40-value column in 200 rows is no identifier');
    const ids = await fit(
      'ids',
      columns,
      rows.map((r, i): TestRow => [r[0] as string, `id-${i}`, r[2] as string]),
      { config: config({ oneHotMaxCardinality: 5 }) },
    );
    assert.match(
      ids.notes.join('\n'),
      /"many" has a different value in almost every train row \(200 of 200\): an identifier\?/,
    );
    const encoded = encodeColumns(spec, { few: ['f1', 'zzz'], many: ['m3', null], y: ['a', 'b'] }, 2);
    assert.equal(encoded.x[1], 1); // f1 is the second sorted category
    assert.equal(encoded.x[14 + 5], 1); // unseen bucket
    assert.equal(encoded.x[6 + hashBucket('m3', 8)], 1);
  });

  it('regression: the target is standardised when asked, recorded, and decodeTarget inverts it', async () => {
    const columns = [
      { name: 'x', type: 'DOUBLE' as const },
      { name: 'y', type: 'DOUBLE' as const },
    ];
    const rows: TestRow[] = [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ];
    const spec = await fit('target', columns, rows, {
      taskType: 'regression',
      config: config({ standardizeTarget: true }),
    });
    assert.equal(spec.label.target?.standardized, true);
    close(spec.label.target?.center, 2.5, 1e-12);
    close(spec.label.target?.scale, Math.sqrt(1.25), 1e-12);
    const { y } = encodeColumns(spec, { x: [0], y: [4] }, 1);
    close(y?.[0], 1.5 / Math.sqrt(1.25));
    close(decodeTarget(spec, y?.[0] as number), 4, 1e-5);
    const plain = await fit('target2', columns, rows, { taskType: 'regression' });
    assert.deepEqual(plain.label.target, { standardized: false, center: 0, scale: 1 });
  });

  it('classes come from the manifest when given (sorted), booleans and numbers key as strings', async () => {
    const columns = [
      { name: 'x', type: 'DOUBLE' as const },
      { name: 'y', type: 'BOOLEAN' as const },
    ];
    const spec = await fit('bool', columns, [
      [1, true],
      [2, false],
    ]);
    assert.deepEqual(spec.label.classes, ['false', 'true']);
    assert.deepEqual(Array.from(encodeColumns(spec, { x: [1, 1], y: [true, false] }, 2).y ?? []), [1, 0]);
    const given = await fit(
      'given',
      [
        { name: 'x', type: 'DOUBLE' },
        { name: 'y', type: 'DOUBLE' },
      ],
      [
        [1, 1],
        [2, 0],
      ],
      { classes: ['2', '1', '0'] },
    );
    assert.deepEqual(given.label.classes, ['0', '1', '2']);
  });

  it('the spec survives JSON and the zod schema; a tampered spec is refused', async () => {
    const spec = await fit('json', numericColumns, numericRows);
    assert.deepEqual(PreprocessorSpec.parse(JSON.parse(JSON.stringify(spec))), spec);
    assert.throws(
      () => PreprocessorSpec.parse({ ...spec, featureCount: spec.featureCount + 1 }),
      /featureCount|featureNames/,
    );
    assert.throws(() => PreprocessorSpec.parse({ ...spec, version: 3 }));
  });

  it('refuses logTransform of a missing or non-numeric column with the field path', async () => {
    const expectFailure = async (logTransform: string[], path: string) =>
      assert.rejects(
        fit(`bad${path.length}`, numericColumns, numericRows, { config: config({ logTransform }) }),
        (error: Error & { type?: string; details?: { path: string }[] }) => {
          assert.equal(error.type, 'InvalidPipelineConfig');
          assert.equal(error.details?.[0]?.path, path);
          return true;
        },
      );
    await expectFailure(['nope'], 'preprocess.logTransform.0');
    await expectFailure(['x', 'c'], 'preprocess.logTransform.1');
  });

  it('hostile column names are data, not code, in fitting and encoding', async () => {
    const hostile = [
      { name: 'x"; DROP TABLE t; --', type: 'DOUBLE' as const },
      { name: "c'); SELECT 1; --\nline two", type: 'VARCHAR' as const },
      { name: 'k'.repeat(10_000), type: 'DOUBLE' as const },
      { name: 'y', type: 'VARCHAR' as const },
    ];
    const rows = Array.from({ length: 50 }, (_, i): TestRow => [i, i % 2 ? 'a"b' : "c'd", i % 7, i % 2 ? 'n' : 'm']);
    const spec = await fit('hostile"t', hostile, rows, {
      config: config({ logTransform: [hostile[2]?.name as string] }),
    });
    assert.equal(spec.featureCount, 1 + 3 + 1);
    const columns: Record<string, (number | string)[]> = { y: ['m'] };
    columns[hostile[0]?.name as string] = [3];
    columns[hostile[1]?.name as string] = ['a"b'];
    columns[hostile[2]?.name as string] = [2];
    const { x } = encodeColumns(spec, columns, 1);
    assert.equal(x.length, 5);
    assert.equal(x[1], 1); // features in column order: x, then c's categories ('a"b' sorts before "c'd")
    const still = await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${quoteIdentifier('hostile"t')}`);
    assert.equal(still[0]?.n, 50);
  });
});
