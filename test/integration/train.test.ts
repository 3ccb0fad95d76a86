import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { fitPreprocessorActivity } from '../../activities/fit-preprocessor';
import { splitAndSampleActivity } from '../../activities/split-and-sample';
import { trainActivity, trainActivityReading, type TrainArgs, type TrainHeartbeat } from '../../activities/train';
import type { ArtifactRef } from '../../contracts/artifacts';
import { PipelineInput } from '../../contracts/pipeline-input';
import type {
  ChampionRefs,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
} from '../../contracts/stage-results';
import { openSplitBatches } from '../../lib/data/split-batches';
import { loadConfig, type StoreSettings } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { loadTrainedModel } from '../../lib/model/load-model';
import { readObject } from '../../lib/store/read-object';
import { stageKey } from '../../lib/run-keys';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { loadTfjs } from '../../lib/tfjs-backend';

/**
 * The train activity against the real MinIO: checkpoints, model and history land in the bucket, and a
 * retried attempt resumes from what the earlier attempt's heartbeat named. The batches are generated
 * (the thread loads test/support/generated-training-sources.ts), so this test needs no split artifacts.
 */
const sourcesModule = new URL('../support/generated-training-sources.ts', import.meta.url).href;

function generatedRef(metadata: Record<string, string | number>): ArtifactRef {
  return { kind: 'split', uri: 's3://trainyard/generated/none', sha256: '1'.repeat(64), bytes: 0, metadata };
}

function trainArgs(
  model: string,
  train: Record<string, unknown>,
  classes = ['no', 'yes'],
  task: 'binary' | 'multiclass' = 'binary',
): TrainArgs {
  const split: SplitAndSampleResult = {
    manifest: generatedRef({}),
    splits: {
      train: generatedRef({ kind: 'binary', rows: 1500, seed: 1 }),
      validation: generatedRef({ kind: 'binary', rows: 300, seed: 2 }),
      test: generatedRef({}),
    },
    rows: { train: 1500, validation: 300, test: 0 },
    strategy: 'generated',
  };
  return {
    input: PipelineInput.parse({
      model,
      dataset: { uri: 's3://trainyard/generated/data.csv' },
      task: { type: task, label: 'y' },
      train: { model: 'mlp', ...train },
    }),
    split,
    preprocessor: { preprocessor: generatedRef({}), featureCount: 4, classes },
  };
}

describe('train activity (real MinIO)', () => {
  let store: ArtifactStore;
  let storeSettings: StoreSettings;
  let train: ReturnType<typeof trainActivity>;
  const model = `train-it-${randomUUID().slice(0, 8)}`;

  before(async () => {
    const config = loadConfig();
    if (config.store.kind !== 's3')
      throw new Error('Integration tests run against the real MinIO: set S3_ENDPOINT and TRAINYARD_STORE=s3.');
    store = createArtifactStore(config.store);
    storeSettings = config.store;
    await store.ensureReady();
    train = trainActivityReading(
      { store, storeSettings, logger: createLogger({ level: 'warn', format: 'json' }) },
      sourcesModule,
    );
  });

  function environment(workflowId: string, info: Record<string, unknown> = {}) {
    return new MockActivityEnvironment({ workflowExecution: { workflowId, runId: 'run-a' }, ...info } as never);
  }

  const runTrain = (env: MockActivityEnvironment, args: TrainArgs) => env.run(train, args) as Promise<TrainResult>;

  let first: TrainResult;
  const firstWorkflow = `wf-${randomUUID().slice(0, 8)}`;

  it('trains, heartbeating each epoch with its checkpoint, and stores model, meta, history and checkpoints', async () => {
    const env = environment(firstWorkflow);
    const beats: TrainHeartbeat[] = [];
    env.on('heartbeat', (details: TrainHeartbeat) => beats.push(details));
    first = await runTrain(
      env,
      trainArgs(model, { hiddenLayers: [16], epochs: 4, batchSize: 64, earlyStopping: { enabled: false } }),
    );

    assert.equal(first.epochsRun, 4);
    assert.equal(first.resumedFromEpoch, 0);
    assert.equal(first.backend, (await loadTfjs()).backend);
    assert.match(
      first.model.uri,
      new RegExp(`^s3://trainyard/runs/${model}/${firstWorkflow}/train/model/model-meta\\.json$`),
    );
    const epochBeats = beats.filter((b) => b.checkpoint);
    assert.deepEqual([...new Set(epochBeats.map((b) => b.epoch))], [1, 2, 3, 4]);
    assert.equal(epochBeats.at(-1)!.checkpoint!.kind, 'checkpoint');
    assert.ok(epochBeats.at(-1)!.metricsSoFar.validationAccuracy! > 0.9);

    const checkpoints = stageKey(model, firstWorkflow, 'train', 'checkpoints');
    const keys: string[] = [];
    for await (const info of store.list(`${checkpoints}/`)) keys.push(info.key.slice(checkpoints.length + 1));
    const history = JSON.parse((await readObject(store, store.keyFor(first.history.uri))).toString('utf8'));
    // Two checkpoints are kept: the newest (resume) and the best (early stopping), each complete.
    const kept = [...new Set([4, history.bestEpoch as number])];
    for (const epoch of kept) {
      for (const file of ['model.json', 'weights.bin', 'optimizer.bin', 'state.json'])
        assert.ok(keys.includes(`epoch-${epoch}/${file}`), `epoch-${epoch}/${file}`);
    }
    assert.deepEqual(
      [...new Set(keys.filter((k) => k.startsWith('epoch-')).map((k) => k.split('/')[0]))].sort(),
      kept.map((e) => `epoch-${e}`).sort(),
    );
    const latest = JSON.parse((await readObject(store, `${checkpoints}/latest.json`)).toString('utf8'));
    assert.equal(latest.epoch, 4);

    assert.equal(history.epochs.length, 4);
    assert.equal(history.backend, first.backend);

    const loaded = await loadTrainedModel(store, first.model);
    assert.equal(loaded.meta.backend, first.backend);
    assert.deepEqual(loaded.meta.classes, ['no', 'yes']);
    const p = loaded.predict(new Float32Array([3, 1.5, 1.5, 1.5, -3, -1.5, -1.5, -1.5]), 2);
    assert.ok(p[0]! > 0.9 && p[1]! < 0.1);
    loaded.dispose();
  });

  it('on cancellation ends the thread; the retried attempt resumes from the heartbeat’s checkpoint', async () => {
    const workflowId = `wf-${randomUUID().slice(0, 8)}`;
    const args = trainArgs(model, {
      hiddenLayers: [32, 32],
      epochs: 6,
      batchSize: 16,
      earlyStopping: { enabled: false },
    });
    const env = environment(workflowId);
    let lastBeat: TrainHeartbeat | undefined;
    env.on('heartbeat', (details: TrainHeartbeat) => {
      lastBeat = details;
      if (details.epoch === 2 && details.checkpoint) env.cancel();
    });
    await assert.rejects(env.run(train, args), (error) => error instanceof CancelledFailure);
    assert.equal(lastBeat?.epoch, 2);

    const retry = environment(workflowId, { attempt: 2, heartbeatDetails: lastBeat });
    const result = await runTrain(retry, args);
    assert.equal(result.resumedFromEpoch, 2);
    assert.equal(result.epochsRun, 6);
    const history = JSON.parse((await readObject(store, store.keyFor(result.history.uri))).toString('utf8'));
    assert.deepEqual(
      history.epochs.map((e: { attempt: number }) => e.attempt),
      [1, 1, 2, 2, 2, 2],
    );

    // Without heartbeat details (e.g. the details were lost), the latest.json pointer is the fallback.
    const third = await runTrain(environment(workflowId, { attempt: 3 }), args);
    assert.equal(third.resumedFromEpoch, 6);
    assert.equal(third.epochsRun, 6);
  });

  it('warm-starts from a compatible champion and cold-starts, with the reason, from an incompatible one', async () => {
    const champion: ChampionRefs = {
      model,
      version: 1,
      modelRef: first.model,
      schema: generatedRef({}),
      statistics: generatedRef({}),
      preprocessor: generatedRef({}),
      metrics: {},
    };
    const warm = await runTrain(environment(`wf-${randomUUID().slice(0, 8)}`), {
      ...trainArgs(model, { hiddenLayers: [16], epochs: 1, warmStart: true }),
      champion,
    });
    assert.deepEqual(warm.warmStart, {
      used: true,
      parentVersion: 1,
      reason: 'warm start from champion v1: same features, classes and architecture',
    });

    const otherArchitecture = await runTrain(environment(`wf-${randomUUID().slice(0, 8)}`), {
      ...trainArgs(model, { hiddenLayers: [8, 8], epochs: 1, warmStart: true }),
      champion,
    });
    assert.equal(otherArchitecture.warmStart.used, false);
    assert.match(otherArchitecture.warmStart.reason, /cold start: the champion's architecture does not match/);
  });

  it('refuses a binary task whose label has three classes, without retrying', async () => {
    await assert.rejects(
      environment(`wf-${randomUUID().slice(0, 8)}`).run(train, trainArgs(model, { epochs: 1 }, ['a', 'b', 'c'])),
      (error) =>
        error instanceof ApplicationFailure &&
        error.type === 'InvalidPipelineConfig' &&
        error.nonRetryable === true &&
        /multiclass/.test(error.message),
    );
  });

  it('trains on real data end to end: penguins species through the real split and preprocessor stages', async () => {
    const require = createRequire(import.meta.url);
    const penguinsPath = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'penguins.json');
    const put = await store.put(`test/${model}/penguins.json`, await readFile(penguinsPath), {
      contentType: 'application/json',
    });
    const input = PipelineInput.parse({
      model,
      dataset: { uri: put.uri, format: 'json' },
      task: { type: 'multiclass', label: 'Species' },
      seed: 3,
      train: {
        model: 'mlp',
        hiddenLayers: [16],
        epochs: 40,
        batchSize: 16,
        learningRate: 0.01,
        earlyStopping: { patience: 6 },
      },
    });
    const deps = { store, storeSettings, logger: createLogger({ level: 'warn', format: 'json' }) };
    const env = environment(`wf-${randomUUID().slice(0, 8)}`);
    const split = (await env.run(splitAndSampleActivity(deps), {
      input,
      dataset: { uri: put.uri, sha256: put.sha256, bytes: put.bytes },
    })) as SplitAndSampleResult;
    const preprocessor = (await env.run(fitPreprocessorActivity(deps), { input, split })) as FitPreprocessorResult;
    // The real activity: its thread reads the Parquet splits through the preprocessor (openSplitBatches).
    const trained = (await env.run(trainActivity(deps), { input, split, preprocessor })) as TrainResult;
    assert.ok(trained.epochsRun >= trained.bestEpoch && trained.bestEpoch >= 1);

    const model_ = await loadTrainedModel(store, trained.model);
    assert.deepEqual(model_.meta.classes, preprocessor.classes);
    assert.equal(model_.meta.featureCount, preprocessor.featureCount);
    assert.deepEqual(model_.meta.preprocessor, preprocessor.preprocessor);
    const test = await openSplitBatches(store, split.splits.test, preprocessor.preprocessor);
    let correct = 0;
    try {
      for await (const batch of test.batches(256)) {
        const p = model_.predict(batch.x, batch.rows);
        const k = preprocessor.classes!.length;
        for (let r = 0; r < batch.rows; r++) {
          const row = Array.from(p.subarray(r * k, (r + 1) * k));
          if (row.indexOf(Math.max(...row)) === batch.y[r]) correct++;
        }
      }
    } finally {
      await test.close();
      model_.dispose();
    }
    const accuracy = correct / test.rows;
    assert.ok(accuracy >= 0.95, `penguins test accuracy ${accuracy} (${test.rows} rows)`);
  });

  after(async () => {
    for await (const info of store.list(`runs/${model}/`)) await store.delete(info.key);
    for await (const info of store.list(`test/${model}/`)) await store.delete(info.key);
  });
});
