import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { unknownMetricProblems } from '../../contracts/evaluate-names';
import { parsePipelineInput } from '../../contracts/pipeline-input';
import { valueOrFail } from '../../contracts/pipeline-input-failure';
import { EvaluateConfig } from '../../contracts/stage-config';
import { createSeededRandom } from '../../lib/data/seeded-random';
import {
  checkChampion,
  checkChampionChange,
  checkChampionCollapse,
  checkDirectional,
  checkInvariance,
  checkOutputs,
  checkProperScore,
  checkSlices,
  checkThreshold,
  checkZeroRule,
  decideGate,
  fmt,
  type ChampionComparison,
  type GateInputs,
  type ProperScoreEvidence,
  type ZeroRuleEvidence,
} from '../../lib/evaluation/gate';
import { properScoreEvidence, zeroRuleEvidence } from '../../lib/evaluation/gate-evidence';
import { evaluatePredictions } from '../../lib/evaluation/metrics';
import type { PairedComparison, PairedOptions } from '../../lib/evaluation/uncertainty';
import type { TaskType } from '../../contracts/pipeline-input';

const config = (raw: unknown = {}) => EvaluateConfig.parse(raw);
const alpha05 = { alpha: 0.05, mustBeatZeroRuleBy: 0 };

/** A paired comparison with the given improvement and one-sided bounds. */
const comparison = (
  metric: string,
  improvement: number,
  lower: number,
  upper: number,
  method: PairedComparison['method'] = 'paired-rows',
): PairedComparison => ({
  metric,
  improvement,
  standardError: (upper - lower) / (2 * 1.6448536269514722),
  lower,
  upper,
  method,
});

const zeroRule = (overrides: Partial<ZeroRuleEvidence> = {}): ZeroRuleEvidence => ({
  metric: 'roc_auc',
  model: 0.9,
  zeroRule: 0.5,
  pValue: 1e-9,
  comparison: comparison('roc_auc', 0.4, 0.35, 0.45, 'delong'),
  ...overrides,
});

const properScore = (overrides: Partial<ProperScoreEvidence> = {}): ProperScoreEvidence => ({
  metric: 'log_loss',
  model: 0.3,
  zeroRule: 0.67,
  comparison: comparison('log_loss', 0.37, 0.3, 0.44),
  ...overrides,
});

/** A champion evaluated on this split: roc_auc 0.88, the challenger +0.02 [−0.01, +0.05] on it. */
const champion = (overrides: Partial<ChampionComparison> = {}): ChampionComparison => ({
  version: 3,
  metrics: { roc_auc: 0.88, accuracy: 0.9, log_loss: 0.3, rmse: 0 },
  comparisons: { roc_auc: comparison('roc_auc', 0.02, -0.01, 0.05, 'delong') },
  ...overrides,
});

function inputs(overrides: Partial<GateInputs> = {}): GateInputs {
  return {
    task: 'binary',
    config: config(),
    testRows: 500,
    metrics: { roc_auc: 0.9, accuracy: 0.85, log_loss: 0.3 },
    intervals: {},
    zeroRule: zeroRule(),
    properScore: properScore(),
    slices: [],
    invariance: [],
    directional: [],
    nonFiniteOutputs: 0,
    ...overrides,
  };
}

const gateStats = (overrides: Partial<PairedOptions> = {}): PairedOptions => ({
  threshold: 0.5,
  confidence: 0.95,
  resamples: 100,
  seed: 1,
  alpha: 0.05,
  ...overrides,
});

describe('value thresholds', () => {
  it('a floor fails below and passes at the bound, in plain words', async () => {
    assert.deepEqual(checkThreshold({ metric: 'accuracy', op: '>=', value: 0.9 }, { accuracy: 0.71 }), {
      rule: 'threshold',
      passed: false,
      message: 'accuracy 0.71 is below the floor 0.9',
    });
    assert.equal(checkThreshold({ metric: 'accuracy', op: '>=', value: 0.9 }, { accuracy: 0.9 }).passed, true);
  });

  it('a ceiling on a lower-is-better metric', async () => {
    const outcome = checkThreshold({ metric: 'log_loss', op: '<=', value: 0.5 }, { log_loss: 0.62 });
    assert.equal(outcome.passed, false);
    assert.equal(outcome.message, 'log_loss 0.62 is above the ceiling 0.5');
    assert.equal(checkThreshold({ metric: 'log_loss', op: '<=', value: 0.5 }, { log_loss: 0.4 }).passed, true);
  });

  it('an uncomputable metric fails its bound', async () => {
    const outcome = checkThreshold({ metric: 'roc_auc', op: '>=', value: 0.8 }, { roc_auc: Number.NaN });
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /could not be computed/);
  });
});

describe('zero-rule baseline: beating it needs evidence', () => {
  it('passes when the improvement is significant at alpha, saying p and α', async () => {
    const outcome = checkZeroRule(zeroRule({ pValue: 0.001 }), alpha05, 500);
    assert.equal(outcome.passed, true);
    assert.equal(
      outcome.message,
      "roc_auc 0.9 vs the zero-rule baseline's 0.5 (improvement +0.4, at least +0.35 with 95% confidence) beats it: p = 0.001 < α 0.05",
    );
  });

  it('a p-value below 0.0001 is written as such', async () => {
    assert.match(checkZeroRule(zeroRule({ pValue: 1e-9 }), alpha05, 500).message, /beats it: p < 0\.0001 < α 0\.05$/);
  });

  it('a model that is better on paper but not significantly so is rejected, naming the test rows', async () => {
    const evidence = zeroRule({
      model: 0.56,
      pValue: 0.2,
      comparison: comparison('roc_auc', 0.06, -0.03, 0.15, 'delong'),
    });
    const outcome = checkZeroRule(evidence, alpha05, 52);
    assert.equal(outcome.passed, false);
    assert.equal(
      outcome.message,
      "roc_auc 0.56 vs the zero-rule baseline's 0.5 (improvement +0.06, at least -0.03 with 95% confidence): on 52 test rows the model cannot be told apart from the zero-rule (p = 0.2 ≥ α 0.05); too little evidence to bless it",
    );
  });

  it('p exactly at alpha is not significant; alpha is the configured one', async () => {
    assert.equal(checkZeroRule(zeroRule({ pValue: 0.05 }), alpha05, 500).passed, false);
    assert.equal(checkZeroRule(zeroRule({ pValue: 0.03 }), { alpha: 0.01, mustBeatZeroRuleBy: 0 }, 500).passed, false);
    assert.equal(checkZeroRule(zeroRule({ pValue: 0.03 }), { alpha: 0.05, mustBeatZeroRuleBy: 0 }, 500).passed, true);
  });

  it('with a margin, the improvement must also exceed it, and the message names the margin', async () => {
    const passed = checkZeroRule(zeroRule({ pValue: 0.001 }), { alpha: 0.05, mustBeatZeroRuleBy: 0.05 }, 500);
    assert.equal(passed.passed, true);
    assert.match(passed.message, /beats it by the required margin 0\.05/);
    const short = checkZeroRule(
      zeroRule({ pValue: 0.3, comparison: comparison('roc_auc', 0.04, 0.01, 0.07) }),
      { alpha: 0.05, mustBeatZeroRuleBy: 0.05 },
      500,
    );
    assert.equal(short.passed, false);
    assert.match(short.message, /cannot be told apart from the zero-rule by the required margin 0\.05/);
    assert.equal(
      checkZeroRule(
        zeroRule({ pValue: 0.01, comparison: comparison('roc_auc', 0.05, 0.01, 0.09) }),
        { alpha: 0.05, mustBeatZeroRuleBy: 0.05 },
        500,
      ).passed,
      false,
      'an improvement equal to the margin is not above it',
    );
  });

  it('a test that could not be computed is a rejection with the reason, never NaN', async () => {
    const outcome = checkZeroRule(
      zeroRule({
        model: Number.NaN,
        pValue: Number.NaN,
        note: 'the test split holds a single class, so nothing can be ranked or told apart',
      }),
      alpha05,
      30,
    );
    assert.equal(outcome.passed, false);
    assert.equal(
      outcome.message,
      'roc_auc could not be compared with the zero-rule baseline on the test split (the test split holds a single class, so nothing can be ranked or told apart), so the model cannot be shown to beat it',
    );
    assert.equal(checkZeroRule(zeroRule({ pValue: Number.NaN }), alpha05, 30).passed, false);
    assert.match(checkZeroRule(zeroRule({ zeroRule: Number.NaN }), alpha05, 30).message, /\(not computable\)/);
  });
});

describe('proper scoring rule against the zero-rule', () => {
  it('no worse than the zero-rule passes, with the difference and its interval', async () => {
    const outcome = checkProperScore(properScore(), alpha05);
    assert.equal(outcome.passed, true);
    assert.equal(
      outcome.message,
      "log_loss 0.3 is no worse than the zero-rule's 0.67 (difference -0.37, 95% bounds [-0.44, -0.3])",
    );
    assert.equal(
      checkProperScore(properScore({ model: 0.67, comparison: comparison('log_loss', 0, -0.01, 0.01) }), alpha05)
        .passed,
      true,
      'a tie is not worse',
    );
  });

  it('worse than predicting the base rate is a rejection, whatever the model ranks', async () => {
    // The issue's case: log loss 0.651 against the zero-rule's 0.521.
    const outcome = checkProperScore(
      properScore({ model: 0.651, zeroRule: 0.521, comparison: comparison('log_loss', -0.13, -0.14, -0.12) }),
      alpha05,
    );
    assert.equal(outcome.passed, false);
    assert.equal(
      outcome.message,
      "log_loss 0.651 is worse than the zero-rule's 0.521 (difference +0.13, 95% bounds [0.12, 0.14]): predicting the base rate would score better",
    );
  });

  it('a worse point value that the test rows cannot tell from a tie passes, and says so', async () => {
    const outcome = checkProperScore(
      properScore({ metric: 'mse', model: 2.1, zeroRule: 2, comparison: comparison('mse', -0.1, -0.4, 0.2) }),
      alpha05,
    );
    assert.equal(outcome.passed, true);
    assert.equal(
      outcome.message,
      "mse 2.1 is above the zero-rule's 2, but not significantly (difference +0.1, 95% bounds [-0.2, 0.4]): these test rows cannot tell them apart",
    );
  });

  it('not computable for either side fails', async () => {
    const outcome = checkProperScore(properScore({ zeroRule: Number.NaN }), alpha05);
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /could not be computed/);
  });
});

describe('champion comparison on the main metric', () => {
  const defaults = config();

  it('the defaults: non-inferiority with margin 0.01 at alpha 0.005', async () => {
    assert.deepEqual(defaults.championComparison, { test: 'non-inferiority', margin: 0.01 });
    assert.equal(defaults.alpha, 0.005);
  });

  it('no champion: reported, not judged', async () => {
    assert.deepEqual(checkChampion('roc_auc', undefined, defaults), {
      rule: 'champion',
      passed: null,
      message: 'no champion yet, so there is nothing to compare with',
    });
  });

  it('non-inferiority: as good as the champion passes; fails only when the upper bound is below −margin', async () => {
    const equal = checkChampion('roc_auc', champion(), defaults);
    assert.equal(equal.passed, true);
    assert.equal(
      equal.message,
      'roc_auc +0.02 vs the champion (version 3, 0.88 on these rows); at most +0.05 with 99.5% confidence: not worse than the champion by more than the margin 0.01',
    );
    const slightlyWorse = champion({ comparisons: { roc_auc: comparison('roc_auc', -0.02, -0.04, -0.005) } });
    assert.equal(
      checkChampion('roc_auc', slightlyWorse, defaults).passed,
      true,
      'significantly worse, but by less than the margin',
    );
    const atMargin = champion({ comparisons: { roc_auc: comparison('roc_auc', -0.03, -0.05, -0.01) } });
    assert.equal(checkChampion('roc_auc', atMargin, defaults).passed, true, 'upper bound exactly at −margin');
    const worse = champion({ comparisons: { roc_auc: comparison('roc_auc', -0.05, -0.08, -0.011) } });
    const outcome = checkChampion('roc_auc', worse, defaults);
    assert.equal(outcome.passed, false);
    assert.match(
      outcome.message,
      /at most -0\.011 with 99\.5% confidence: significantly worse than the champion by more than the margin 0\.01$/,
    );
    assert.equal(
      checkChampion('roc_auc', worse, config({ championComparison: { margin: 0.02 } })).passed,
      true,
      'a wider margin tolerates it',
    );
  });

  it('superiority: passes only when the lower bound is above 0', async () => {
    const superiority = config({ championComparison: { test: 'superiority' } });
    assert.equal(checkChampion('roc_auc', champion(), superiority).passed, false, 'as good is not enough');
    assert.match(
      checkChampion('roc_auc', champion(), superiority).message,
      /at least -0\.01 with 99\.5% confidence: not shown to be better \(superiority is required\)$/,
    );
    const better = champion({ comparisons: { roc_auc: comparison('roc_auc', 0.05, 0.001, 0.1) } });
    assert.equal(checkChampion('roc_auc', better, superiority).passed, true);
    assert.match(checkChampion('roc_auc', better, superiority).message, /significantly better \(superiority\)$/);
    const atZero = champion({ comparisons: { roc_auc: comparison('roc_auc', 0.05, 0, 0.1) } });
    assert.equal(
      checkChampion('roc_auc', atZero, superiority).passed,
      false,
      'a lower bound of exactly 0 is not above 0',
    );
  });

  it('a champion that could not be evaluated, or a comparison without an interval, fails', async () => {
    const broken = checkChampion('roc_auc', { version: 2, error: 'column "x" is missing' }, defaults);
    assert.equal(broken.passed, false);
    assert.match(
      broken.message,
      /the champion \(version 2\) could not be evaluated on this test split \(column "x" is missing\)/,
    );
    const noInterval = champion({ comparisons: { roc_auc: comparison('roc_auc', 0.01, Number.NaN, Number.NaN) } });
    assert.equal(checkChampion('roc_auc', noInterval, defaults).passed, false);
    assert.match(checkChampion('roc_auc', noInterval, defaults).message, /has no interval on this split/);
  });
});

describe('champion-collapse guard', () => {
  // Registered at 0.9 with the zero-rule at 0.5: a lead of 0.4; keepLead 0.5 puts the floor at 0.7.
  const collapsed = champion({
    metrics: { roc_auc: 0.55 },
    registeredMainMetric: 0.9,
    mainMetricInterval: { lower: 0.5, upper: 0.6, method: 'delong' },
  });
  const kept = champion({
    metrics: { roc_auc: 0.8 },
    registeredMainMetric: 0.9,
    mainMetricInterval: { lower: 0.74, upper: 0.86, method: 'delong' },
  });

  it('a champion that kept its lead passes', async () => {
    const outcome = checkChampionCollapse('binary', kept, zeroRule(), config());
    assert.equal(outcome?.passed, true);
    assert.match(outcome?.message ?? '', /kept its lead over the zero-rule$/);
    const atFloor = champion({
      metrics: { roc_auc: 0.65 },
      registeredMainMetric: 0.9,
      mainMetricInterval: { lower: 0.6, upper: 0.7, method: 'delong' },
    });
    assert.equal(
      checkChampionCollapse('binary', atFloor, zeroRule(), config())?.passed,
      true,
      'upper bound exactly at the floor',
    );
  });

  it('approval (the default): reported, not judged, naming both numbers; decideGate asks for approval', async () => {
    const outcome = checkChampionCollapse('binary', collapsed, zeroRule(), config());
    assert.equal(outcome?.passed, null);
    assert.equal(
      outcome?.message,
      'the champion (version 3) scores roc_auc 0.55 [0.5, 0.6] on this test split against 0.9 when it was registered (zero-rule here: 0.5): it lost more than 50% of its lead, so the labels, the concept or the data changed and "as good as the champion" is no evidence; automatic promotion stops and waits for a person\'s approval',
    );
    const decision = decideGate(inputs({ champion: collapsed }));
    assert.equal(decision.decision, 'blessed');
    assert.equal(decision.approvalRequired, outcome?.message);
    assert.ok(!decision.reasons.includes(outcome?.message ?? ''), 'a rule not judged is not a reason');
  });

  it('reject: fails, and the run is rejected without asking for approval', async () => {
    const rejectConfig = config({ championCollapse: { action: 'reject' } });
    const outcome = checkChampionCollapse('regression', collapsed, zeroRule(), rejectConfig);
    assert.equal(outcome?.passed, false);
    assert.match(
      outcome?.message ?? '',
      /so the target, the concept or the data changed .*; rejected \(evaluate\.championCollapse\.action is "reject"\)$/,
    );
    const decision = decideGate(inputs({ config: rejectConfig, champion: collapsed }));
    assert.equal(decision.decision, 'rejected');
    assert.equal(decision.approvalRequired, undefined);
    assert.ok(decision.reasons.some((r) => r.includes('lost more than 50% of its lead')));
  });

  it('a run rejected for another reason does not ask for approval', async () => {
    const decision = decideGate(inputs({ champion: collapsed, nonFiniteOutputs: 1 }));
    assert.equal(decision.decision, 'rejected');
    assert.equal(decision.approvalRequired, undefined);
  });

  it('keepLead sets the floor', async () => {
    // keepLead 0.2: floor 0.5 + 0.2·0.4 = 0.58, below the collapsed champion's upper bound 0.6.
    assert.equal(
      checkChampionCollapse('binary', collapsed, zeroRule(), config({ championCollapse: { keepLead: 0.2 } }))?.passed,
      true,
    );
  });

  it('does not apply without a champion, a registered value, an interval, or a registered lead over the zero-rule', async () => {
    assert.equal(checkChampionCollapse('binary', undefined, zeroRule(), config()), undefined);
    assert.equal(checkChampionCollapse('binary', champion(), zeroRule(), config()), undefined);
    assert.equal(
      checkChampionCollapse('binary', { ...collapsed, mainMetricInterval: undefined }, zeroRule(), config()),
      undefined,
    );
    assert.equal(
      checkChampionCollapse('binary', { ...collapsed, registeredMainMetric: 0.45 }, zeroRule(), config()),
      undefined,
    );
    assert.equal(checkChampionCollapse('binary', collapsed, zeroRule({ zeroRule: Number.NaN }), config()), undefined);
    assert.equal(
      decideGate(inputs({ champion: champion() })).rules.some((r) => r.rule === 'champion-collapse'),
      false,
    );
  });
});

describe('champion change thresholds, judged on the paired interval', () => {
  const withComparison = (metric: string, improvement: number, lower: number, upper: number) =>
    champion({ comparisons: { [metric]: comparison(metric, improvement, lower, upper) } });

  it('does not apply without a champion', async () => {
    assert.equal(
      checkChampionChange({ metric: 'accuracy', minAbsolute: 0 }, { accuracy: 0.5 }, undefined).passed,
      null,
    );
  });

  it('a positive bound asks for evidence: the lower end of the interval must reach it', async () => {
    const shown = checkChampionChange(
      { metric: 'accuracy', minAbsolute: 0.01 },
      { accuracy: 0.93 },
      withComparison('accuracy', 0.03, 0.015, 0.045),
    );
    assert.equal(shown.passed, true);
    assert.equal(
      shown.message,
      "accuracy 0.93 vs the champion's 0.9 (version 3): an improvement of +0.03 [0.015, 0.045], within the change threshold",
    );
    const notShown = checkChampionChange(
      { metric: 'accuracy', minAbsolute: 0.01 },
      { accuracy: 0.93 },
      withComparison('accuracy', 0.03, 0.005, 0.055),
    );
    assert.equal(notShown.passed, false, 'the point value clears the bound, its lower end does not');
    assert.equal(
      notShown.message,
      "accuracy 0.93 vs the champion's 0.9 (version 3): an improvement of +0.03 [0.005, 0.055], but an improvement of at least 0.01 is required and the interval's lower end is 0.005",
    );
    assert.equal(
      checkChampionChange(
        { metric: 'accuracy', minAbsolute: 0.01 },
        { accuracy: 0.93 },
        withComparison('accuracy', 0.03, 0.01, 0.05),
      ).passed,
      true,
      'lower end exactly at the bound',
    );
  });

  it('a zero or negative bound is a tolerance: fails only when the upper end is below it', async () => {
    const tolerated = checkChampionChange(
      { metric: 'accuracy', minAbsolute: -0.05 },
      { accuracy: 0.88 },
      withComparison('accuracy', -0.02, -0.07, -0.04),
    );
    assert.equal(tolerated.passed, true, 'the lower end is beyond the tolerance, the upper end is not');
    const beyond = checkChampionChange(
      { metric: 'accuracy', minAbsolute: -0.05 },
      { accuracy: 0.82 },
      withComparison('accuracy', -0.08, -0.1, -0.06),
    );
    assert.equal(beyond.passed, false);
    assert.match(
      beyond.message,
      /, but the improvement is significantly below -0\.05 \(the interval's upper end is -0\.06\)$/,
    );
  });

  it('no bound given means "not significantly worse": minAbsolute 0 on the upper end', async () => {
    assert.equal(
      checkChampionChange({ metric: 'accuracy' }, { accuracy: 0.89 }, withComparison('accuracy', -0.01, -0.03, 0.01))
        .passed,
      true,
      'worse on paper, within noise',
    );
    assert.equal(
      checkChampionChange({ metric: 'accuracy' }, { accuracy: 0.89 }, withComparison('accuracy', -0.01, -0.03, 0))
        .passed,
      true,
      'upper end exactly 0',
    );
    assert.equal(
      checkChampionChange({ metric: 'accuracy' }, { accuracy: 0.87 }, withComparison('accuracy', -0.03, -0.05, -0.001))
        .passed,
      false,
    );
  });

  it('lower-is-better metrics: the improvement is the decrease, and the message says so', async () => {
    const better = checkChampionChange(
      { metric: 'log_loss', minAbsolute: 0.01 },
      { log_loss: 0.25 },
      withComparison('log_loss', 0.05, 0.02, 0.08),
    );
    assert.equal(better.passed, true);
    const worse = checkChampionChange(
      { metric: 'log_loss', minAbsolute: 0 },
      { log_loss: 0.35 },
      withComparison('log_loss', -0.05, -0.08, -0.02),
    );
    assert.equal(worse.passed, false);
    assert.match(worse.message, /an improvement of -0\.05 \[-0\.08, -0\.02\] \(lower is better\)/);
  });

  it('relative: the interval over |champion|; both bounds must hold', async () => {
    // Champion accuracy 0.9: a lower end of 0.03 is +3.33%, of 0.02 is +2.22%.
    assert.equal(
      checkChampionChange(
        { metric: 'accuracy', minRelative: 0.03 },
        { accuracy: 0.94 },
        withComparison('accuracy', 0.04, 0.03, 0.05),
      ).passed,
      true,
    );
    const short = checkChampionChange(
      { metric: 'accuracy', minRelative: 0.03 },
      { accuracy: 0.94 },
      withComparison('accuracy', 0.04, 0.02, 0.06),
    );
    assert.equal(short.passed, false);
    assert.match(
      short.message,
      /a relative improvement of at least 3% is required and the interval's lower end is 2\.22%/,
    );
    const both = checkChampionChange(
      { metric: 'accuracy', minAbsolute: 0.05, minRelative: 0.01 },
      { accuracy: 0.94 },
      withComparison('accuracy', 0.04, 0.03, 0.05),
    );
    assert.equal(both.passed, false, 'relative holds, absolute does not');
    // Champion log loss 0.3: an upper end of −0.02 is −6.67%, within a −10% tolerance; −0.04 (−13.3%) is not.
    assert.equal(
      checkChampionChange(
        { metric: 'log_loss', minRelative: -0.1 },
        { log_loss: 0.33 },
        withComparison('log_loss', -0.03, -0.04, -0.02),
      ).passed,
      true,
    );
    assert.equal(
      checkChampionChange(
        { metric: 'log_loss', minRelative: -0.1 },
        { log_loss: 0.36 },
        withComparison('log_loss', -0.06, -0.08, -0.04),
      ).passed,
      false,
    );
  });

  it('a champion at 0 on a lower-is-better metric: no change is 0%, a significant loss is −∞', async () => {
    assert.equal(
      checkChampionChange({ metric: 'rmse', minRelative: 0 }, { rmse: 0 }, withComparison('rmse', 0, 0, 0)).passed,
      true,
    );
    assert.equal(
      checkChampionChange(
        { metric: 'rmse', minRelative: -0.5 },
        { rmse: 0.1 },
        withComparison('rmse', -0.1, -0.15, -0.05),
      ).passed,
      false,
    );
  });

  it('a champion that could not be evaluated, or a metric not computable, fails the rule', async () => {
    const outcome = checkChampionChange(
      { metric: 'accuracy' },
      { accuracy: 0.99 },
      { version: 2, error: 'column "x" is missing' },
    );
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /version 2\) could not be evaluated on this test split \(column "x" is missing\)/);
    const noValue = checkChampionChange(
      { metric: 'accuracy' },
      { accuracy: Number.NaN },
      withComparison('accuracy', 0, -0.01, 0.01),
    );
    assert.equal(noValue.passed, false);
    assert.match(noValue.message, /could not be computed for the model or the champion/);
    assert.equal(
      checkChampionChange({ metric: 'pr_auc' }, { pr_auc: 0.7 }, champion()).passed,
      false,
      'no comparison for the metric',
    );
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

  it('judges slices at or above minSize, reports smaller and uncomputable ones', async () => {
    const outcomes = checkSlices(measurement);
    assert.deepEqual(
      outcomes.map((o) => o.passed),
      [true, false, null, null],
    );
    assert.equal(outcomes[1]?.message, 'accuracy 0.62 on slice "island" = "Dream" (n=48) is below the floor 0.8');
    assert.match(outcomes[2]?.message ?? '', /not judged: fewer than 20 rows/);
  });

  it('a floor on a lower-is-better metric is a ceiling', async () => {
    const outcomes = checkSlices({
      ...measurement,
      metric: 'log_loss',
      floor: 0.5,
      slices: [
        { value: 'a', size: 30, metricValue: 0.7 },
        { value: 'b', size: 30, metricValue: 0.4 },
      ],
    });
    assert.deepEqual(
      outcomes.map((o) => o.passed),
      [false, true],
    );
    assert.match(outcomes[0]?.message ?? '', /is above the ceiling 0\.5/);
  });

  it('long hostile column names are cut in sentences', async () => {
    const [outcome] = checkSlices({
      ...measurement,
      column: 'x'.repeat(5000),
      slices: [{ value: 'v', size: 30, metricValue: 0.1 }],
    });
    assert.ok((outcome?.message.length ?? 0) < 200);
  });
});

describe('behavioural tests', () => {
  it('invariance judges the mean absolute change against epsilon', async () => {
    const base = { column: 'id', epsilon: 0.05, perturbation: 'shuffled across rows', rows: 100, maxAbsChange: 0.3 };
    assert.equal(checkInvariance({ ...base, meanAbsChange: 0.01 }).passed, true);
    const failed = checkInvariance({ ...base, meanAbsChange: 0.08 });
    assert.equal(failed.passed, false);
    assert.equal(
      failed.message,
      'with "id" shuffled across rows, predictions moved by 0.08 on average (at most 0.3); the invariance test allows less than 0.05',
    );
    assert.equal(checkInvariance({ ...base, meanAbsChange: 0.05 }).passed, false, 'less than epsilon, strictly');
  });

  it('directional: increase must not lower the mean score; decrease must not raise it', async () => {
    const base = { column: 'bill_length', rows: 10, delta: 5.5, wrongWayShare: 0.2 };
    assert.equal(checkDirectional({ ...base, direction: 'increase', meanChange: 0.1 }).passed, true);
    assert.equal(checkDirectional({ ...base, direction: 'increase', meanChange: 0 }).passed, true);
    const lowered = checkDirectional({ ...base, direction: 'increase', meanChange: -0.04 });
    assert.equal(lowered.passed, false);
    assert.equal(
      lowered.message,
      'raising "bill_length" by 5.5 lowered the score by 0.04 on average (20% of rows moved the other way); expected it not to lower the score',
    );
    assert.equal(checkDirectional({ ...base, direction: 'decrease', meanChange: 0.04 }).passed, false);
    assert.equal(checkDirectional({ ...base, direction: 'decrease', meanChange: -0.04 }).passed, true);
  });

  it('a directional test that could not run is reported, not judged', async () => {
    assert.equal(checkDirectional({ column: 'x', direction: 'increase', rows: 10, note: 'multiclass' }).passed, null);
  });
});

describe('decideGate', () => {
  it('blesses when every judged rule passes and lists them, in rule order, as reasons', async () => {
    const result = decideGate(
      inputs({ config: config({ thresholds: [{ metric: 'accuracy', op: '>=', value: 0.8 }] }), champion: champion() }),
    );
    assert.equal(result.decision, 'blessed');
    assert.equal(result.approvalRequired, undefined);
    assert.deepEqual(
      result.rules.map((r) => r.rule),
      ['outputs', 'threshold', 'zero-rule', 'proper-score', 'champion'],
    );
    assert.equal(result.reasons.length, 5);
    assert.equal(result.reasons[0], 'every prediction on the test split is a finite number');
    assert.equal(result.reasons[1], 'accuracy 0.85 meets the floor 0.8');
    assert.match(result.reasons[2] ?? '', /^roc_auc 0\.9 vs the zero-rule baseline's 0\.5 .* beats it/);
    assert.match(result.reasons[3] ?? '', /^log_loss 0\.3 is no worse than the zero-rule's 0\.67/);
    assert.match(result.reasons[4] ?? '', /not worse than the champion by more than the margin 0\.01$/);
  });

  it('rejects with every failed rule as a reason; not-judged rules do not count', async () => {
    const result = decideGate(
      inputs({
        config: config({
          thresholds: [{ metric: 'accuracy', op: '>=', value: 0.9 }],
          championChange: [{ metric: 'accuracy' }],
        }),
        nonFiniteOutputs: 2,
      }),
    );
    assert.equal(result.decision, 'rejected');
    assert.deepEqual(result.reasons, [
      'the model produced 2 non-finite outputs (NaN or infinity) on the test split',
      'accuracy 0.85 is below the floor 0.9',
    ]);
    assert.equal(result.rules.find((r) => r.rule === 'champion-change')?.passed, null);
    assert.equal(result.rules.find((r) => r.rule === 'champion')?.passed, null);
  });

  it('a model that cannot be told from the zero-rule is rejected even with no configured rule', async () => {
    const result = decideGate(
      inputs({
        metrics: { roc_auc: 0.53 },
        zeroRule: zeroRule({
          model: 0.53,
          pValue: 0.21,
          comparison: comparison('roc_auc', 0.03, -0.02, 0.08, 'delong'),
        }),
      }),
    );
    assert.equal(result.decision, 'rejected');
    assert.equal(result.reasons.length, 1);
    assert.match(
      result.reasons[0] ?? '',
      /^roc_auc 0\.53 vs the zero-rule baseline's 0\.5 .*: on 500 test rows the model cannot be told apart from the zero-rule \(p = 0\.21 ≥ α 0\.005\)/,
    );
  });

  it('a model worse than the base rate on the proper scoring rule is rejected, however well it ranks', async () => {
    const result = decideGate(
      inputs({
        properScore: properScore({
          model: 0.651,
          zeroRule: 0.521,
          comparison: comparison('log_loss', -0.13, -0.14, -0.12),
        }),
      }),
    );
    assert.equal(result.decision, 'rejected');
    assert.deepEqual(
      result.rules.filter((r) => r.passed === false).map((r) => r.rule),
      ['proper-score'],
    );
  });

  it('a challenger significantly worse than the champion is rejected; champion change rules are judged beside it', async () => {
    const worse = champion({
      comparisons: {
        roc_auc: comparison('roc_auc', -0.06, -0.09, -0.03, 'delong'),
        accuracy: comparison('accuracy', 0.01, -0.01, 0.03),
      },
    });
    const result = decideGate(
      inputs({ champion: worse, config: config({ championChange: [{ metric: 'accuracy' }] }) }),
    );
    assert.equal(result.decision, 'rejected');
    assert.deepEqual(
      result.rules.map((r) => [r.rule, r.passed]),
      [
        ['outputs', true],
        ['zero-rule', true],
        ['proper-score', true],
        ['champion', false],
        ['champion-change', true],
      ],
    );
  });

  it('non-finite outputs fail', async () => {
    assert.equal(checkOutputs(0).passed, true);
    assert.equal(checkOutputs(1).passed, false);
  });
});

describe('evidence from the test rows: degenerate splits are clear rejections, never NaN', () => {
  const judge = async (
    task: TaskType,
    labels: Float32Array,
    outputs: Float32Array,
    zeroOutputs: Float32Array,
    classes?: string[],
    margin = 0,
  ) => {
    const stats = gateStats({ classes });
    const model = evaluatePredictions(task, labels, outputs, stats).metrics;
    const zero = evaluatePredictions(task, labels, zeroOutputs, stats).metrics;
    const metric = { binary: 'roc_auc', multiclass: 'accuracy', regression: 'r2' }[task];
    const evidence = await zeroRuleEvidence(task, metric, labels, outputs, zeroOutputs, model, zero, margin, stats);
    return { evidence, outcome: checkZeroRule(evidence, { alpha: 0.05, mustBeatZeroRuleBy: margin }, labels.length) };
  };

  it('a perfect ranking with mustBeatZeroRuleBy > 0 is blessed, not "not computable"', async () => {
    const labels = Float32Array.from({ length: 60 }, (_, i) => i % 2);
    const outputs = labels.map((y, i) => (y ? 0.7 : 0.2) + (i % 7) * 0.01);
    const { evidence, outcome } = await judge(
      'binary',
      labels,
      outputs,
      new Float32Array(60).fill(0.5),
      undefined,
      0.05,
    );
    assert.equal(evidence.note, undefined);
    assert.equal(outcome.passed, true, outcome.message);
    assert.match(outcome.message, /beats it by the required margin 0\.05: p < 0\.0001 < α 0\.05$/);
  });

  it('binary, a test split with a single class', async () => {
    const labels = new Float32Array(40).fill(1);
    const outputs = Float32Array.from({ length: 40 }, (_, i) => i / 40);
    const { evidence, outcome } = await judge('binary', labels, outputs, new Float32Array(40).fill(0.3));
    assert.equal(evidence.note, 'the test split holds a single class, so nothing can be ranked or told apart');
    assert.equal(outcome.passed, false);
    assert.match(
      outcome.message,
      /\(the test split holds a single class, so nothing can be ranked or told apart\), so the model cannot be shown to beat it$/,
    );
    assert.doesNotMatch(outcome.message, /NaN/);
  });

  it('binary, every score equal', async () => {
    const labels = Float32Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const { evidence, outcome } = await judge(
      'binary',
      labels,
      new Float32Array(40).fill(0.42),
      new Float32Array(40).fill(0.3),
    );
    assert.equal(evidence.note, 'every score the model gave is equal, so it ranks nothing');
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /every score the model gave is equal/);
    assert.doesNotMatch(outcome.message, /NaN/);
  });

  it('multiclass, a test split with a single class: rejected, though a constant guess of that class is "right" on every row', async () => {
    const n = 40;
    const labels = new Float32Array(n).fill(2);
    const outputs = new Float32Array(n * 3);
    const zeroOutputs = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      outputs.set([0.1, 0.2, 0.7], i * 3);
      zeroOutputs.set([0.5, 0.3, 0.2], i * 3);
    }
    const { evidence, outcome } = await judge('multiclass', labels, outputs, zeroOutputs, ['a', 'b', 'c']);
    assert.equal(evidence.note, 'the test split holds a single class, so nothing can be ranked or told apart');
    assert.equal(outcome.passed, false);
    assert.doesNotMatch(outcome.message, /NaN/);
  });

  it('regression, a constant target', async () => {
    const labels = new Float32Array(30).fill(5);
    const outputs = Float32Array.from({ length: 30 }, (_, i) => 5 + Math.sin(i));
    const { evidence, outcome } = await judge('regression', labels, outputs, new Float32Array(30).fill(4.8));
    assert.equal(evidence.note, 'the target is constant on the test split');
    assert.equal(outcome.passed, false);
    assert.doesNotMatch(outcome.message, /NaN/);
  });

  it('a good model on a healthy split: evidence passes both zero-rule rules, with no note', async () => {
    const random = createSeededRandom(9);
    const n = 300;
    const labels = Float32Array.from({ length: n }, () => (random() < 0.4 ? 1 : 0));
    const outputs = labels.map((y) => Math.min(0.95, Math.max(0.05, 0.4 + (y ? 0.25 : -0.2) + 0.3 * (random() - 0.5))));
    const zeroOutputs = new Float32Array(n).fill(0.4);
    const { evidence, outcome } = await judge('binary', labels, outputs, zeroOutputs);
    assert.equal(evidence.note, undefined);
    assert.equal(outcome.passed, true);
    const stats = gateStats();
    const proper = await properScoreEvidence(
      'binary',
      labels,
      outputs,
      zeroOutputs,
      evaluatePredictions('binary', labels, outputs, stats).metrics,
      evaluatePredictions('binary', labels, zeroOutputs, stats).metrics,
      stats,
    );
    assert.equal(checkProperScore(proper, alpha05).passed, true);
  });

  it('a model that ranks well but is worse than the base rate on log loss: zero-rule passes, proper score fails', async () => {
    const random = createSeededRandom(10);
    const n = 400;
    const labels = Float32Array.from({ length: n }, () => (random() < 0.2 ? 1 : 0));
    // Informative ranking (AUC ≈ 0.65), overconfident probabilities: log loss ≈ 0.81 against the base rate's ≈ 0.50.
    const outputs = labels.map((y) => (random() < (y ? 0.6 : 0.3) ? 0.9 : 0.1));
    const zeroOutputs = new Float32Array(n).fill(0.2);
    const { outcome } = await judge('binary', labels, outputs, zeroOutputs);
    assert.equal(outcome.passed, true, outcome.message);
    const stats = gateStats();
    const proper = await properScoreEvidence(
      'binary',
      labels,
      outputs,
      zeroOutputs,
      evaluatePredictions('binary', labels, outputs, stats).metrics,
      evaluatePredictions('binary', labels, zeroOutputs, stats).metrics,
      stats,
    );
    assert.ok(proper.model > proper.zeroRule, `log loss ${proper.model} vs ${proper.zeroRule}`);
    const verdict = checkProperScore(proper, alpha05);
    assert.equal(verdict.passed, false);
    assert.match(verdict.message, /predicting the base rate would score better$/);
  });
});

describe('config checks and number formatting', () => {
  it('names metrics the task does not compute', async () => {
    const problems = unknownMetricProblems(
      'regression',
      config({
        thresholds: [{ metric: 'accuracy', op: '>=', value: 0.9 }],
        slices: [{ column: 'a', metric: 'rmse', floor: 1 }],
      }),
    );
    assert.deepEqual(problems, [
      {
        path: 'evaluate.thresholds.0.metric',
        message: '"accuracy" is not a regression metric; use one of mae, rmse, r2',
      },
    ]);
  });

  it('the safe defaults', async () => {
    const defaults = config();
    assert.equal(defaults.alpha, 0.005);
    assert.equal(defaults.decisionThreshold, 'max-f1');
    assert.deepEqual(defaults.championComparison, { test: 'non-inferiority', margin: 0.01 });
    assert.deepEqual(defaults.championCollapse, { action: 'approval', keepLead: 0.5 });
    assert.equal(defaults.mustBeatZeroRuleBy, 0);
  });

  it('alpha out of range is an error naming evaluate.alpha', async () => {
    for (const alpha of [0, 1, -0.1, 0.6]) {
      const parsed = EvaluateConfig.safeParse({ alpha });
      assert.ok(!parsed.success, `alpha ${alpha} accepted`);
      assert.deepEqual(
        parsed.error.issues.map((i) => i.path),
        [['alpha']],
        `alpha ${alpha}`,
      );
    }
    for (const alpha of [0.001, 0.05, 0.5])
      assert.ok(EvaluateConfig.safeParse({ alpha }).success, `alpha ${alpha} rejected`);
  });

  it('championComparison.margin out of range is an error naming the field', async () => {
    for (const margin of [-0.01, 1.5]) {
      const parsed = EvaluateConfig.safeParse({ championComparison: { margin } });
      assert.ok(!parsed.success, `margin ${margin} accepted`);
      assert.deepEqual(
        parsed.error.issues.map((i) => i.path),
        [['championComparison', 'margin']],
        `margin ${margin}`,
      );
    }
    assert.ok(EvaluateConfig.safeParse({ championComparison: { margin: 0 } }).success);
  });

  it('through the pipeline input: InvalidPipelineConfig naming evaluate.alpha and evaluate.championComparison.margin', async () => {
    const raw = {
      model: 'penguins',
      dataset: { uri: 's3://trainyard/datasets/penguins.json' },
      task: { type: 'multiclass', label: 'Species' },
      evaluate: { alpha: 0.6, championComparison: { margin: -1 } },
    };
    const parsed = parsePipelineInput(raw);
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.problems.map((p) => p.path).sort(), [
      'evaluate.alpha',
      'evaluate.championComparison.margin',
    ]);
    assert.match(parsed.problems.find((p) => p.path === 'evaluate.alpha')?.message ?? '', /alpha must be at most 0\.5/);
    assert.throws(
      () => valueOrFail(parsed, 'pipeline input'),
      (error: unknown) =>
        error instanceof ApplicationFailure &&
        error.type === 'InvalidPipelineConfig' &&
        error.nonRetryable &&
        /evaluate\.alpha/.test(error.message),
    );
  });

  it('formats numbers for sentences', async () => {
    assert.equal(fmt(0.71), '0.71');
    assert.equal(fmt(0.123456), '0.1235');
    assert.equal(fmt(0.00001234), '0.0000123');
    assert.equal(fmt(12345678), '12300000');
    assert.equal(fmt(Number.NaN), 'n/a');
    assert.equal(fmt(Number.POSITIVE_INFINITY), '∞');
    assert.equal(fmt(Number.NEGATIVE_INFINITY), '-∞');
  });
});
