import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parsePipelineInput } from '../../contracts/pipeline-input';
import { TrainConfig } from '../../contracts/stage-config';
import type { BatchSource } from '../../lib/data/batches';
import { binOf, fitBinThresholds } from '../../lib/model/gbdt/bins';
import { buildHistogram, HistogramPool, histogramSize } from '../../lib/model/gbdt/histogram';
import { HistogramThreads } from '../../lib/model/gbdt/histogram-threads';
import { ensembleFromJson, EnsembleJson, predictRaw, roundsOf } from '../../lib/model/gbdt/ensemble';
import { MIN_ROWS_TO_SHARE, PredictThreads } from '../../lib/model/gbdt/predict-threads';
import { trainGbdt, type GbdtOutcome } from '../../lib/model/gbdt/train-gbdt';
import { loadTrainedModel } from '../../lib/model/load-model';
import { memoryBatchSource, mulberry32 } from '../../lib/model/memory-batch-source';
import type { TrainJob } from '../../lib/model/trainer';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { readObject } from '../../lib/store/read-object';
import { generatedSplit } from '../support/model-data';
import type { Duration } from '../../contracts/stage-config';

let root: string;
let store: FsArtifactStore;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-gbdt-'));
  store = new FsArtifactStore(root);
  await store.ensureReady();
});
after(() => rm(root, { recursive: true, force: true }));

let jobCounter = 0;
function job(
  task: TrainJob['task'],
  gbdt: Record<string, unknown>,
  overrides: Partial<TrainJob> & { earlyStopping?: boolean } = {},
): TrainJob {
  const folder = `runs/gbdt/job-${++jobCounter}/train`;
  const { earlyStopping = true, ...rest } = overrides;
  return {
    task,
    settings: TrainConfig.parse({
      model: 'gbdt',
      gbdt,
      earlyStopping: { enabled: earlyStopping },
    }) as TrainJob['settings'],
    seed: 42,
    inputsFingerprint: 'unit',
    keys: { checkpoints: `${folder}/checkpoints`, model: `${folder}/model`, history: `${folder}/history.json` },
    runId: `run-${jobCounter}`,
    attempt: 1,
    ...rest,
  };
}

function table(
  rows: number,
  featureCount: number,
  seed: number,
  label: (x: number[], random: () => number) => number,
  classes?: string[],
): BatchSource {
  const random = mulberry32(seed);
  const x = new Float32Array(rows * featureCount);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: featureCount }, () => random() * 2 - 1);
    x.set(row, r * featureCount);
    y[r] = label(row, random);
  }
  return memoryBatchSource({ x, y, featureCount, ...(classes ? { classes } : {}) });
}

async function predictionsOf(
  outcome: GbdtOutcome,
  source: BatchSource,
): Promise<{ outputs: Float32Array; y: Float32Array }> {
  const model = await loadTrainedModel(store, outcome.model);
  const parts: Float32Array[] = [];
  const labels: Float32Array[] = [];
  for await (const batch of source.batches(4096)) {
    parts.push(model.predict(batch.x, batch.rows));
    labels.push(batch.y.slice());
  }
  const concat = (arrays: Float32Array[]) => Float32Array.from(arrays.flatMap((a) => Array.from(a)));
  return { outputs: concat(parts), y: concat(labels) };
}

async function treesJson(outcome: GbdtOutcome): Promise<string> {
  return (await readObject(store, store.keyFor(outcome.meta.files.trees.uri))).toString('utf8');
}

describe('gbdt: binning', () => {
  it('a value is in bin b or below exactly when it is at or below threshold b (NaN in bin 0)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 2, max: 255 }),
        (values, maxBins) => {
          const x = Float32Array.from(values);
          const [thresholds] = fitBinThresholds(x, x.length, 1, maxBins) as [Float64Array];
          assert.ok(thresholds.length + 1 <= maxBins);
          for (let i = 1; i < thresholds.length; i++)
            assert.ok((thresholds[i] as number) > (thresholds[i - 1] as number));
          for (const v of x) {
            const bin = binOf(v, thresholds);
            for (let b = 0; b < thresholds.length; b++) assert.equal(bin <= b, v <= (thresholds[b] as number));
          }
          assert.equal(binOf(Number.NaN, thresholds), 0);
        },
      ),
    );
  });

  it('few distinct values get the midpoints between them; many get ≤ maxBins quantile bins', () => {
    const [few] = fitBinThresholds(Float32Array.from([3, 1, 2, 2, 1, 3]), 6, 1, 255) as [Float64Array];
    assert.deepEqual(Array.from(few), [1.5, 2.5]);
    const many = Float32Array.from({ length: 10_000 }, (_, i) => i);
    const [quantiles] = fitBinThresholds(many, many.length, 1, 10) as [Float64Array];
    assert.equal(quantiles.length, 9);
    assert.ok(Math.abs((quantiles[4] as number) - 4999.5) < 1);
  });
});

describe('gbdt: known small problems', () => {
  it('fits a step function with one tree at learning rate 1 (exactly, to float32 gradients)', async () => {
    const step = (x: number[]) => ((x[0] as number) > 0.25 ? 3 : -1);
    const train = table(400, 2, 1, step);
    const outcome = await trainGbdt(
      { store, train, validation: table(100, 2, 2, step) },
      job('regression', { maxIterations: 1, learningRate: 1, minSamplesLeaf: 1 }),
    );
    const { outputs, y } = await predictionsOf(outcome, table(200, 2, 3, step));
    for (let i = 0; i < y.length; i++)
      assert.ok(Math.abs((outputs[i] as number) - (y[i] as number)) < 1e-6, `row ${i}: ${outputs[i]} vs ${y[i]}`);
  });

  it('learns XOR, which no single split separates', async () => {
    const xor = (x: number[]) => ((x[0] as number) > 0 !== (x[1] as number) > 0 ? 1 : 0);
    const outcome = await trainGbdt(
      { store, train: table(2000, 3, 4, xor, ['no', 'yes']), validation: table(500, 3, 5, xor, ['no', 'yes']) },
      job('binary', {}),
    );
    const { outputs, y } = await predictionsOf(outcome, table(1000, 3, 6, xor, ['no', 'yes']));
    let correct = 0;
    for (let i = 0; i < y.length; i++) if (((outputs[i] as number) >= 0.5 ? 1 : 0) === y[i]) correct++;
    assert.ok(correct / y.length > 0.97, `accuracy ${correct / y.length}`);
    for (const p of outputs) assert.ok(p >= 0 && p <= 1);
  });

  it('approximates a linear regression to well below its spread', async () => {
    const outcome = await trainGbdt(
      { store, train: generatedSplit('regression', 4000, 7), validation: generatedSplit('regression', 1000, 8) },
      job('regression', { maxIterations: 300 }),
    );
    const { outputs, y } = await predictionsOf(outcome, generatedSplit('regression', 1000, 9));
    const mean = y.reduce((s, v) => s + v, 0) / y.length;
    let residual = 0;
    let total = 0;
    for (let i = 0; i < y.length; i++) {
      residual += ((outputs[i] as number) - (y[i] as number)) ** 2;
      total += ((y[i] as number) - mean) ** 2;
    }
    assert.ok(1 - residual / total > 0.97, `R² ${1 - residual / total}`);
  });

  it('multiclass: probabilities per row sum to 1 and pick the right blob', async () => {
    const outcome = await trainGbdt(
      { store, train: generatedSplit('multiclass', 1500, 10), validation: generatedSplit('multiclass', 500, 11) },
      job('multiclass', {}),
    );
    const { outputs, y } = await predictionsOf(outcome, generatedSplit('multiclass', 600, 12));
    let correct = 0;
    for (let r = 0; r < y.length; r++) {
      const p = Array.from(outputs.subarray(r * 3, r * 3 + 3));
      assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-6, `row ${r} sums to ${p.reduce((s, v) => s + v, 0)}`);
      if (p.indexOf(Math.max(...p)) === y[r]) correct++;
    }
    assert.ok(correct / y.length > 0.9, `accuracy ${correct / y.length}`);
    const trees = ensembleFromJson(EnsembleJson.parse(JSON.parse(await treesJson(outcome))));
    assert.equal(trees.outputs, 3);
    assert.equal(roundsOf(trees), outcome.bestEpoch, 'the model keeps the best round: one tree per class per round');
  });

  it('stops early on the validation loss and keeps the best round', async () => {
    const outcome = await trainGbdt(
      { store, train: generatedSplit('noise', 600, 13), validation: generatedSplit('noise', 300, 14) },
      job('binary', { maxIterations: 200, earlyStoppingRounds: 5 }),
    );
    assert.ok(outcome.stoppedEarly);
    assert.equal(outcome.epochsRun, outcome.bestEpoch + 5);
    const history = JSON.parse((await readObject(store, store.keyFor(outcome.history.uri))).toString('utf8')) as {
      epochs: Array<{ epoch: number; validationLoss: number }>;
    };
    assert.deepEqual(
      history.epochs.map((e) => e.epoch),
      Array.from({ length: outcome.epochsRun }, (_, i) => i + 1),
      'one loss record per round',
    );
  });

  it('respects maxDepth and minSamplesLeaf', async () => {
    const outcome = await trainGbdt(
      { store, train: generatedSplit('binary', 500, 15), validation: generatedSplit('binary', 100, 16) },
      job('binary', { maxIterations: 5, maxDepth: 2, minSamplesLeaf: 60 }, { earlyStopping: false }),
    );
    const trees = ensembleFromJson(EnsembleJson.parse(JSON.parse(await treesJson(outcome))));
    for (const tree of trees.trees) {
      assert.ok(tree.feature.length <= 7, `a depth-2 tree has at most 7 nodes, got ${tree.feature.length}`);
    }
  });
});

describe('gbdt: determinism and resume', () => {
  const sources = () => ({
    store,
    train: generatedSplit('binary', 3000, 20, 6),
    validation: generatedSplit('binary', 600, 21, 6),
  });

  it('the same seed grows the same trees; another seed draws other rows', async () => {
    const settings = { maxIterations: 15, subsample: 0.5 };
    const a = await treesJson(await trainGbdt(sources(), job('binary', settings, { earlyStopping: false })));
    const b = await treesJson(await trainGbdt(sources(), job('binary', settings, { earlyStopping: false })));
    const c = await treesJson(await trainGbdt(sources(), job('binary', settings, { earlyStopping: false, seed: 43 })));
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it('histogram threads share the features, not the sums: 1 and 3 threads grow the same trees', async () => {
    const big = () => ({
      store,
      train: generatedSplit('multiclass', 20_000, 22, 9),
      validation: generatedSplit('multiclass', 2_000, 23, 9),
    });
    const settings = { maxIterations: 6 };
    const one = await treesJson(
      await trainGbdt({ ...big(), histogramThreads: 1 }, job('multiclass', settings, { earlyStopping: false })),
    );
    const three = await treesJson(
      await trainGbdt({ ...big(), histogramThreads: 3 }, job('multiclass', settings, { earlyStopping: false })),
    );
    assert.equal(one, three);
  });

  it('5,000 back-to-back hand-offs to two helpers all complete, each histogram equal to one thread’s', async () => {
    const rows = 4_000;
    const featureCount = 12;
    const random = mulberry32(7);
    const bins = new Uint8Array(new SharedArrayBuffer(rows * featureCount)).map(() => Math.floor(random() * 256));
    const order = new Uint32Array(new SharedArrayBuffer(rows * 4)).map((_, i) => i);
    const grad = [new Float32Array(new SharedArrayBuffer(rows * 4)).map(() => random() - 0.5)];
    const hess = [new Float32Array(new SharedArrayBuffer(rows * 4)).map(() => random())];
    const pool = new HistogramPool(histogramSize(featureCount), 2);
    const threads = await HistogramThreads.start({ bins, featureCount, order, grad, hess, pool }, 3);
    try {
      assert.equal(threads.threads, 3);
      const expected = new Float64Array(histogramSize(featureCount));
      buildHistogram(bins, featureCount, order, 0, rows, grad[0]!, hess[0]!, expected);
      const hist = pool.take();
      let mismatches = 0;
      for (let i = 0; i < 5_000; i++) {
        threads.build(0, rows, 0, hist);
        if (hist.some((v, j) => v !== expected[j])) mismatches++;
      }
      assert.equal(mismatches, 0);
    } finally {
      await threads.close();
    }
  });

  for (const subsample of [1, 0.7]) {
    it(`a run killed after round 4 and resumed grows the same trees as one never killed (subsample ${subsample})`, async () => {
      const settings = { maxIterations: 12, subsample, checkpointEveryRounds: 2 };
      const whole = await trainGbdt(sources(), job('binary', settings, { earlyStopping: false }));

      const interrupted = job('binary', settings, { earlyStopping: false });
      const killedAt = 5;
      await assert.rejects(
        trainGbdt(sources(), interrupted, {
          onEpoch: (report) => {
            if (report.epoch >= killedAt - 1) throw new Error('killed');
          },
        }),
        /killed/,
      );
      const resumedRounds: number[] = [];
      const resumed = await trainGbdt(
        sources(),
        { ...interrupted, attempt: 2 },
        { onResume: (info) => resumedRounds.push(info.epoch) },
      );
      assert.deepEqual(resumedRounds, [4], 'resumed from the round-4 checkpoint');
      assert.equal(resumed.resumedFromEpoch, 4);
      assert.equal(await treesJson(resumed), await treesJson(whole));
      const history = JSON.parse((await readObject(store, store.keyFor(resumed.history.uri))).toString('utf8')) as {
        epochs: Array<{ epoch: number; attempt: number }>;
      };
      assert.deepEqual(
        history.epochs.map((e) => [e.epoch, e.attempt]),
        Array.from({ length: 12 }, (_, i) => [i + 1, i < 4 ? 1 : 2]),
      );
    });
  }
});

describe('gbdt: warm start', () => {
  it('continues boosting from a gbdt champion with the same features and classes', async () => {
    const data = () => ({
      store,
      train: generatedSplit('multiclass', 900, 30),
      validation: generatedSplit('multiclass', 300, 31),
    });
    const champion = await trainGbdt(data(), job('multiclass', { maxIterations: 4 }, { earlyStopping: false }));
    const championFolder = store.keyFor(champion.model.uri).replace(/\/model-meta\.json$/, '');
    const base = job('multiclass', { maxIterations: 3 }, { earlyStopping: false });
    const child = await trainGbdt(data(), {
      ...base,
      settings: { ...base.settings, warmStart: true },
      warmStart: { modelFolderKey: championFolder, version: 7 },
    });
    assert.equal(child.warmStart.used, true, child.warmStart.reason);
    assert.equal(child.warmStart.parentVersion, 7);
    const parentTrees = JSON.parse(await treesJson(champion)) as EnsembleJson;
    const childTrees = JSON.parse(await treesJson(child)) as EnsembleJson;
    assert.equal(childTrees.trees.length, parentTrees.trees.length + 3 * 3);
    assert.deepEqual(
      childTrees.trees.slice(0, parentTrees.trees.length),
      parentTrees.trees,
      'the champion trees come first, unchanged',
    );
    assert.deepEqual(childTrees.baseScores, parentTrees.baseScores);
  });

  it('says why not when the champion has other classes', async () => {
    const champion = await trainGbdt(
      { store, train: generatedSplit('binary', 300, 32), validation: generatedSplit('binary', 100, 33) },
      job('binary', { maxIterations: 2 }),
    );
    const folder = store.keyFor(champion.model.uri).replace(/\/model-meta\.json$/, '');
    const base = job('multiclass', { maxIterations: 2 });
    const child = await trainGbdt(
      { store, train: generatedSplit('multiclass', 300, 34), validation: generatedSplit('multiclass', 100, 35) },
      { ...base, settings: { ...base.settings, warmStart: true }, warmStart: { modelFolderKey: folder, version: 1 } },
    );
    assert.equal(child.warmStart.used, false);
    assert.match(child.warmStart.reason, /champion \(v1\) is a binary model/);
  });
});

describe('gbdt: time budget', () => {
  const data = () => ({
    store,
    train: generatedSplit('multiclass', 20_000, 40, 9),
    validation: generatedSplit('multiclass', 2_000, 41, 9),
  });
  const withBudget = (maxDuration: Duration, gbdt: Record<string, unknown>) => {
    const base = job('multiclass', gbdt, { earlyStopping: false });
    return { ...base, settings: { ...base.settings, maxDuration } };
  };

  it('train.maxDuration ends boosting and keeps the best round so far', async () => {
    const outcome = await trainGbdt(data(), withBudget('2s', { maxIterations: 5_000, minSamplesLeaf: 2 }));
    assert.ok(outcome.epochsRun < 5_000, `${outcome.epochsRun} rounds`);
    assert.ok(outcome.bestEpoch <= outcome.epochsRun);
    const history = JSON.parse((await readObject(store, store.keyFor(outcome.history.uri))).toString('utf8')) as {
      stoppedBy?: string;
    };
    assert.equal(history.stoppedBy, 'train.maxDuration 2s');
  });

  it('a budget shorter than one round is a config error a person can act on', async () => {
    await assert.rejects(
      trainGbdt(data(), withBudget('1ms', { maxIterations: 10 })),
      (error: Error & { type?: string; nonRetryable?: boolean }) => {
        assert.equal(error.type, 'InvalidPipelineConfig');
        assert.equal(error.nonRetryable, true);
        assert.match(error.message, /train\.maxDuration 1ms is too short/);
        return true;
      },
    );
  });
});

describe('gbdt: configuration', () => {
  it('an unknown train.model is refused with the known ones listed', () => {
    const parsed = parsePipelineInput({
      model: 'm',
      dataset: { uri: 's3://bucket/data.csv' },
      task: { type: 'binary', label: 'y' },
      train: { model: 'xgboost' },
    });
    assert.equal(parsed.ok, false);
    const problem = parsed.ok ? undefined : parsed.problems.find((p) => p.path === 'train.model');
    assert.ok(problem, JSON.stringify(parsed));
    for (const known of ['logistic', 'mlp', 'gbdt']) assert.match(problem.message, new RegExp(`"${known}"`));
  });

  it('gbdt defaults mirror scikit-learn HistGradientBoosting', () => {
    const { gbdt } = TrainConfig.parse({ model: 'gbdt' });
    assert.deepEqual(
      [
        gbdt.maxIterations,
        gbdt.learningRate,
        gbdt.maxLeafNodes,
        gbdt.maxDepth,
        gbdt.minSamplesLeaf,
        gbdt.l2Regularization,
        gbdt.maxBins,
        gbdt.earlyStoppingRounds,
      ],
      [100, 0.1, 31, undefined, 20, 0, 255, 10],
    );
  });
});

describe('gbdt: prediction helper threads', () => {
  it('score a large block off this thread exactly as one thread does, for every task; a failed helper costs speed, not scores', async () => {
    for (const task of ['binary', 'multiclass', 'regression'] as const) {
      const outcome = await trainGbdt(
        { store, train: generatedSplit(task, 3_000, 31, 6), validation: generatedSplit(task, 500, 32, 6) },
        job(task, { maxIterations: 8 }, { earlyStopping: false }),
      );
      const model = await loadTrainedModel(store, outcome.model);
      try {
        const rows = 3 * MIN_ROWS_TO_SHARE + 17; // uneven ranges
        const random = mulberry32(5);
        const x = Float32Array.from({ length: rows * model.meta.featureCount }, () => random() * 4 - 2);
        const oneThread = model.predict(x, rows);
        assert.deepEqual(await model.predictAsync(x.slice(), rows), oneThread, `${task}: helpers`);
        assert.deepEqual(
          await model.predictAsync(x.slice(0, 10 * model.meta.featureCount), 10),
          oneThread.slice(0, 10 * (oneThread.length / rows)),
        );
      } finally {
        model.dispose();
      }
    }
  });

  it('a helper that dies fails the call it was on, and every later call is scored on this thread', async () => {
    const outcome = await trainGbdt(
      { store, train: generatedSplit('binary', 2_000, 41, 4), validation: generatedSplit('binary', 400, 42, 4) },
      job('binary', { maxIterations: 4 }, { earlyStopping: false }),
    );
    const trees = ensembleFromJson(EnsembleJson.parse(JSON.parse(await treesJson(outcome))));
    const threads = new PredictThreads(trees, 4);
    try {
      const rows = 2 * MIN_ROWS_TO_SHARE;
      const x = Float32Array.from({ length: rows * 4 }, (_, i) => Math.sin(i));
      const expected = predictRaw(trees, x, rows, 4);
      assert.deepEqual(await threads.predictRaw(x.slice(), rows), expected);
      const cut = assert.rejects(threads.predictRaw(x.slice(), rows), /prediction helpers were closed/);
      await threads.close(); // the helpers go away with the call on them
      await cut;
      assert.deepEqual(await threads.predictRaw(x.slice(), rows), expected, 'later calls run on this thread');
    } finally {
      await threads.close();
    }
  });
});
