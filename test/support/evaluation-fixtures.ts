import { EvaluateConfig } from '../../contracts/stage-config';
import type { EvaluationDocument } from '../../lib/evaluation/evaluation-document';
import { decideGate, MAIN_METRIC } from '../../lib/evaluation/gate';
import { evaluatePredictions } from '../../lib/evaluation/metrics';
import { compareWithChampion, properScoreEvidence, zeroRuleEvidence } from '../../lib/evaluation/gate-evidence';
import { groupRowsByValue, measureSlices } from '../../lib/evaluation/slices';
import { metricIntervals } from '../../lib/evaluation/uncertainty';

/** Text that breaks out of HTML if any path forgets to escape it. */
export const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>'&amp;`;
const fakeRef = (kind: 'model' | 'preprocessor' | 'split', name: string) => ({
  kind,
  uri: `s3://trainyard/runs/m/w/${name}`,
  sha256: 'a'.repeat(64),
  bytes: 1,
});

/** A binary evaluation built from real metric code over 200 synthetic rows. */
export async function sampleDocument(options: { hostile?: boolean } = {}): Promise<EvaluationDocument> {
  const rows = 200;
  const labels = Array.from({ length: rows }, (_, i) => ((i * 7919) % 3 === 0 ? 1 : 0));
  const scores = labels.map((y, i) => Math.min(0.99, Math.max(0.01, 0.3 + 0.4 * y + 0.25 * Math.sin(i * 1.7))));
  const classes = options.hostile ? ['no', HOSTILE] : ['no', 'yes'];
  const column = options.hostile ? HOSTILE : 'island';
  const sliceValues = labels.map((_, i) =>
    i % 5 === 0 ? 'Torgersen' : i % 2 === 0 ? 'Biscoe' : options.hostile ? HOSTILE : 'Dream',
  );
  const challenger = evaluatePredictions('binary', labels, scores, { threshold: 0.5, classes });
  const zeroRule = evaluatePredictions(
    'binary',
    labels,
    labels.map(() => 1 / 3),
    { threshold: 0.5, classes },
  );
  const random = evaluatePredictions(
    'binary',
    labels,
    labels.map((_, i) => (i % 3 === 1 ? 1 : 0)),
    { threshold: 0.5, classes },
  );
  const championScores = scores.map((s, i) => (i % 4 === 0 ? 1 - s : s));
  const championEvaluation = evaluatePredictions('binary', labels, championScores, { threshold: 0.5, classes });
  const config = EvaluateConfig.parse({
    thresholds: [{ metric: 'accuracy', op: '>=', value: 0.9 }],
    championChange: [{ metric: 'roc_auc', minAbsolute: 0 }],
    slices: [{ column, metric: 'accuracy', floor: 0.8, minSize: 30 }],
  });
  const slices = [
    measureSlices({
      task: 'binary',
      column,
      metric: 'accuracy',
      floor: 0.8,
      minSize: 30,
      groups: groupRowsByValue(sliceValues),
      labels,
      outputs: scores,
      threshold: 0.5,
    }),
  ];
  const invariance = [
    { column, epsilon: 0.05, perturbation: 'shuffled across rows', rows, meanAbsChange: 0.01, maxAbsChange: 0.2 },
  ];
  const directional = [
    {
      column: 'flipper_length_mm',
      direction: 'increase' as const,
      delta: 14.1,
      rows,
      meanChange: 0.03,
      wrongWayShare: 0.12,
    },
  ];
  const stat = { threshold: 0.5, classes, confidence: 0.95, resamples: 100, seed: 1, alpha: config.alpha };
  const outputs = Float32Array.from(scores);
  const zeroOutputs = new Float32Array(rows).fill(1 / 3);
  const testLabels = Float32Array.from(labels);
  challenger.intervals = await metricIntervals('binary', testLabels, outputs, stat);
  const evidence = {
    alpha: config.alpha,
    confidence: 0.95,
    zeroRule: await zeroRuleEvidence(
      'binary',
      MAIN_METRIC.binary,
      testLabels,
      outputs,
      zeroOutputs,
      challenger.metrics,
      zeroRule.metrics,
      0,
      stat,
    ),
    properScore: await properScoreEvidence(
      'binary',
      testLabels,
      outputs,
      zeroOutputs,
      challenger.metrics,
      zeroRule.metrics,
      stat,
    ),
  };
  const { outputs: _championOutputs, ...champion } = await compareWithChampion(
    {
      version: 3,
      metrics: championEvaluation.metrics,
      evaluation: championEvaluation,
      outputs: Float32Array.from(championScores),
    },
    { metrics: { roc_auc: 0.93 } },
    'binary',
    testLabels,
    outputs,
    ['roc_auc'],
    stat,
    stat,
  );
  const gate = decideGate({
    task: 'binary',
    config,
    testRows: rows,
    metrics: challenger.metrics,
    intervals: challenger.intervals,
    zeroRule: evidence.zeroRule,
    properScore: evidence.properScore,
    champion,
    slices,
    invariance,
    directional,
    nonFiniteOutputs: 0,
  });
  return {
    format: 'trainyard-evaluation',
    formatVersion: 1,
    model: 'penguins',
    workflowId: options.hostile ? `wf-${HOSTILE}` : 'wf-1',
    task: 'binary',
    createdAt: '2025-01-01T00:00:00.000Z',
    testRows: rows,
    classes,
    decisionThreshold: 0.5,
    mainMetric: MAIN_METRIC.binary,
    decision: gate.decision,
    reasons: gate.reasons,
    rules: gate.rules,
    evidence,
    challenger,
    baselines: { zeroRule, random, champion },
    slices,
    invariance,
    directional,
    nonFiniteOutputs: 0,
    inputs: {
      model: fakeRef('model', 'model'),
      preprocessor: fakeRef('preprocessor', 'pre'),
      testSplit: fakeRef('split', 'test'),
      history: fakeRef('model', 'history'),
    },
    evaluateMs: 1234,
  };
}
