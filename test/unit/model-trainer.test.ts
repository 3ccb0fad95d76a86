import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { trainSettings } from '../support/train-settings';
import { rowLosses } from '../../lib/model/build-model';
import { loadTrainedModel } from '../../lib/model/load-model';
import { memoryBatchSource } from '../../lib/model/memory-batch-source';
import { trainModel, type TrainJob } from '../../lib/model/trainer';
import { readObject } from '../../lib/store/read-object';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { loadTfjs } from '../../lib/tfjs-backend';
import { generatedSplit } from '../support/model-data';

let root: string;
let store: FsArtifactStore;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-trainer-'));
  store = new FsArtifactStore(root);
  await store.ensureReady();
});
after(() => rm(root, { recursive: true, force: true }));

let jobCounter = 0;
function job(task: TrainJob['task'], settings: Record<string, unknown>, overrides: Partial<TrainJob> = {}): TrainJob {
  const folder = `runs/unit/job-${++jobCounter}/train`;
  return {
    task,
    settings: trainSettings(settings),
    seed: 42,
    inputsFingerprint: 'unit',
    keys: { checkpoints: `${folder}/checkpoints`, model: `${folder}/model`, history: `${folder}/history.json` },
    runId: 'run-1',
    attempt: 1,
    ...overrides,
  };
}

async function finalWeights(modelUri: string): Promise<Float32Array> {
  const bytes = await readObject(store, store.keyFor(modelUri).replace('model-meta.json', 'weights.bin'));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

describe('losses, against hand-computed values', () => {
  it('binary cross-entropy, sparse categorical cross-entropy and squared error per row', async () => {
    const { tf } = await loadTfjs();
    const binary = rowLosses(
      tf,
      'binary',
      tf.tensor2d([0.8, 0.25], [2, 1]),
      tf.tensor1d([1, 0]),
    ).arraySync() as number[];
    assert.ok(Math.abs(binary[0]! - -Math.log(0.8)) < 1e-6);
    assert.ok(Math.abs(binary[1]! - -Math.log(0.75)) < 1e-6);
    const multi = rowLosses(
      tf,
      'multiclass',
      tf.tensor2d([0.2, 0.7, 0.1, 0.5, 0.25, 0.25], [2, 3]),
      tf.tensor1d([1, 2]),
    ).arraySync() as number[];
    assert.ok(Math.abs(multi[0]! - -Math.log(0.7)) < 1e-6);
    assert.ok(Math.abs(multi[1]! - -Math.log(0.25)) < 1e-6);
    const squared = rowLosses(
      tf,
      'regression',
      tf.tensor2d([3, -1], [2, 1]),
      tf.tensor1d([1, 1]),
    ).arraySync() as number[];
    assert.deepEqual(squared, [4, 4]);
  });
});

describe('trainModel', () => {
  it('learns a separable binary problem; the stored model scores it', async () => {
    const tfjs = await loadTfjs();
    const train = generatedSplit('binary', 400, 1);
    const validation = generatedSplit('binary', 200, 2);
    const outcome = await trainModel(
      { tfjs, store, train, validation },
      job('binary', { model: 'logistic', epochs: 10, batchSize: 32, learningRate: 0.05 }),
    );
    const last = outcome.records.at(-1)!;
    assert.ok(last.validationAccuracy! >= 0.95, `validation accuracy ${last.validationAccuracy}`);
    assert.ok(last.trainLoss < outcome.records[0]!.trainLoss, 'training loss fell');
    const loaded = await loadTrainedModel(store, outcome.model);
    const x = new Float32Array([3, 1.5, 1.5, 1.5, -3, -1.5, -1.5, -1.5]);
    const [positive, negative] = loaded.predict(x, 2);
    assert.ok(positive! > 0.9 && negative! < 0.1, `P(yes) = ${positive}, ${negative}`);
    assert.deepEqual(loaded.meta.classes, ['no', 'yes']);
    loaded.dispose();
  });

  it('learns a multiclass problem (softmax) and a regression (linear output)', async () => {
    const tfjs = await loadTfjs();
    const multi = await trainModel(
      { tfjs, store, train: generatedSplit('multiclass', 600, 3), validation: generatedSplit('multiclass', 300, 4) },
      job('multiclass', { hiddenLayers: [16], epochs: 8, batchSize: 32, learningRate: 0.02 }),
    );
    assert.ok(multi.records.at(-1)!.validationAccuracy! >= 0.9, `accuracy ${multi.records.at(-1)!.validationAccuracy}`);
    const regression = await trainModel(
      { tfjs, store, train: generatedSplit('regression', 600, 5), validation: generatedSplit('regression', 300, 6) },
      job('regression', { model: 'logistic', epochs: 30, batchSize: 32, learningRate: 0.05 }),
    );
    // Target variance is ~7.5; a fitted linear model leaves about the noise (0.05²) plus optimisation slack.
    assert.ok(
      regression.records.at(-1)!.validationLoss < 0.05,
      `validation MSE ${regression.records.at(-1)!.validationLoss}`,
    );
  });

  it('stops early on validation loss with patience and keeps the best epoch’s weights', async () => {
    const tfjs = await loadTfjs();
    const validation = generatedSplit('noise', 200, 8, 6);
    const earlyStoppingJob = job('binary', {
      hiddenLayers: [64, 64],
      epochs: 60,
      batchSize: 8,
      learningRate: 0.02,
      earlyStopping: { patience: 3 },
    });
    const outcome = await trainModel(
      { tfjs, store, train: generatedSplit('noise', 40, 7, 6), validation },
      earlyStoppingJob,
    );
    assert.equal(outcome.stoppedEarly, true);
    // Only two checkpoints are kept: the newest (resume reads it) and the best (early stopping restores it).
    const epochFolders = new Set<string>();
    for await (const object of store.list(`${earlyStoppingJob.keys.checkpoints}/epoch-`))
      epochFolders.add(/epoch-\d+/.exec(object.key)![0]);
    assert.deepEqual([...epochFolders].sort(), [`epoch-${outcome.bestEpoch}`, `epoch-${outcome.epochsRun}`].sort());
    assert.ok(outcome.bestEpoch < outcome.epochsRun, `best ${outcome.bestEpoch} of ${outcome.epochsRun}`);
    assert.equal(outcome.epochsRun - outcome.bestEpoch, 3, 'stopped after `patience` epochs without improvement');
    const best = outcome.records.find((r) => r.epoch === outcome.bestEpoch)!;
    assert.ok(outcome.records.every((r) => r.validationLoss >= best.validationLoss));
    // The stored model is the best epoch's: its validation loss is the best recorded one.
    const loaded = await loadTrainedModel(store, outcome.model);
    const { x, y, rows } = await collect(validation);
    const p = loaded.predict(x, rows);
    let loss = 0;
    for (let i = 0; i < rows; i++)
      loss -= y[i] === 1 ? Math.log(Math.max(p[i]!, 1e-7)) : Math.log(Math.max(1 - p[i]!, 1e-7));
    assert.ok(Math.abs(loss / rows - best.validationLoss) < 1e-5, `${loss / rows} vs ${best.validationLoss}`);
    loaded.dispose();
  });

  it('gives the same weights for the same seed (within 1e-6) and different ones for another seed', async () => {
    const tfjs = await loadTfjs();
    const settings = { hiddenLayers: [8, 8], dropout: 0.2, epochs: 3, batchSize: 16 };
    const run = (seed: number) =>
      trainModel(
        { tfjs, store, train: generatedSplit('binary', 200, 11), validation: generatedSplit('binary', 50, 12) },
        job('binary', settings, { seed }),
      );
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    assert.ok(maxAbsDifference(await finalWeights(a.model.uri), await finalWeights(b.model.uri)) <= 1e-6);
    assert.ok(maxAbsDifference(await finalWeights(a.model.uri), await finalWeights(c.model.uri)) > 1e-3);
  });

  it('resumes after a crash from the last checkpoint, to the same weights as an uninterrupted run', async () => {
    const tfjs = await loadTfjs();
    const settings = {
      hiddenLayers: [8],
      dropout: 0.1,
      epochs: 5,
      batchSize: 16,
      optimizer: 'adam',
      earlyStopping: { enabled: false },
    };
    const deps = () => ({
      tfjs,
      store,
      train: generatedSplit('binary', 200, 21),
      validation: generatedSplit('binary', 50, 22),
    });
    const uninterrupted = await trainModel(deps(), job('binary', settings));

    const crashing = job('binary', settings);
    const seen: number[] = [];
    await assert.rejects(
      trainModel(deps(), crashing, {
        onEpoch: ({ epoch }) => {
          seen.push(epoch);
          if (epoch === 2) throw new Error('simulated crash after epoch 2');
        },
      }),
      /simulated crash/,
    );
    assert.deepEqual(seen, [1, 2]);
    const resumedEpochs: number[] = [];
    let resumedFrom: number | undefined;
    const resumed = await trainModel(
      deps(),
      { ...crashing, attempt: 2 },
      {
        onResume: ({ epoch }) => (resumedFrom = epoch),
        onEpoch: ({ epoch }) => resumedEpochs.push(epoch),
      },
    );
    assert.equal(resumedFrom, 2);
    assert.equal(resumed.resumedFromEpoch, 2);
    assert.deepEqual(resumedEpochs, [3, 4, 5]);
    assert.deepEqual(
      resumed.records.map((r) => [r.epoch, r.attempt]),
      [
        [1, 1],
        [2, 1],
        [3, 2],
        [4, 2],
        [5, 2],
      ],
    );
    // Weights and Adam's moments came back from the checkpoint exactly, so training went on as if never stopped.
    assert.ok(
      maxAbsDifference(await finalWeights(uninterrupted.model.uri), await finalWeights(resumed.model.uri)) <= 1e-6,
    );
    const history = JSON.parse((await readObject(store, store.keyFor(resumed.history.uri))).toString('utf8'));
    assert.deepEqual(
      history.attempts.map((a: { attempt: number; resumedFromEpoch: number }) => [a.attempt, a.resumedFromEpoch]),
      [
        [1, 0],
        [2, 2],
      ],
    );
  });

  it('never resumes a checkpoint of another run or another configuration', async () => {
    const tfjs = await loadTfjs();
    const deps = () => ({
      tfjs,
      store,
      train: generatedSplit('binary', 100, 31),
      validation: generatedSplit('binary', 50, 32),
    });
    const first = job('binary', { model: 'logistic', epochs: 2 });
    await trainModel(deps(), first);
    const otherRun = await trainModel(deps(), { ...first, runId: 'run-2', attempt: 2 });
    assert.equal(otherRun.resumedFromEpoch, 0);
    const otherConfig = await trainModel(deps(), {
      ...first,
      settings: trainSettings({ model: 'logistic', epochs: 3 }),
      attempt: 2,
    });
    assert.equal(otherConfig.resumedFromEpoch, 0);
  });

  it('weights rows by class weight: on labels without signal, P(yes) goes to the weighted share of "yes"', async () => {
    const tfjs = await loadTfjs();
    const train = generatedSplit('noise', 400, 41);
    const validation = generatedSplit('noise', 200, 42);
    const { y } = await collect(train);
    const yes = y.reduce((s, v) => s + v, 0);
    // The weighted maximum-likelihood constant: Σ w·y / Σ w with w(yes) = 3, w(no) = 1.
    const expected = (3 * yes) / (y.length - yes + 3 * yes);
    const outcome = await trainModel(
      { tfjs, store, train, validation },
      job(
        'binary',
        { model: 'logistic', epochs: 20, learningRate: 0.05, batchSize: 32, earlyStopping: { enabled: false } },
        { classWeights: { no: 1, yes: 3 } },
      ),
    );
    const loaded = await loadTrainedModel(store, outcome.model);
    const { x, rows } = await collect(validation);
    const meanP = loaded.predict(x, rows).reduce((s, v) => s + v, 0) / rows;
    assert.ok(Math.abs(meanP - expected) < 0.06, `mean P(yes) ${meanP}, expected about ${expected}`);
    loaded.dispose();
  });

  it('warm-starts from a compatible champion and records why it cold-starts otherwise', async () => {
    const tfjs = await loadTfjs();
    const settings = { model: 'logistic', epochs: 2, warmStart: true };
    const champion = await trainModel(
      { tfjs, store, train: generatedSplit('binary', 200, 51), validation: generatedSplit('binary', 50, 52) },
      job('binary', settings),
    );
    const championFolder = store.keyFor(champion.model.uri).replace(/\/model-meta\.json$/, '');
    const warm = await trainModel(
      { tfjs, store, train: generatedSplit('binary', 200, 53), validation: generatedSplit('binary', 50, 54) },
      job('binary', settings, { warmStart: { modelFolderKey: championFolder, version: 3 } }),
    );
    assert.deepEqual(
      { used: warm.warmStart.used, parentVersion: warm.warmStart.parentVersion },
      { used: true, parentVersion: 3 },
    );
    // Starting from trained weights, the first epoch already scores like the champion's last.
    assert.ok(warm.records[0]!.validationLoss < champion.records[0]!.validationLoss);

    const otherFeatures = await trainModel(
      { tfjs, store, train: generatedSplit('binary', 200, 55, 5), validation: generatedSplit('binary', 50, 56, 5) },
      job('binary', settings, { warmStart: { modelFolderKey: championFolder, version: 3 } }),
    );
    assert.equal(otherFeatures.warmStart.used, false);
    assert.match(otherFeatures.warmStart.reason, /cold start: .*4 features.*5/);
  });
});

async function collect(source: ReturnType<typeof memoryBatchSource>) {
  const xs: number[] = [];
  const ys: number[] = [];
  for await (const batch of source.batches(1000)) {
    xs.push(...batch.x);
    ys.push(...batch.y);
  }
  return { x: Float32Array.from(xs), y: Float32Array.from(ys), rows: ys.length };
}
