import assert from 'node:assert/strict';
import { unknownMetricProblems } from '../../contracts/evaluate-names';
import { describe, it } from 'node:test';
import { EvaluateConfig } from '../../contracts/stage-config';
import {
  checkChampionChange,
  checkDirectional,
  checkInvariance,
  checkOutputs,
  checkSlices,
  checkThreshold,
  checkZeroRule,
  decideGate,
  fmt,
  type GateInputs,
} from '../../lib/evaluation/gate';

const config = (raw: unknown = {}) => EvaluateConfig.parse(raw);

function inputs(overrides: Partial<GateInputs> = {}): GateInputs {
  return {
    task: 'binary',
    config: config(),
    metrics: { roc_auc: 0.9, accuracy: 0.85, log_loss: 0.3 },
    zeroRule: { roc_auc: 0.5, accuracy: 0.6, log_loss: 0.67 },
    slices: [],
    invariance: [],
    directional: [],
    nonFiniteOutputs: 0,
    ...overrides,
  };
}

describe('value thresholds', () => {
  it('a floor fails below and passes at the bound, in plain words', () => {
    assert.deepEqual(checkThreshold({ metric: 'accuracy', op: '>=', value: 0.9 }, { accuracy: 0.71 }), {
      rule: 'threshold',
      passed: false,
      message: 'accuracy 0.71 is below the floor 0.9',
    });
    assert.equal(checkThreshold({ metric: 'accuracy', op: '>=', value: 0.9 }, { accuracy: 0.9 }).passed, true);
  });

  it('a ceiling on a lower-is-better metric', () => {
    const outcome = checkThreshold({ metric: 'log_loss', op: '<=', value: 0.5 }, { log_loss: 0.62 });
    assert.equal(outcome.passed, false);
    assert.equal(outcome.message, 'log_loss 0.62 is above the ceiling 0.5');
    assert.equal(checkThreshold({ metric: 'log_loss', op: '<=', value: 0.5 }, { log_loss: 0.4 }).passed, true);
  });

  it('an uncomputable metric fails its bound', () => {
    const outcome = checkThreshold({ metric: 'roc_auc', op: '>=', value: 0.8 }, { roc_auc: Number.NaN });
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /could not be computed/);
  });
});

describe('zero-rule baseline', () => {
  it('binary judges ROC-AUC against the constant predictor (0.5) with a margin', () => {
    assert.equal(checkZeroRule('binary', { roc_auc: 0.52 }, { roc_auc: 0.5 }, 0.05).passed, false);
    assert.equal(checkZeroRule('binary', { roc_auc: 0.52 }, { roc_auc: 0.5 }, 0.05).message, 'roc_auc 0.52 does not beat the zero-rule baseline 0.5 by the required margin 0.05');
    assert.equal(checkZeroRule('binary', { roc_auc: 0.56 }, { roc_auc: 0.5 }, 0.05).passed, true);
  });

  it('with margin 0 a tie is not a win', () => {
    assert.equal(checkZeroRule('multiclass', { accuracy: 0.4 }, { accuracy: 0.4 }, 0).passed, false);
    assert.equal(checkZeroRule('multiclass', { accuracy: 0.41 }, { accuracy: 0.4 }, 0).passed, true);
  });

  it('regression judges R²', () => {
    assert.equal(checkZeroRule('regression', { r2: -0.1 }, { r2: -0.01 }, 0).passed, false);
    assert.equal(checkZeroRule('regression', { r2: 0.3 }, { r2: -0.01 }, 0.2).passed, true);
  });

  it('fails when the main metric is not computable', () => {
    assert.equal(checkZeroRule('binary', { roc_auc: Number.NaN }, { roc_auc: Number.NaN }, 0).passed, false);
  });
});

describe('champion change thresholds', () => {
  const champion = { version: 3, metrics: { accuracy: 0.9, log_loss: 0.3, rmse: 0 } };

  it('does not apply without a champion', () => {
    assert.equal(checkChampionChange({ metric: 'accuracy', minAbsolute: 0 }, { accuracy: 0.5 }, undefined).passed, null);
  });

  it('absolute: a worse challenger fails, a tolerated small loss passes', () => {
    const worse = checkChampionChange({ metric: 'accuracy', minAbsolute: 0 }, { accuracy: 0.88 }, champion);
    assert.equal(worse.passed, false);
    assert.equal(worse.message, "accuracy 0.88 vs the champion's 0.9 (version 3): an improvement of -0.02, but at least 0 is required");
    assert.equal(checkChampionChange({ metric: 'accuracy', minAbsolute: -0.05 }, { accuracy: 0.88 }, champion).passed, true);
  });

  it('no bound given means the challenger must not be worse', () => {
    assert.equal(checkChampionChange({ metric: 'accuracy' }, { accuracy: 0.9 }, champion).passed, true);
    assert.equal(checkChampionChange({ metric: 'accuracy' }, { accuracy: 0.899 }, champion).passed, false);
  });

  it('lower-is-better metrics count a decrease as improvement', () => {
    assert.equal(checkChampionChange({ metric: 'log_loss', minAbsolute: 0.01 }, { log_loss: 0.25 }, champion).passed, true);
    const worse = checkChampionChange({ metric: 'log_loss', minAbsolute: 0 }, { log_loss: 0.35 }, champion);
    assert.equal(worse.passed, false);
    assert.match(worse.message, /improvement of -0\.05 \(lower is better\)/);
  });

  it('relative: improvement over |champion|, both bounds must hold', () => {
    // 0.93 vs 0.9: +0.03 absolute, +3.33% relative
    assert.equal(checkChampionChange({ metric: 'accuracy', minRelative: 0.03 }, { accuracy: 0.93 }, champion).passed, true);
    assert.equal(checkChampionChange({ metric: 'accuracy', minRelative: 0.05 }, { accuracy: 0.93 }, champion).passed, false);
    assert.equal(checkChampionChange({ metric: 'accuracy', minAbsolute: 0.05, minRelative: 0.01 }, { accuracy: 0.93 }, champion).passed, false);
    // log loss 0.3 → 0.27 is a 10% relative improvement
    assert.equal(checkChampionChange({ metric: 'log_loss', minRelative: 0.1 - 1e-9 }, { log_loss: 0.27 }, champion).passed, true);
  });

  it('a champion at 0 on a lower-is-better metric: equal is 0%, worse is −∞', () => {
    assert.equal(checkChampionChange({ metric: 'rmse', minRelative: 0 }, { rmse: 0 }, champion).passed, true);
    assert.equal(checkChampionChange({ metric: 'rmse', minRelative: -0.5 }, { rmse: 0.1 }, champion).passed, false);
  });

  it('a champion that could not be evaluated fails the rule', () => {
    const outcome = checkChampionChange({ metric: 'accuracy' }, { accuracy: 0.99 }, { version: 2, error: 'column "x" is missing' });
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /version 2\) could not be evaluated on this test split \(column "x" is missing\)/);
  });
});

describe('slice floors', () => {
  const measurement = {
    column: 'island',
    metric: 'accuracy',
    floor: 0.8,
    minSize: 20,
    slices: [
      { value: 'Biscoe', size: 50, metricValue: 0.95 },
      { value: 'Dream', size: 48, metricValue: 0.62 },
      { value: 'Torgersen', size: 7, metricValue: 0.1 },
      { value: 'one-class', size: 30, metricValue: Number.NaN },
    ],
  };

  it('judges slices at or above minSize, reports smaller and uncomputable ones', () => {
    const outcomes = checkSlices(measurement);
    assert.deepEqual(outcomes.map((o) => o.passed), [true, false, null, null]);
    assert.equal(outcomes[1]?.message, 'accuracy 0.62 on slice "island" = "Dream" (n=48) is below the floor 0.8');
    assert.match(outcomes[2]?.message ?? '', /not judged: fewer than 20 rows/);
  });

  it('a floor on a lower-is-better metric is a ceiling', () => {
    const outcomes = checkSlices({ ...measurement, metric: 'log_loss', floor: 0.5, slices: [{ value: 'a', size: 30, metricValue: 0.7 }, { value: 'b', size: 30, metricValue: 0.4 }] });
    assert.deepEqual(outcomes.map((o) => o.passed), [false, true]);
    assert.match(outcomes[0]?.message ?? '', /is above the ceiling 0\.5/);
  });

  it('long hostile column names are cut in sentences', () => {
    const [outcome] = checkSlices({ ...measurement, column: 'x'.repeat(5000), slices: [{ value: 'v', size: 30, metricValue: 0.1 }] });
    assert.ok((outcome?.message.length ?? 0) < 200);
  });
});

describe('behavioural tests', () => {
  it('invariance judges the mean absolute change against epsilon', () => {
    const base = { column: 'id', epsilon: 0.05, perturbation: 'shuffled across rows', rows: 100, maxAbsChange: 0.3 };
    assert.equal(checkInvariance({ ...base, meanAbsChange: 0.01 }).passed, true);
    const failed = checkInvariance({ ...base, meanAbsChange: 0.08 });
    assert.equal(failed.passed, false);
    assert.equal(failed.message, 'with "id" shuffled across rows, predictions moved by 0.08 on average (at most 0.3); the invariance test allows less than 0.05');
    assert.equal(checkInvariance({ ...base, meanAbsChange: 0.05 }).passed, false, 'less than epsilon, strictly');
  });

  it('directional: increase must not lower the mean score; decrease must not raise it', () => {
    const base = { column: 'bill_length', rows: 10, delta: 5.5, wrongWayShare: 0.2 };
    assert.equal(checkDirectional({ ...base, direction: 'increase', meanChange: 0.1 }).passed, true);
    assert.equal(checkDirectional({ ...base, direction: 'increase', meanChange: 0 }).passed, true);
    const lowered = checkDirectional({ ...base, direction: 'increase', meanChange: -0.04 });
    assert.equal(lowered.passed, false);
    assert.equal(lowered.message, 'raising "bill_length" by 5.5 lowered the score by 0.04 on average (20% of rows moved the other way); expected it not to lower the score');
    assert.equal(checkDirectional({ ...base, direction: 'decrease', meanChange: 0.04 }).passed, false);
    assert.equal(checkDirectional({ ...base, direction: 'decrease', meanChange: -0.04 }).passed, true);
  });

  it('a directional test that could not run is reported, not judged', () => {
    assert.equal(checkDirectional({ column: 'x', direction: 'increase', rows: 10, note: 'multiclass' }).passed, null);
  });
});

describe('decideGate', () => {
  it('blesses when every judged rule passes and lists them as reasons', () => {
    const result = decideGate(inputs({ config: config({ thresholds: [{ metric: 'accuracy', op: '>=', value: 0.8 }] }) }));
    assert.equal(result.decision, 'blessed');
    assert.deepEqual(result.reasons, [
      'every prediction on the test split is a finite number',
      'accuracy 0.85 meets the floor 0.8',
      'roc_auc 0.9 beats the zero-rule baseline 0.5 by 0.4',
    ]);
  });

  it('rejects with every failed rule as a reason; not-judged rules do not count', () => {
    const result = decideGate(
      inputs({
        config: config({ thresholds: [{ metric: 'accuracy', op: '>=', value: 0.9 }], championChange: [{ metric: 'accuracy' }] }),
        nonFiniteOutputs: 2,
      }),
    );
    assert.equal(result.decision, 'rejected');
    assert.deepEqual(result.reasons, ['the model produced 2 non-finite outputs (NaN or infinity) on the test split', 'accuracy 0.85 is below the floor 0.9']);
    assert.equal(result.rules.find((r) => r.rule === 'champion-change')?.passed, null);
  });

  it('a model no better than the zero-rule is rejected even with no configured rule', () => {
    const result = decideGate(inputs({ metrics: { roc_auc: 0.49 } }));
    assert.equal(result.decision, 'rejected');
    assert.deepEqual(result.reasons, ['roc_auc 0.49 does not beat the zero-rule baseline 0.5']);
  });

  it('non-finite outputs fail', () => {
    assert.equal(checkOutputs(0).passed, true);
    assert.equal(checkOutputs(1).passed, false);
  });
});

describe('config checks and number formatting', () => {
  it('names metrics the task does not compute', () => {
    const problems = unknownMetricProblems('regression', config({ thresholds: [{ metric: 'accuracy', op: '>=', value: 0.9 }], slices: [{ column: 'a', metric: 'rmse', floor: 1 }] }));
    assert.deepEqual(problems, [{ path: 'evaluate.thresholds.0.metric', message: '"accuracy" is not a regression metric; use one of mae, rmse, r2' }]);
  });

  it('formats numbers for sentences', () => {
    assert.equal(fmt(0.71), '0.71');
    assert.equal(fmt(0.123456), '0.1235');
    assert.equal(fmt(0.00001234), '0.0000123');
    assert.equal(fmt(12345678), '12300000');
    assert.equal(fmt(Number.NaN), 'n/a');
  });
});
