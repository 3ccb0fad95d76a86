/**
 * How should time and high-cardinality categories enter the model? A one-off measurement behind the
 * preprocess defaults (issue #11): a 200k-row sample of flights-3m (label delay > 15, time split on
 * `date` 70/15/15), the same MLP settings for every variant, test ROC-AUC of each preprocessing.
 *
 *   npx tsx bench/experiments/categorical-encodings.ts [variant …]    (SEEDS=1,2,3 for several training seeds; MODEL=gbdt)
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { ArtifactRef } from '../../contracts/artifacts';
import { PreprocessConfig } from '../../contracts/stage-config';
import { trainSettings } from '../../test/support/train-settings';
import { openDuckDb } from '../../lib/data/duckdb';
import { fitPreprocessor } from '../../lib/data/preprocessor';
import { openSplitBatches, readSplitColumns } from '../../lib/data/split-batches';
import { loadScorer } from '../../lib/evaluation/scorer';
import { rocAuc } from '../../lib/evaluation/metrics';
import { trainGbdt } from '../../lib/model/gbdt/train-gbdt';
import { trainModel } from '../../lib/model/trainer';
import { FsArtifactStore } from '../../lib/store/fs-store';

const require = createRequire(import.meta.url);
const FLIGHTS = path.resolve('node_modules/vega-datasets/data/flights-3m.parquet');

const VARIANTS: Record<string, Record<string, unknown>> = {
  'v1 defaults (raw epoch, hash 32)': {
    calendarFeatures: false,
    rawTimestamps: true,
    oneHotMaxCardinality: 20,
    highCardinality: 'hash',
    hashBuckets: 32,
  },
  'calendar, hash 32': { oneHotMaxCardinality: 20, highCardinality: 'hash', hashBuckets: 32 },
  'calendar, hash auto': { oneHotMaxCardinality: 20, highCardinality: 'hash', hashBuckets: 'auto' },
  'calendar, frequency': { oneHotMaxCardinality: 20, highCardinality: 'frequency' },
  'calendar, target': { oneHotMaxCardinality: 20, highCardinality: 'target' },
  'calendar, target + frequency': { oneHotMaxCardinality: 20, highCardinality: 'target-and-frequency' },
  'calendar, one-hot 256': { oneHotMaxCardinality: 256 },
};

async function main() {
  const wanted = process.argv.slice(2);
  const root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-encodings-'));
  const store = new FsArtifactStore(path.join(root, 'store'));
  await store.ensureReady();
  const session = await openDuckDb({ allowedDirectories: [root, path.dirname(FLIGHTS)] });
  const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(
    `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}${path.sep}`,
  );
  await tf.setBackend('wasm');
  await tf.ready();
  try {
    // A stable 1-in-15 sample (≈200k rows), then a time split on `date` at the 70% / 85% quantiles.
    await session.run(
      `CREATE TABLE flights AS SELECT date, distance, origin, destination, delay > 15 AS delayed FROM read_parquet($1)
       WHERE hash(date, delay, distance, origin, destination) % 15 = 0`,
      [FLIGHTS],
    );
    const bounds = (
      await session.all<{ v: string; t: string }>(
        `SELECT CAST(quantile_disc(date, 0.7) AS VARCHAR) AS v, CAST(quantile_disc(date, 0.85) AS VARCHAR) AS t FROM flights`,
      )
    )[0]!;
    const refs: Record<string, ArtifactRef> = {};
    for (const [name, where] of [
      ['train', `date < '${bounds.v}'`],
      ['validation', `date >= '${bounds.v}' AND date < '${bounds.t}'`],
      ['test', `date >= '${bounds.t}'`],
    ] as const) {
      const file = path.join(root, `${name}.parquet`);
      await session.run(`COPY (SELECT * FROM flights WHERE ${where}) TO '${file}' (FORMAT parquet)`);
      const put = await store.put(`splits/${name}.parquet`, await readFile(file));
      refs[name] = { kind: 'split', uri: put.uri, sha256: put.sha256, bytes: put.bytes };
    }
    const counts = await session.all<{ n: number; p: number }>(
      `SELECT count(*) AS n, avg(CAST(delayed AS DOUBLE)) AS p FROM flights`,
    );
    console.log(
      `rows ${counts[0]?.n}, positive share ${counts[0]?.p}, validation from ${bounds.v}, test from ${bounds.t}`,
    );
    const columns = (
      await session.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet($1)`, [
        path.join(root, 'train.parquet'),
      ])
    ).map((c) => ({
      name: c.column_name,
      duckdbType: c.column_type,
    }));

    const seeds = (process.env.SEEDS ?? '42').split(',').map(Number);
    for (const seed of seeds)
      for (const [name, overrides] of Object.entries(VARIANTS)) {
        if (wanted.length > 0 && !wanted.some((w) => name.includes(w))) continue;
        const started = performance.now();
        const spec = await fitPreprocessor(session, {
          relation: 'read_parquet($1)',
          relationParams: [path.join(root, 'train.parquet')],
          columns,
          labelColumn: 'delayed',
          taskType: 'binary',
          config: PreprocessConfig.parse(overrides),
          timeColumn: 'date',
          fittedOn: { uri: refs.train!.uri, sha256: refs.train!.sha256 },
        });
        const fitMs = performance.now() - started;
        const specPut = await store.put(`${name}-${seed}/preprocessor.json`, JSON.stringify(spec));
        const preprocessor: ArtifactRef = {
          kind: 'preprocessor',
          uri: specPut.uri,
          sha256: specPut.sha256,
          bytes: specPut.bytes,
        };
        const train = await openSplitBatches(store, refs.train!, preprocessor);
        const validation = await openSplitBatches(store, refs.validation!, preprocessor);
        const key = `${name.replace(/[^a-z0-9]+/gi, '-')}-${seed}`;
        const gbdt = process.env.MODEL === 'gbdt';
        const job = {
          task: 'binary' as const,
          settings: gbdt
            ? trainSettings({ model: 'gbdt' })
            : trainSettings({
                model: 'mlp',
                hiddenLayers: [64, 64],
                epochs: 10,
                batchSize: 1024,
                learningRate: 0.003,
                earlyStopping: { enabled: true, patience: 3 },
              }),
          seed,
          inputsFingerprint: key,
          keys: { checkpoints: `${key}/checkpoints`, model: `${key}/model`, history: `${key}/history.json` },
          runId: key,
          attempt: 1,
        };
        const trainStarted = performance.now();
        const outcome = gbdt
          ? await trainGbdt({ store, train, validation }, job)
          : await trainModel({ tfjs: { tf, backend: 'wasm' }, store, train, validation }, job);
        const trainSeconds = (performance.now() - trainStarted) / 1000;
        await train.close();
        await validation.close();
        const scorer = await loadScorer(store, outcome.model, preprocessor);
        const test = await readSplitColumns(store, refs.test!);
        const { outputs, labels } = await scorer.score(test.columns, test.rows);
        const auc = rocAuc(labels, outputs);
        scorer.dispose();
        console.log(
          `${name.padEnd(34)} seed ${seed}  features ${String(spec.featureCount).padStart(4)}  test ROC-AUC ${auc.toFixed(4)}  ${gbdt ? 'gbdt' : 'mlp'} ${outcome.records?.length ?? outcome.epochsRun} epochs/rounds in ${trainSeconds.toFixed(1)} s  fit ${Math.round(fitMs)} ms`,
        );
      }
  } finally {
    await session.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
