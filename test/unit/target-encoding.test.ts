import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ArtifactRef } from '../../contracts/artifacts';
import { PreprocessConfig } from '../../contracts/stage-config';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { encodeColumns } from '../../lib/data/encode-columns';
import { autoHashBuckets, fitPreprocessor, type FitRequest } from '../../lib/data/preprocessor';
import type { CategoryStatisticsFeature, PreprocessorSpec } from '../../lib/data/preprocessor-spec';
import { openSplitBatches, readSplitColumns } from '../../lib/data/split-batches';
import { foldExpression } from '../../lib/data/target-encoding';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { createTableFromRows, type TestRow } from '../support/duckdb-rows';

const close = (actual: number | undefined, expected: number, tolerance = 1e-6) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

const COLUMNS = [
  { name: 'id', type: 'DOUBLE' as const },
  { name: 'c', type: 'VARCHAR' as const },
  { name: 'y', type: 'VARCHAR' as const },
  { name: 'split', type: 'VARCHAR' as const },
];

describe('target and frequency encoding of high-cardinality categories', () => {
  let session: DuckDbSession;
  let root: string;
  before(async () => {
    session = await openDuckDb({ threads: 2 });
    root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-target-encoding-test-'));
  });
  after(async () => {
    await session?.close();
    await rm(root, { recursive: true, force: true });
  });

  const config = (overrides: Record<string, unknown> = {}) =>
    PreprocessConfig.parse({ oneHotMaxCardinality: 2, rareMinCount: 1, exclude: ['split'], ...overrides });
  async function fit(
    table: string,
    rows: TestRow[],
    request: Partial<FitRequest> = {},
    relation?: string,
  ): Promise<PreprocessorSpec> {
    const loaded = await createTableFromRows(session, table, COLUMNS, rows);
    return fitPreprocessor(session, {
      relation: relation ?? loaded.table,
      columns: loaded.columns,
      labelColumn: 'y',
      taskType: 'binary',
      config: config(),
      ...request,
    });
  }
  const statsOf = (spec: PreprocessorSpec) =>
    spec.features.find(
      (f): f is CategoryStatisticsFeature => f.kind === 'category-statistics',
    ) as CategoryStatisticsFeature;

  it('validation, test and serving rows get the smoothed train mean (hand-computed); unseen values the prior', async () => {
    // c = a: 4 rows, 3 late; b: 2 rows, 0 late; d: 2 rows, 1 late. 8 rows, 4 late: prior 0.5, spread 0.5.
    const rows: TestRow[] = [
      [1, 'a', 'late', 'train'],
      [2, 'a', 'late', 'train'],
      [3, 'a', 'late', 'train'],
      [4, 'a', 'ok', 'train'],
      [5, 'b', 'ok', 'train'],
      [6, 'b', 'ok', 'train'],
      [7, 'd', 'late', 'train'],
      [8, 'd', 'ok', 'train'],
    ];
    const spec = await fit('hand', rows, { config: config({ targetEncoding: { smoothing: 2 } }) });
    assert.deepEqual(spec.featureNames, ['id', 'c.frequency', 'c.target']);
    const feature = statsOf(spec);
    assert.deepEqual(feature.categories, ['a', 'b', 'd']);
    assert.deepEqual(feature.counts, [4, 2, 2, 0]);
    const { x } = encodeColumns(spec, { id: [0, 0, 0], c: ['a', 'b', 'never seen'] }, 3);
    // Binary encodes P(class 1), here "ok" (classes sort as late, ok): the smoothed mean (ok + 2 × 0.5) / (rows + 2),
    // minus the prior, over the spread.
    close(x[2], ((1 + 1) / 6 - 0.5) / 0.5);
    close(x[5], ((2 + 1) / 4 - 0.5) / 0.5);
    close(x[8], 0); // unseen, with no rare pool in train: the prior
    // frequency: ln(1 + rows), standardised over train rows: values ln5 (×4), ln3 (×4)
    const center = (4 * Math.log(5) + 4 * Math.log(3)) / 8;
    const spread = Math.abs(Math.log(5) - center);
    close(x[1], (Math.log(5) - center) / spread);
    close(x[4], (Math.log(3) - center) / spread);
  });

  it('categories rarer than rareMinCount share one encoding, and unseen values get it too', async () => {
    const rows: TestRow[] = [];
    for (let i = 0; i < 60; i += 1) rows.push([i, `common${i % 3}`, i % 2 ? 'late' : 'ok', 'train']);
    for (let i = 0; i < 6; i += 1) rows.push([100 + i, `rare${i}`, 'late', 'train']);
    const spec = await fit('rare', rows, { config: config({ rareMinCount: 5 }) });
    const feature = statsOf(spec);
    assert.deepEqual(feature.categories, ['common0', 'common1', 'common2']);
    assert.equal(feature.rareDistinct, 6);
    assert.equal(feature.counts.at(-1), 6);
    const { x } = encodeColumns(spec, { id: [0, 0], c: ['rare3', 'brand new'] }, 2);
    assert.deepEqual(Array.from(x.subarray(1, 3)), Array.from(x.subarray(4, 6)));
    assert.ok((x[2] as number) < 0, 'the rare pool is all late: its P(ok) lies below the prior');
  });

  it('multiclass: one target output per class; regression: the mean target', async () => {
    const rows: TestRow[] = Array.from({ length: 90 }, (_, i) => [
      i,
      `k${i % 9}`,
      ['x', 'y', 'z'][i % 3] as string,
      'train',
    ]);
    const multi = await fit('multi', rows, { taskType: 'multiclass' });
    assert.deepEqual(multi.featureNames.slice(-3), ['c.target=x', 'c.target=y', 'c.target=z']);
    const regressionRows: TestRow[] = Array.from({ length: 90 }, (_, i) => [i, `k${i % 9}`, String(i % 9), 'train']);
    const loaded = await createTableFromRows(
      session,
      'reg',
      [COLUMNS[0]!, COLUMNS[1]!, { name: 'y', type: 'DOUBLE' }, COLUMNS[3]!],
      regressionRows.map((r) => [r[0], r[1], Number(r[2]), r[3]] as TestRow),
    );
    const regression = await fitPreprocessor(session, {
      relation: loaded.table,
      columns: loaded.columns,
      labelColumn: 'y',
      taskType: 'regression',
      config: config({ targetEncoding: { smoothing: 0 } }),
    });
    const { x } = encodeColumns(regression, { id: [0], c: ['k8'] }, 1);
    // y = 0..8 evenly: mean 4, population spread sqrt(60 / 9); category k8's mean is 8.
    close(x[regression.featureNames.indexOf('c.target')], (8 - 4) / Math.sqrt(60 / 9));
  });

  it('labels of validation and test rows never change the fitted spec (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 30 }),
            fc.boolean(),
            fc.constantFrom('train', 'train', 'validation', 'test'),
          ),
          { minLength: 20, maxLength: 120 },
        ),
        fc.array(fc.boolean(), { minLength: 120, maxLength: 120 }),
        async (cells, flips) => {
          run += 1;
          const rows = cells.map(([c, late, split], i): TestRow => [i, `cat${c}`, late ? 'late' : 'ok', split]);
          if (
            !rows.some((r) => r[3] === 'train' && r[2] === 'late') ||
            !rows.some((r) => r[3] === 'train' && r[2] === 'ok')
          )
            return;
          const changed = rows.map((r, i): TestRow =>
            r[3] !== 'train' && flips[i]
              ? [r[0] ?? null, r[1] ?? null, r[2] === 'late' ? 'ok' : 'late', r[3] ?? null]
              : r,
          );
          const trainOnly = (table: string) => `(SELECT * FROM "${table}" WHERE split = 'train')`;
          const request = { classes: ['late', 'ok'], config: config({ rareMinCount: 2 }) };
          const before = await fit(`p${run}a`, rows, request, trainOnly(`p${run}a`));
          const after = await fit(`p${run}b`, changed, request, trainOnly(`p${run}b`));
          assert.ok(statsOf(before).target, 'c is target-encoded');
          assert.deepEqual(after, before);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a train row's out-of-fold encoding never uses its own label (property), while its full-train encoding does", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.boolean()), { minLength: 30, maxLength: 150 }),
        fc.nat(),
        async (cells, pick) => {
          run += 1;
          const rows = cells.map(([c, late], i): TestRow => [i, `cat${c}`, late ? 'late' : 'ok', 'train']);
          const row = pick % rows.length;
          const flipped = rows.map((r, i): TestRow =>
            i === row ? [r[0] ?? null, r[1] ?? null, r[2] === 'late' ? 'ok' : 'late', r[3] ?? null] : r,
          );
          const request = { classes: ['late', 'ok'], config: config({ rareMinCount: 1 }) };
          const encodeRow = async (table: string, data: TestRow[]) => {
            const spec = await fit(table, data, request);
            const fold = (
              await session.all<{ f: number }>(
                `SELECT ${foldExpression(spec.folds!)} AS f FROM "${table}" WHERE id = ${row}`,
              )
            )[0]!.f;
            const raw = { id: [row], c: [data[row]![1] as string] };
            const at = spec.featureNames.indexOf('c.target');
            return {
              fold,
              outOfFold: encodeColumns(spec, raw, 1, { folds: [fold] }).x[at],
              full: encodeColumns(spec, raw, 1).x[at],
            };
          };
          const before = await encodeRow(`o${run}a`, rows);
          const after = await encodeRow(`o${run}b`, flipped);
          assert.equal(after.fold, before.fold, 'the fold does not hash the label');
          assert.equal(after.outOfFold, before.outOfFold);
          assert.notEqual(after.full, before.full, 'the full-train encoding does see the label: the property can fail');
        },
      ),
      { numRuns: 25 },
    );
  });

  it('the train reader encodes the fitted train split out of fold and checks its folds; other splits and the scorer path use the full encoding', async () => {
    const rows: TestRow[] = Array.from({ length: 300 }, (_, i) => [
      i,
      `cat${i % 30}`,
      (i * 7) % 5 === 0 ? 'late' : 'ok',
      'train',
    ]);
    const loaded = await createTableFromRows(session, 'reader', COLUMNS, rows);
    const file = path.join(root, 'train.parquet');
    await session.run(`COPY ${loaded.table} TO '${file}' (FORMAT parquet)`);
    const store = new FsArtifactStore(path.join(root, 'store'));
    await store.ensureReady();
    const put = await store.put('splits/train.parquet', await readFile(file));
    const train: ArtifactRef = { kind: 'split', uri: put.uri, sha256: put.sha256, bytes: put.bytes };
    const spec = await fitPreprocessor(session, {
      relation: 'read_parquet($1)',
      relationParams: [file],
      columns: loaded.columns,
      labelColumn: 'y',
      taskType: 'binary',
      config: config(),
      fittedOn: { uri: train.uri, sha256: train.sha256 },
    });
    const readBatches = async (ref: ArtifactRef, specRef: ArtifactRef) => {
      const source = await openSplitBatches(store, ref, specRef);
      const x: number[] = [];
      for await (const batch of source.batches(100)) x.push(...batch.x);
      await source.close();
      return x;
    };
    const putSpec = async (name: string, value: PreprocessorSpec): Promise<ArtifactRef> => {
      const p = await store.put(name, JSON.stringify(value));
      return { kind: 'preprocessor', uri: p.uri, sha256: p.sha256, bytes: p.bytes };
    };
    const asTrain = await readBatches(train, await putSpec('spec.json', spec));
    const asOther = await readBatches(
      train,
      await putSpec('spec-other.json', { ...spec, fittedOn: { ...spec.fittedOn, sha256: 'another split' } }),
    );
    const read = await readSplitColumns(store, train);
    assert.deepEqual(Array.from(encodeColumns(spec, read.columns, read.rows).x), asOther);
    const width = spec.featureCount;
    const target = spec.featureNames.indexOf('c.target');
    let differ = 0;
    for (let r = 0; r < 300; r += 1) {
      for (let j = 0; j < width; j += 1) {
        if (j !== target)
          assert.equal(asTrain[r * width + j], asOther[r * width + j], `row ${r} feature ${spec.featureNames[j]}`);
        else if (asTrain[r * width + j] !== asOther[r * width + j]) differ += 1;
      }
    }
    assert.ok(differ > 250, `out-of-fold values differ from full-train ones (${differ} of 300 rows)`);
    // Folds that no longer match the fit (an engine that hashes differently) are refused, never used.
    const moved = {
      ...spec,
      folds: { ...spec.folds!, rows: spec.folds!.rows.map((n, i) => (i === 0 ? n + 1 : i === 1 ? n - 1 : n)) },
    };
    await assert.rejects(readBatches(train, await putSpec('spec-moved.json', moved)), /other target-encoding folds/);
  });

  it('hash buckets are sized to the column (highCardinality "hash", hashBuckets "auto")', async () => {
    assert.deepEqual(
      [autoHashBuckets(1), autoHashBuckets(21), autoHashBuckets(228), autoHashBuckets(1e6)],
      [2, 32, 256, 4096],
    );
    const rows: TestRow[] = Array.from({ length: 300 }, (_, i) => [i, `cat${i % 100}`, i % 2 ? 'late' : 'ok', 'train']);
    const spec = await fit('hashed', rows, { config: config({ highCardinality: 'hash' }) });
    const hashed = spec.features.find((f) => f.kind === 'hashed');
    assert.equal(hashed?.kind === 'hashed' ? hashed.buckets : 0, 128);
  });
});
