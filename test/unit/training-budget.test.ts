import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { TrainConfig } from '../../contracts/stage-config';
import { trainModel, type TrainJob } from '../../lib/model/trainer';
import {
  autoBatchSize,
  autoEpochs,
  autoLearningRate,
  autoSubsample,
  MaxDurationTooShort,
  planTraining,
} from '../../lib/model/training-budget';
import { readObject } from '../../lib/store/read-object';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { loadTfjs } from '../../lib/tfjs-backend';
import { generatedSplit } from '../support/model-data';

describe('training settings sized to the data', () => {
  it('penguins-sized data: small batches, many epochs, a rate scaled down with the batch', () => {
    const { settings, choices } = planTraining(TrainConfig.parse({}), 240);
    assert.equal(settings.batchSize, 32);
    assert.equal(settings.epochs, 50);
    assert.equal(settings.learningRate, 0.00707, '0.01 · √(32/64)');
    assert.equal(choices.length, 3, 'each choice is explained');
    assert.match(choices[0]!, /^batch size 32: about 1\/200 of 240 train rows/);
  });

  it('flights-sized data (2.1M train rows): batch 2048, 10 epochs (20M samples), the rate at its cap', () => {
    const { settings } = planTraining(TrainConfig.parse({}), 2_100_000);
    assert.deepEqual([settings.batchSize, settings.epochs, settings.learningRate], [2048, 10, 0.03]);
  });

  it('gbdt grows each round on every row up to 4M train rows, and on a 4M-row draw beyond', () => {
    assert.equal(autoSubsample(2_100_000), 1);
    assert.equal(autoSubsample(4_000_000), 1);
    assert.equal(autoSubsample(21_000_000), 0.19);
    const big = planTraining(TrainConfig.parse({ model: 'gbdt' }), 21_000_000);
    assert.ok(
      big.choices.some((c) => /^gbdt subsample 0\.19: each round grows its trees on 4,000,000 of 21000000/.test(c)),
    );
    const given = planTraining(TrainConfig.parse({ model: 'gbdt', gbdt: { subsample: 0.5 } }), 21_000_000);
    assert.ok(!given.choices.some((c) => c.startsWith('gbdt subsample')), 'a subsample the user gave is not explained');
    assert.ok(
      !planTraining(TrainConfig.parse({ model: 'gbdt' }), 2_100_000).choices.some((c) => c.includes('subsample')),
    );
  });

  it('keeps every setting the user gave, and explains nothing it did not choose', () => {
    const { settings, choices } = planTraining(
      TrainConfig.parse({ batchSize: 100, epochs: 3, learningRate: 0.2, maxDuration: '5m' }),
      2_100_000,
    );
    assert.deepEqual(
      [settings.batchSize, settings.epochs, settings.learningRate, settings.maxDuration],
      [100, 3, 0.2, '5m'],
    );
    assert.deepEqual(choices, []);
  });

  it('properties: epochs in [5, 50]; the batch a power of two in [32, 2048], growing with the rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 9 }), fc.integer({ min: 1, max: 10 ** 9 }), (a, b) => {
        const epochs = autoEpochs(a);
        assert.ok(epochs >= 5 && epochs <= 50);
        const batch = autoBatchSize(a);
        assert.ok(batch >= 32 && batch <= 2048 && Number.isInteger(Math.log2(batch)));
        if (a <= b) assert.ok(autoBatchSize(a) <= autoBatchSize(b));
        if (a <= b) assert.ok(autoEpochs(a) >= autoEpochs(b), 'more rows, fewer passes');
      }),
    );
    assert.equal(autoLearningRate('sgd', 2048), 0.01, 'only Adam is rescaled');
  });
});

describe('train.maxDuration', () => {
  let root: string;
  let store: FsArtifactStore;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-budget-'));
    store = new FsArtifactStore(root);
    await store.ensureReady();
  });
  after(() => rm(root, { recursive: true, force: true }));

  const job = (name: string, raw: Record<string, unknown>): TrainJob => ({
    task: 'binary',
    settings: planTraining(TrainConfig.parse(raw), 1).settings,
    seed: 3,
    inputsFingerprint: name,
    keys: {
      checkpoints: `runs/${name}/checkpoints`,
      model: `runs/${name}/model`,
      history: `runs/${name}/history.json`,
    },
    runId: 'run-1',
    attempt: 1,
  });

  it('ends training when the budget runs out and keeps the best epoch so far as the model', async () => {
    const tfjs = await loadTfjs();
    const deps = {
      tfjs,
      store,
      train: generatedSplit('binary', 2_000, 1),
      validation: generatedSplit('binary', 500, 2),
    };
    // Far more epochs than 2 s allow, and no early stopping: only the budget can end it.
    const outcome = await trainModel(
      deps,
      job('budget', {
        model: 'logistic',
        epochs: 10_000,
        batchSize: 32,
        learningRate: 0.01,
        earlyStopping: { enabled: false },
        maxDuration: '2s',
      }),
    );
    assert.ok(outcome.epochsRun < 10_000, `stopped by the budget after ${outcome.epochsRun} epochs`);
    const history = JSON.parse((await readObject(store, store.keyFor(outcome.history.uri))).toString('utf8'));
    assert.equal(history.stoppedBy, 'train.maxDuration 2s');
    const best = outcome.records.reduce((a, b) => (b.validationLoss < a.validationLoss ? b : a));
    assert.equal(outcome.bestEpoch, best.epoch, 'the model is the best epoch, not the last');
  });

  it('a budget that cannot fit one epoch fails as a config error naming train.maxDuration', async () => {
    const tfjs = await loadTfjs();
    const deps = {
      tfjs,
      store,
      train: generatedSplit('binary', 400_000, 3, 16),
      validation: generatedSplit('binary', 100, 4, 16),
    };
    await assert.rejects(
      trainModel(
        deps,
        job('too-short', {
          model: 'mlp',
          hiddenLayers: [64, 64],
          epochs: 5,
          batchSize: 8,
          learningRate: 0.01,
          maxDuration: '1s',
        }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof MaxDurationTooShort);
        assert.equal(error.type, 'InvalidPipelineConfig');
        assert.equal(error.nonRetryable, true);
        assert.match(
          error.message,
          /^train\.maxDuration 1s is too short to finish one epoch: at \d+ rows\/s the first epoch over 400000 train rows would take about \d+ s/,
        );
        return true;
      },
    );
  });
});
