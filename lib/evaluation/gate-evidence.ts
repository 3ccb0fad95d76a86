import { MAIN_METRIC, type ChampionComparison, type ProperScoreEvidence, type ZeroRuleEvidence } from './gate';
import type { TaskEvaluation } from './metrics';
import {
  comparePaired,
  metricIntervals,
  zeroRuleTest,
  type PairedComparison,
  type PairedOptions,
  type UncertaintyOptions,
} from './uncertainty';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * The evidence the gate judges, from model outputs on the test rows: the main metric and the proper
 * scoring rule against the zero-rule, and the paired comparisons with the champion. Pure.
 */

/** The main metric against the zero-rule, with the reason when the test split cannot support the comparison. */
export async function zeroRuleEvidence(
  task: TaskType,
  metric: string,
  labels: Float32Array,
  outputs: Float32Array,
  zeroOutputs: Float32Array,
  model: Record<string, number>,
  zero: Record<string, number>,
  margin: number,
  options: PairedOptions,
): Promise<ZeroRuleEvidence> {
  const { pValue, comparison } = await zeroRuleTest(task, metric, labels, outputs, zeroOutputs, margin, options);
  const evidence: ZeroRuleEvidence = {
    metric,
    model: model[metric] ?? Number.NaN,
    zeroRule: zero[metric] ?? Number.NaN,
    pValue,
    comparison,
  };
  const classesPresent = new Set(labels).size;
  // Multiclass accuracy stays computable on one class, but it only says which constant wins there: no evidence.
  const singleClass = task !== 'regression' && labels.length > 0 && classesPresent < 2;
  if (!singleClass && Number.isFinite(pValue) && Number.isFinite(evidence.model)) return evidence;
  const note =
    labels.length === 0
      ? 'the test split is empty'
      : task !== 'regression' && classesPresent < 2
        ? 'the test split holds a single class, so nothing can be ranked or told apart'
        : allEqual(outputs)
          ? 'every score the model gave is equal, so it ranks nothing'
          : task === 'regression' && allEqual(labels)
            ? 'the target is constant on the test split'
            : 'not computable on this split';
  return { ...evidence, ...(singleClass ? { pValue: Number.NaN } : {}), note };
}

export async function properScoreEvidence(
  task: TaskType,
  labels: Float32Array,
  outputs: Float32Array,
  zeroOutputs: Float32Array,
  model: Record<string, number>,
  zero: Record<string, number>,
  options: PairedOptions,
): Promise<ProperScoreEvidence> {
  if (task === 'regression') {
    const square = (rmse: number | undefined) => (rmse ?? Number.NaN) ** 2;
    return {
      metric: 'mse',
      model: square(model.rmse),
      zeroRule: square(zero.rmse),
      comparison: await comparePaired(task, 'mse', labels, outputs, zeroOutputs, options),
    };
  }
  return {
    metric: 'log_loss',
    model: model.log_loss ?? Number.NaN,
    zeroRule: zero.log_loss ?? Number.NaN,
    comparison: await comparePaired(task, 'log_loss', labels, outputs, zeroOutputs, options),
  };
}

/** Paired comparisons of the challenger with the champion on the same rows, and the champion's own interval on the main metric. */
export async function compareWithChampion(
  champion: ChampionComparison & { evaluation?: TaskEvaluation; outputs?: Float32Array },
  refs: { metrics: Record<string, number>; decisionThreshold?: number },
  task: TaskType,
  labels: Float32Array,
  outputs: Float32Array,
  metrics: string[],
  uncertainty: UncertaintyOptions,
  paired: PairedOptions,
): Promise<ChampionComparison & { evaluation?: TaskEvaluation; outputs?: Float32Array }> {
  if (!champion.outputs || !champion.evaluation) return champion;
  const championOutputs = champion.outputs;
  const comparisons: Record<string, PairedComparison> = {};
  for (const m of new Set(metrics))
    comparisons[m] = await comparePaired(task, m, labels, outputs, championOutputs, paired);
  const main = MAIN_METRIC[task];
  const intervals = await metricIntervals(task, labels, championOutputs, {
    ...uncertainty,
    threshold: refs.decisionThreshold ?? uncertainty.threshold,
  });
  return {
    ...champion,
    evaluation: { ...champion.evaluation, intervals },
    comparisons,
    ...(refs.metrics[main] === undefined ? {} : { registeredMainMetric: refs.metrics[main] }),
    ...(intervals[main] ? { mainMetricInterval: intervals[main] } : {}),
  };
}

function allEqual(values: Float32Array): boolean {
  return values.every((v) => v === values[0]);
}
