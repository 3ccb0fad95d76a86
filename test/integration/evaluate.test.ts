import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { evaluateActivity } from '../../activities/evaluate';
import { fitPreprocessorActivity } from '../../activities/fit-preprocessor';
import { splitAndSampleActivity } from '../../activities/split-and-sample';
import { trainActivity } from '../../activities/train';
import { FailureType } from '../../contracts/errors';
import { PipelineInput, type PipelineInputDraft } from '../../contracts/pipeline-input';
import type {
  ChampionRefs,
  EvaluateResult,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
} from '../../contracts/stage-results';
import { loadConfig, type StoreSettings } from '../../lib/config';
import { createSeededRandom } from '../../lib/data/seeded-random';
import { StoredEvaluation } from '../../lib/evaluation/evaluation-document';
import { createLogger } from '../../lib/logger';
import { readObject } from '../../lib/store/read-object';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';

/**
 * The evaluate activity against the real MinIO, on artifacts the real stages wrote: penguins (from the
 * vega-datasets npm package) go through splitAndSample → fitPreprocessor → train, then evaluate. The
 * binary task — predict a penguin's sex — is learnable but not trivial, so a model trained on shuffled
 * labels must fail the zero-rule rule, and a model that lost its best features must lose to the champion.
 */
const require = createRequire(import.meta.url);
// The package's exports map hides data/, so find the folder from its entry point.
const DATA = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data');
const PENGUINS = path.join(DATA, 'penguins.json');
const CARS = path.join(DATA, 'cars.json');
const BODY_MASS = 'Body Mass (g)';
const BEAK_DEPTH = 'Beak Depth (mm)';

type Row = Record<string, unknown>;

interface Trained {
  input: PipelineInput;
  split: SplitAndSampleResult;
  preprocessor: FitPreprocessorResult;
  trained: TrainResult;
  workflowId: string;
}

describe('evaluate activity (real MinIO, real upstream stages)', () => {
  let store: ArtifactStore;
  let storeSettings: StoreSettings;
  const prefix = `test/evaluate-${randomUUID().slice(0, 8)}`;
  const deps = () => ({ store, storeSettings, logger: createLogger({ level: 'warn', format: 'json' }) });
  type DatasetName = 'real' | 'shuffled' | 'cars';
  const datasets: Record<DatasetName, { uri: string; sha256: string; bytes: number }> = {} as never;

  before(async () => {
    const config = loadConfig();
    if (config.store.kind !== 's3')
      throw new Error('Integration tests run against the real MinIO: set S3_ENDPOINT and TRAINYARD_STORE=s3.');
    store = createArtifactStore(config.store);
    storeSettings = config.store;
    await store.ensureReady();
    const random = createSeededRandom(11);
    // One penguin's sex is recorded as ".": missing, like the nulls.
    const rows = (JSON.parse(await readFile(PENGUINS, 'utf8')) as Row[]).map((row) => ({
      ...row,
      Sex: row.Sex === '.' ? null : row.Sex,
      noise: random(),
    }));
    const sexes = rows.map((r) => r.Sex);
    for (let i = sexes.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [sexes[i], sexes[j]] = [sexes[j], sexes[i]];
    }
    const shuffled = rows.map((row, i) => ({ ...row, Sex: sexes[i] }));
    const cars = JSON.parse(await readFile(CARS, 'utf8')) as Row[];
    for (const [name, data] of [
      ['real', rows],
      ['shuffled', shuffled],
      ['cars', cars],
    ] as const) {
      const put = await store.put(`${prefix}/${name}.json`, JSON.stringify(data), { contentType: 'application/json' });
      datasets[name] = { uri: put.uri, sha256: put.sha256, bytes: put.bytes };
    }
  });

  const environment = (workflowId: string) =>
    new MockActivityEnvironment({ workflowExecution: { workflowId, runId: 'run-1' } } as never);

  async function trainOn(dataset: DatasetName, overrides: Partial<PipelineInputDraft> = {}): Promise<Trained> {
    const workflowId = `wf-${randomUUID().slice(0, 8)}`;
    const input = PipelineInput.parse({
      model: 'penguin-sex',
      dataset: { uri: datasets[dataset].uri, format: 'json' },
      task: { type: 'binary', label: 'Sex' },
      seed: 7,
      train: {
        model: 'mlp',
        hiddenLayers: [16],
        epochs: 60,
        batchSize: 32,
        learningRate: 0.01,
        earlyStopping: { enabled: true, patience: 8 },
      },
      ...overrides,
      preprocess: { exclude: ['noise'], ...overrides.preprocess },
    });
    const env = environment(workflowId);
    const split: SplitAndSampleResult = await env.run(splitAndSampleActivity(deps()), {
      input,
      dataset: datasets[dataset],
    });
    const preprocessor: FitPreprocessorResult = await env.run(fitPreprocessorActivity(deps()), { input, split });
    const trained: TrainResult = await env.run(trainActivity(deps()), { input, split, preprocessor });
    return { input, split, preprocessor, trained, workflowId };
  }

  async function evaluate(
    run: Trained,
    evaluateConfig: PipelineInputDraft['evaluate'],
    champion?: ChampionRefs,
  ): Promise<EvaluateResult> {
    const input = PipelineInput.parse({ ...run.input, evaluate: evaluateConfig });
    return environment(run.workflowId).run(evaluateActivity(deps()), {
      input,
      split: run.split,
      preprocessor: run.preprocessor,
      trained: run.trained,
      champion,
    });
  }

  const championOf = (run: Trained, version: number, metrics: Record<string, number>): ChampionRefs => ({
    model: 'penguin-sex',
    version,
    modelRef: run.trained.model,
    schema: run.split.manifest,
    statistics: run.split.manifest,
    preprocessor: run.preprocessor.preprocessor,
    metrics,
  });

  const GATE = {
    mustBeatZeroRuleBy: 0.1,
    thresholds: [{ metric: 'accuracy', op: '>=' as const, value: 0.7 }],
    slices: [{ column: 'Island', metric: 'accuracy', floor: 0.5, minSize: 8 }],
    invariance: [{ column: 'noise', epsilon: 0.01 }],
    directional: [{ column: BODY_MASS, direction: 'increase' as const }],
  };

  let good: Trained;
  let goodResult: EvaluateResult;

  it('blesses a good model, writes evaluation.json and a report reachable through its presigned link', async () => {
    good = await trainOn('real');
    const beats: unknown[] = [];
    const env = environment(good.workflowId);
    env.on('heartbeat', (d: unknown) => beats.push(d));
    goodResult = await env.run(evaluateActivity(deps()), {
      input: PipelineInput.parse({ ...good.input, evaluate: GATE }),
      split: good.split,
      preprocessor: good.preprocessor,
      trained: good.trained,
    });

    assert.equal(goodResult.decision, 'blessed', goodResult.reasons.join('\n'));
    assert.ok(goodResult.metrics.roc_auc! > 0.85, `roc_auc ${goodResult.metrics.roc_auc}`);
    assert.ok(
      goodResult.reasons.some((r) =>
        /^roc_auc [\d.]+ vs the zero-rule baseline's 0\.5 \(improvement \+[\d.]+, at least \+[\d.]+ with 99\.5% confidence\) beats it by the required margin 0\.1: p [<=] [\d.]+ < α 0\.005$/.test(
          r,
        ),
      ),
      goodResult.reasons.join('\n'),
    );
    assert.ok(
      goodResult.decisionThreshold! > 0 && goodResult.decisionThreshold! < 1,
      'the threshold was chosen on the validation split',
    );
    assert.ok(beats.length >= 5, 'heartbeats between steps');
    assert.match(
      goodResult.evaluation.uri,
      new RegExp(`/runs/penguin-sex/${good.workflowId}/evaluate/evaluation\\.json$`),
    );

    const document = StoredEvaluation.parse(
      JSON.parse((await readObject(store, store.keyFor(goodResult.evaluation.uri))).toString('utf8')),
    );
    assert.equal(document.decision, 'blessed');
    const full = document as unknown as {
      baselines: { zeroRule: { metrics: Record<string, number> }; random: { metrics: Record<string, number> } };
      slices: { slices: { value: string }[] }[];
      invariance: { meanAbsChange: number }[];
      directional: { meanChange: number }[];
    };
    assert.equal(full.baselines.zeroRule.metrics.roc_auc, 0.5);
    assert.ok(Math.abs(full.baselines.random.metrics.roc_auc! - 0.5) < 0.2);
    assert.deepEqual(full.slices[0]!.slices.map((s) => s.value).sort(), ['Biscoe', 'Dream', 'Torgersen']);
    assert.equal(full.invariance[0]!.meanAbsChange, 0, 'an excluded column cannot move predictions');
    assert.ok(full.directional[0]!.meanChange > 0, 'heavier penguins are more likely male');

    const response = await fetch(goodResult.reportUrl);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const html = await response.text();
    for (const chart of ['ROC curve', 'Precision-recall', 'Calibration', 'Confusion matrix', 'Loss curves'])
      assert.match(html, new RegExp(`aria-label="${chart}`));
    assert.doesNotMatch(html, /https?:\/\//);
  });

  it('rejects a model trained on shuffled labels: it cannot be told apart from the zero-rule', async () => {
    const noise = await trainOn('shuffled');
    const result = await evaluate(noise, GATE);
    assert.equal(result.decision, 'rejected');
    assert.ok(
      result.reasons.some((r) =>
        /^roc_auc [\d.]+ vs the zero-rule baseline's 0\.5 .*: on \d+ test rows the model cannot be told apart from the zero-rule by the required margin 0\.1 \(p [<=] [\d.]+ ≥ α 0\.005\); too little evidence to bless it$/.test(
          r,
        ),
      ),
      result.reasons.join('\n'),
    );
  });

  it('a champion-change rule is judged on the paired interval, scoring the champion with its own preprocessor', async () => {
    const weaker = await trainOn('real', { preprocess: { exclude: ['noise', BODY_MASS, BEAK_DEPTH] } });
    assert.notEqual(
      weaker.preprocessor.featureCount,
      good.preprocessor.featureCount,
      'the two models need different preprocessors',
    );
    // A positive bound asks for evidence of a gain: the interval's lower end must reach it.
    const result = await evaluate(
      weaker,
      { championChange: [{ metric: 'roc_auc', minAbsolute: 0.01 }] },
      championOf(good, 1, goodResult.metrics),
    );
    assert.equal(result.decision, 'rejected');
    assert.ok(
      result.reasons.some((r) =>
        /^roc_auc [\d.]+ vs the champion's [\d.]+ \(version 1\): an improvement of -[\d.]+ \[-[\d.]+, -?[\d.]+\], but an improvement of at least 0\.01 is required and the interval's lower end is -[\d.]+$/.test(
          r,
        ),
      ),
      result.reasons.join('\n'),
    );
    // The champion's metrics come from scoring it on this run's test split, not from the registry's record;
    // a negative bound is a tolerance, failed only by a loss significantly beyond it.
    const reverse = await evaluate(
      good,
      { championChange: [{ metric: 'roc_auc', minAbsolute: -0.05 }] },
      championOf(weaker, 2, {}),
    );
    assert.equal(reverse.decision, 'blessed', reverse.reasons.join('\n'));
    assert.ok(
      reverse.reasons.some((r) =>
        /^roc_auc \+[\d.]+ vs the champion \(version 2, [\d.]+ on these rows\); at most \+[\d.]+ with 99\.5% confidence: not worse than the champion by more than the margin 0\.01$/.test(
          r,
        ),
      ),
      reverse.reasons.join('\n'),
    );
  });

  it('a champion whose artifacts are gone fails the change rule instead of being skipped', async () => {
    const missing = {
      ...championOf(good, 3, {}),
      modelRef: { ...good.trained.model, uri: good.trained.model.uri.replace('/train/model/', '/train/nowhere/') },
    };
    const result = await evaluate(good, { championChange: [{ metric: 'roc_auc' }] }, missing);
    assert.equal(result.decision, 'rejected');
    assert.match(result.reasons.join('\n'), /the champion \(version 3\) could not be evaluated on this test split/);
  });

  it('regression (cars → miles per gallon): R² against the train mean, values in the target’s own units', async () => {
    const cars = await trainOn('cars', {
      model: 'car-mpg',
      task: { type: 'regression', label: 'Miles_per_Gallon' },
      preprocess: { exclude: ['Name'], standardizeTarget: true },
    });
    const result = await evaluate(cars, {
      mustBeatZeroRuleBy: 0.3,
      thresholds: [{ metric: 'mae', op: '<=', value: 5 }],
      slices: [{ column: 'Origin', metric: 'rmse', floor: 8, minSize: 5 }],
      directional: [{ column: 'Weight_in_lbs', direction: 'decrease' }],
    });
    assert.equal(result.decision, 'blessed', result.reasons.join('\n'));
    assert.ok(result.metrics.r2! > 0.6 && result.metrics.mae! < 5, JSON.stringify(result.metrics));
    const document = JSON.parse((await readObject(store, store.keyFor(result.evaluation.uri))).toString('utf8'));
    assert.ok(
      Math.abs(document.baselines.zeroRule.metrics.r2) < 0.2,
      'the train mean explains almost nothing of the test split',
    );
    const [actual, predicted] = document.regressionSample[0];
    assert.ok(actual > 5 && actual < 50 && predicted > 5 && predicted < 50, 'miles per gallon, not standardised units');
  });

  it('multiclass (penguin species): accuracy against the majority class; a directional test is reported, not judged', async () => {
    const species = await trainOn('real', { model: 'penguin-species', task: { type: 'multiclass', label: 'Species' } });
    const result = await evaluate(species, {
      mustBeatZeroRuleBy: 0.3,
      directional: [{ column: BODY_MASS, direction: 'increase' }],
    });
    assert.equal(result.decision, 'blessed', result.reasons.join('\n'));
    assert.ok(result.metrics.accuracy! >= 0.95, JSON.stringify(result.metrics));
    const document = JSON.parse((await readObject(store, store.keyFor(result.evaluation.uri))).toString('utf8'));
    assert.deepEqual(document.challenger.confusion.labels, ['Adelie', 'Chinstrap', 'Gentoo']);
    assert.equal(document.rules.find((r: { rule: string }) => r.rule === 'directional').passed, null);
  });

  it('stops when cancelled', async () => {
    const env = environment(good.workflowId);
    env.on('heartbeat', (details: { step?: string }) => {
      if (details.step === 'score-model') env.cancel();
    });
    await assert.rejects(
      env.run(evaluateActivity(deps()), {
        input: good.input,
        split: good.split,
        preprocessor: good.preprocessor,
        trained: good.trained,
      }),
      (error: unknown) => error instanceof CancelledFailure,
    );
  });

  // Unknown metric names never reach evaluate: the pipeline input refuses them (test/unit/pipeline-input.test.ts).
  it('names unknown or unusable columns as a non-retryable configuration error', async () => {
    await assert.rejects(
      evaluate(good, {
        directional: [{ column: 'Island', direction: 'increase' }],
        slices: [{ column: 'Colour', metric: 'accuracy', floor: 0.5 }],
      }),
      (error: unknown) => {
        assert.ok(error instanceof ApplicationFailure);
        assert.equal(error.type, FailureType.InvalidPipelineConfig);
        assert.equal(error.nonRetryable, true);
        assert.match(error.message, /evaluate\.slices\.0\.column: column "Colour" is not in the test split/);
        assert.match(error.message, /evaluate\.directional\.0\.column: column "Island" is not numeric/);
        return true;
      },
    );
  });
});
