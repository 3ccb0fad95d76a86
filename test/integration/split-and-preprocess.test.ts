import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { fitPreprocessorActivity } from '../../activities/fit-preprocessor';
import { splitAndSampleActivity } from '../../activities/split-and-sample';
import { PipelineInput, type PipelineInputDraft } from '../../contracts/pipeline-input';
import type { FitPreprocessorResult, SplitAndSampleResult, SplitName } from '../../contracts/stage-results';
import type { DatasetFingerprint } from '../../contracts/stages';
import { loadConfig } from '../../lib/config';
import { readJsonArtifact } from '../../lib/data/artifact-files';
import type { CellValue } from '../../lib/data/column-values';
import type { NumericFeature } from '../../lib/data/preprocessor-spec';
import { openSplitBatches, readPreprocessorSpec, readSplitColumns } from '../../lib/data/split-batches';
import { SplitManifest } from '../../lib/data/split-manifest';
import { stratumCounts } from '../../lib/data/split-plan';
import { createLogger } from '../../lib/logger';
import { stageKey } from '../../lib/run-keys';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';

/**
 * splitAndSample and fitPreprocessor against the real MinIO, on real public data shipped by
 * vega-datasets: penguins (multiclass, nulls) and seattle-weather (time split on "date"). Every
 * assertion reads the outputs back from the bucket.
 */
const require = createRequire(import.meta.url);
const vegaData = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data');
const penguinsPath = path.join(vegaData, 'penguins.json');
const weatherPath = path.join(vegaData, 'seattle-weather.csv');
const SPLITS: SplitName[] = ['train', 'validation', 'test'];

describe('splitAndSample + fitPreprocessor (real MinIO, real data)', () => {
  let store: ArtifactStore;
  let splitAndSample: ReturnType<typeof splitAndSampleActivity>;
  let fitPreprocessor: ReturnType<typeof fitPreprocessorActivity>;
  const prefix = `test/split-${randomUUID().slice(0, 8)}`;
  const model = `split-it-${randomUUID().slice(0, 6)}`;
  let penguins: Record<string, unknown>[];

  before(async () => {
    const config = loadConfig();
    if (config.store.kind !== 's3')
      throw new Error('Integration tests run against the real MinIO: set S3_ENDPOINT and TRAINYARD_STORE=s3.');
    store = createArtifactStore(config.store);
    await store.ensureReady();
    const deps = { store, logger: createLogger({ level: 'warn', format: 'json' }) };
    splitAndSample = splitAndSampleActivity(deps);
    fitPreprocessor = fitPreprocessorActivity(deps);
    penguins = JSON.parse(await readFile(penguinsPath, 'utf8'));
  });

  after(async () => {
    if (!store) return;
    for (const root of [prefix, `runs/${model}`])
      for await (const info of store.list(`${root}/`)) await store.delete(info.key);
  });

  const environment = (workflowId: string) =>
    new MockActivityEnvironment({ workflowExecution: { workflowId, runId: 'run-1' } } as never);

  async function upload(name: string, body: string): Promise<DatasetFingerprint> {
    const put = await store.put(`${prefix}/${name}`, body);
    assert.equal(put.sha256, createHash('sha256').update(body).digest('hex'));
    return { uri: put.uri, sha256: put.sha256, bytes: put.bytes };
  }

  async function split(
    draft: Omit<PipelineInputDraft, 'model' | 'dataset'>,
    dataset: DatasetFingerprint,
    workflowId = `wf-${randomUUID().slice(0, 8)}`,
  ) {
    const input = PipelineInput.parse({ model, dataset: { uri: dataset.uri }, ...draft });
    const result = (await environment(workflowId).run(splitAndSample, { input, dataset })) as SplitAndSampleResult;
    const manifest = await readJsonArtifact(store, result.manifest, SplitManifest);
    return { input, result, manifest, workflowId };
  }

  async function fit(input: PipelineInput, splitResult: SplitAndSampleResult, workflowId: string) {
    const result = (await environment(workflowId).run(fitPreprocessor, {
      input,
      split: splitResult,
    })) as FitPreprocessorResult;
    return { result, spec: await readPreprocessorSpec(store, result.preprocessor) };
  }

  /** Each split's rows as JSON strings of all their values, read back from the Parquet in MinIO. */
  async function splitRowsAsText(result: SplitAndSampleResult): Promise<Record<SplitName, string[]>> {
    const out = {} as Record<SplitName, string[]>;
    for (const name of SPLITS) {
      const { columns, rows } = await readSplitColumns(store, result.splits[name]);
      const names = Object.keys(columns);
      out[name] = Array.from({ length: rows }, (_, r) =>
        JSON.stringify(names.map((c) => (columns[c] as CellValue[])[r])),
      );
    }
    return out;
  }

  const penguinRows = (rows: Record<string, unknown>[]) => JSON.stringify(rows);
  let penguinRun: Awaited<ReturnType<typeof split>>;
  let penguinFit: Awaited<ReturnType<typeof fit>>;

  it('penguins, multiclass: stratified, duplicates removed, no row in two splits, manifest counts = Parquet counts', async () => {
    const planted = [...penguins, ...penguins.slice(0, 9), ...penguins.slice(100, 103)];
    const dataset = await upload('penguins-with-duplicates.json', penguinRows(planted));
    penguinRun = await split({ task: { type: 'multiclass', label: 'Species' }, seed: 42 }, dataset);
    const { result, manifest, workflowId } = penguinRun;

    assert.equal(result.strategy, 'stratified');
    assert.match(
      result.manifest.uri,
      new RegExp(`/${stageKey(model, workflowId, 'splitAndSample', 'manifest.json')}$`),
    );
    assert.match(
      result.splits.train.uri,
      new RegExp(`/${stageKey(model, workflowId, 'splitAndSample', 'train.parquet')}$`),
    );
    assert.deepEqual(manifest.rowsRemoved, { inputRows: 356, duplicates: 12, missingLabel: 0, missingTime: 0 });
    assert.deepEqual(manifest.classes, ['Adelie', 'Chinstrap', 'Gentoo']);
    assert.equal(manifest.dataset.sha256, dataset.sha256);

    const rows = await splitRowsAsText(result);
    for (const name of SPLITS) {
      assert.equal(
        rows[name].length,
        manifest.rows[name],
        `${name}: manifest says ${manifest.rows[name]}, Parquet holds ${rows[name].length}`,
      );
      assert.equal(result.rows[name], manifest.rows[name]);
      assert.equal(result.splits[name].metadata?.rows, manifest.rows[name]);
      assert.equal(new Set(rows[name]).size, rows[name].length, `${name} holds a duplicate`);
    }
    const all = [...rows.train, ...rows.validation, ...rows.test];
    assert.equal(all.length, 344);
    assert.equal(new Set(all).size, 344, 'a row sits in two splits');

    // stratified: each species is cut exactly as stratumCounts says
    const perSpecies = { Adelie: 152, Chinstrap: 68, Gentoo: 124 };
    for (const name of SPLITS) {
      for (const [species, n] of Object.entries(perSpecies)) {
        assert.equal(
          manifest.classCounts?.[name][species],
          stratumCounts(n, manifest.split.fractions)[name],
          `${species} in ${name}`,
        );
      }
    }
  });

  it('penguins: the preprocessor is fitted on train only and the BatchSource streams every train row, reproducibly', async () => {
    const { input, result, workflowId, manifest } = penguinRun;
    penguinFit = await fit(input, result, workflowId);
    const { spec } = penguinFit;
    assert.deepEqual(penguinFit.result.classes, ['Adelie', 'Chinstrap', 'Gentoo']);
    assert.equal(penguinFit.result.featureCount, spec.featureCount);
    assert.match(
      penguinFit.result.preprocessor.uri,
      new RegExp(`/${stageKey(model, workflowId, 'fitPreprocessor', 'preprocessor.json')}$`),
    );
    assert.deepEqual(
      spec.features.map((f) => [f.column, f.kind]),
      [
        ['Island', 'one-hot'],
        ['Beak Length (mm)', 'numeric'],
        ['Beak Depth (mm)', 'numeric'],
        ['Flipper Length (mm)', 'numeric'],
        ['Body Mass (g)', 'numeric'],
        ['Sex', 'one-hot'],
      ],
    );

    // statistics equal the train split's, computed here from the train Parquet, and differ from the test split's
    const train = await readSplitColumns(store, result.splits.train, ['Body Mass (g)']);
    const test = await readSplitColumns(store, result.splits.test, ['Body Mass (g)']);
    const finite = (values: CellValue[]) => values.filter((v): v is number => typeof v === 'number');
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2
        ? (s[(s.length - 1) / 2] as number)
        : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
    };
    const mass = spec.features.find((f) => f.column === 'Body Mass (g)') as NumericFeature;
    const trainMass = finite(train.columns['Body Mass (g)'] as CellValue[]);
    assert.equal(mass.statistics.median, median(trainMass));
    assert.ok(
      Math.abs((mass.statistics.mean as number) - trainMass.reduce((a, b) => a + b, 0) / trainMass.length) < 1e-9,
    );
    assert.equal(mass.statistics.count, trainMass.length);
    assert.notEqual(mass.statistics.median, median(finite(test.columns['Body Mass (g)'] as CellValue[])));

    const source = await openSplitBatches(store, result.splits.train, penguinFit.result.preprocessor);
    try {
      assert.equal(source.rows, manifest.rows.train);
      assert.equal(source.featureCount, spec.featureCount);
      assert.deepEqual(source.classes, ['Adelie', 'Chinstrap', 'Gentoo']);
      const read = async (shuffleSeed?: number) => {
        const ys: number[] = [];
        const firstFeature: number[] = [];
        let batches = 0;
        for await (const batch of source.batches(32, shuffleSeed === undefined ? {} : { shuffleSeed })) {
          batches += 1;
          assert.equal(batch.x.length, batch.rows * spec.featureCount);
          assert.equal(batch.y.length, batch.rows);
          assert.ok(batch.rows <= 32);
          assert.ok(batch.x.every(Number.isFinite), 'a feature is not finite (imputation missed a null)');
          ys.push(...batch.y);
          for (let r = 0; r < batch.rows; r += 1)
            firstFeature.push((batch.x[r * spec.featureCount + 4] as number) * 1000 + (batch.y[r] as number));
        }
        return { ys, firstFeature, batches };
      };
      const plain = await read();
      assert.equal(plain.ys.length, manifest.rows.train);
      assert.equal(plain.batches, Math.ceil(manifest.rows.train / 32));
      const counts = [0, 0, 0];
      for (const y of plain.ys) counts[y] = (counts[y] as number) + 1;
      assert.deepEqual(counts, [
        manifest.classCounts?.train.Adelie,
        manifest.classCounts?.train.Chinstrap,
        manifest.classCounts?.train.Gentoo,
      ]);
      const a = await read(7);
      const b = await read(7);
      const c = await read(8);
      assert.deepEqual(a.firstFeature, b.firstFeature, 'the same shuffleSeed must give the same order');
      assert.notDeepEqual(a.firstFeature, c.firstFeature, 'another shuffleSeed should give another order');
      assert.notDeepEqual(a.firstFeature, plain.firstFeature);
      assert.deepEqual([...a.firstFeature].sort(), [...plain.firstFeature].sort(), 'a shuffle must hold the same rows');
    } finally {
      await source.close();
    }
  });

  it('a retry of the same run reuses its output; a re-run on reordered rows puts every row in the same split', async () => {
    const { input, result, workflowId } = penguinRun;
    const retried = (await environment(workflowId).run(splitAndSample, {
      input,
      dataset: await upload(
        'penguins-with-duplicates.json',
        penguinRows([...penguins, ...penguins.slice(0, 9), ...penguins.slice(100, 103)]),
      ),
    })) as SplitAndSampleResult;
    assert.deepEqual(retried, result);

    const reordered = [...penguins].reverse();
    const rerun = await split(
      { task: { type: 'multiclass', label: 'Species' }, seed: 42 },
      await upload('penguins-reversed.json', penguinRows(reordered)),
    );
    const first = await splitRowsAsText(result);
    const second = await splitRowsAsText(rerun.result);
    for (const name of SPLITS)
      assert.deepEqual([...second[name]].sort(), [...first[name]].sort(), `${name} differs after reordering the input`);
    assert.equal(
      rerun.result.splits.train.sha256,
      result.splits.train.sha256,
      'the same rows in the same (hash) order give byte-identical Parquet',
    );
  });

  it('seattle-weather: a time split on "date" keeps train < validation < test in time', async () => {
    const csv = await readFile(weatherPath, 'utf8');
    const dataset = await upload('seattle-weather.csv', csv);
    const run = await split({ task: { type: 'multiclass', label: 'weather' }, split: { timeColumn: 'date' } }, dataset);
    const { result, manifest } = run;
    assert.equal(result.strategy, 'time');
    assert.equal(manifest.split.time?.source, 'quantiles');
    assert.equal(manifest.rowsRemoved.inputRows, 1461);
    const ranges = {} as Record<SplitName, { min: number; max: number }>;
    for (const name of SPLITS) {
      const { columns, rows } = await readSplitColumns(store, result.splits[name], ['date']);
      assert.equal(rows, manifest.rows[name]);
      const dates = columns.date as number[];
      ranges[name] = { min: Math.min(...dates), max: Math.max(...dates) };
    }
    const { validationStart, testStart } = manifest.split.time as { validationStart: number; testStart: number };
    assert.ok(ranges.train.max < validationStart && validationStart <= ranges.validation.min);
    assert.ok(ranges.validation.max < testStart && testStart <= ranges.test.min);
    assert.equal(manifest.split.time?.validationStartIso, new Date(validationStart * 1000).toISOString());
    assert.ok(Math.abs(manifest.rows.train - 0.7 * 1461) <= 2, `train ${manifest.rows.train}`);

    const fitted = await fit(run.input, result, run.workflowId);
    assert.deepEqual(fitted.result.classes, ['drizzle', 'fog', 'rain', 'snow', 'sun']);
    // The split's time column: its raw value is left out (test dates all lie after train's), its calendar features stay (a DATE has no hour).
    assert.deepEqual(
      fitted.spec.features.filter((f) => f.column === 'date').map((f) => (f.kind === 'calendar' ? f.parts : f.kind)),
      [['day-of-week', 'day-of-month', 'month']],
    );
    assert.match(fitted.spec.excluded.find((e) => e.column === 'date')?.reason ?? '', /split's time column/);
    const source = await openSplitBatches(store, result.splits.test, fitted.result.preprocessor);
    try {
      let rows = 0;
      for await (const batch of source.batches(100)) rows += batch.rows;
      assert.equal(rows, manifest.rows.test);
    } finally {
      await source.close();
    }
  });

  it('class weights reach training as per-row weights; oversampling reaches the target ratio in train only', async () => {
    const dataset = await upload('penguins.json', penguinRows(penguins));
    const weighted = await split(
      { task: { type: 'multiclass', label: 'Species' }, sampling: { strategy: 'class-weights' } },
      dataset,
    );
    const weights = weighted.result.classWeights as Record<string, number>;
    const trainCounts = weighted.manifest.classCounts?.train as Record<string, number>;
    const total = Object.values(trainCounts).reduce((a, b) => a + b, 0);
    for (const [species, n] of Object.entries(trainCounts))
      assert.ok(Math.abs((weights[species] as number) - total / (3 * n)) < 1e-12);
    const fitted = await fit(weighted.input, weighted.result, weighted.workflowId);
    const source = await openSplitBatches(store, weighted.result.splits.train, fitted.result.preprocessor, {
      weightsByClass: weights,
    });
    try {
      for await (const batch of source.batches(50)) {
        assert.ok(batch.weights);
        batch.y.forEach((y, i) =>
          assert.ok(
            Math.abs((batch.weights?.[i] as number) - (weights[source.classes?.[y] as string] as number)) < 1e-6,
          ),
        );
      }
    } finally {
      await source.close();
    }

    const over = await split(
      { task: { type: 'multiclass', label: 'Species' }, sampling: { strategy: 'oversample', targetRatio: 1 } },
      dataset,
    );
    const overTrain = over.manifest.classCounts?.train as Record<string, number>;
    assert.equal(
      new Set(Object.values(overTrain)).size,
      1,
      `train classes are not balanced: ${JSON.stringify(overTrain)}`,
    );
    assert.deepEqual(over.manifest.classCounts?.trainBeforeSampling, weighted.manifest.classCounts?.train);
    assert.deepEqual(over.manifest.classCounts?.test, weighted.manifest.classCounts?.test);
    assert.deepEqual(over.manifest.classCounts?.validation, weighted.manifest.classCounts?.validation);
    const { rows } = await readSplitColumns(store, over.result.splits.train, ['Species']);
    assert.equal(rows, over.manifest.rows.train);
  });

  it('a derived label is never a feature: its source column is excluded', async () => {
    const dataset = await upload('penguins-derived.json', penguinRows(penguins));
    const run = await split(
      { task: { type: 'binary', label: { column: 'Body Mass (g)', op: '>', value: 4200, name: 'heavy' } } },
      dataset,
    );
    assert.equal(run.manifest.task.labelColumn, 'heavy');
    assert.equal(run.manifest.task.labelDerivedFrom, 'Body Mass (g)');
    assert.deepEqual(run.manifest.classes, ['false', 'true']);
    const fitted = await fit(run.input, run.result, run.workflowId);
    assert.ok(!fitted.spec.features.some((f) => f.column === 'Body Mass (g)'));
    assert.ok(fitted.spec.excluded.some((e) => e.column === 'Body Mass (g)'));
  });

  it('honours cancellation: cancelled after the download, it stops with CancelledFailure and writes no manifest', async () => {
    const dataset = await upload('penguins-cancel.json', penguinRows(penguins));
    const workflowId = `wf-${randomUUID().slice(0, 8)}`;
    const env = environment(workflowId);
    const steps: string[] = [];
    env.on('heartbeat', (details: { step: string }) => {
      steps.push(details.step);
      env.cancel();
    });
    const input = PipelineInput.parse({
      model,
      dataset: { uri: dataset.uri },
      task: { type: 'multiclass', label: 'Species' },
    });
    await assert.rejects(env.run(splitAndSample, { input, dataset }), (error) => error instanceof CancelledFailure);
    assert.deepEqual(steps, ['downloading the dataset']);
    assert.equal(await store.exists(stageKey(model, workflowId, 'splitAndSample', 'manifest.json')), false);
  });

  it('bad input fails non-retryably with a message a person can act on', async () => {
    const dataset = await upload('penguins-bad.json', penguinRows(penguins));
    await assert.rejects(
      split({ task: { type: 'multiclass', label: 'Nope' } }, dataset),
      (error: Error & { type?: string; nonRetryable?: boolean }) => {
        assert.equal(error.type, 'InvalidPipelineConfig');
        assert.equal(error.nonRetryable, true);
        assert.match(error.message, /no column "Nope"/);
        return true;
      },
    );
    const single = await upload('single-class.json', JSON.stringify(penguins.filter((p) => p.Species === 'Adelie')));
    await assert.rejects(
      split({ task: { type: 'multiclass', label: 'Species' } }, single),
      (error: Error & { type?: string }) => {
        assert.equal(error.type, 'DataValidationFailed');
        assert.match(error.message, /1 class/);
        return true;
      },
    );
    await assert.rejects(
      split({ task: { type: 'binary', label: 'Species' } }, dataset),
      (error: Error & { type?: string }) => {
        assert.equal(error.type, 'DataValidationFailed');
        assert.match(error.message, /3 classes \(Adelie, Chinstrap, Gentoo\).*binary needs exactly two/);
        return true;
      },
    );
    await assert.rejects(
      split({ task: { type: 'regression', label: 'Body Mass (g)' }, sampling: { strategy: 'undersample' } }, dataset),
      (error: Error & { type?: string }) => {
        assert.equal(error.type, 'InvalidPipelineConfig');
        return true;
      },
    );
  });
});
