import type { z } from 'zod';
import type { EvaluateConfig } from '../../contracts/stage-config';
import type { Decision } from '../../contracts/stage-results';
import { isLowerBetter, type TaskType } from './metrics';

/**
 * The gate, in the spirit of TFX's Evaluator: every rule from `input.evaluate` judged on metrics already
 * computed, each with a sentence a person can read. Pure: the numbers come in, the decision goes out.
 * A rejected model is an outcome, not an error.
 */

export type GateConfig = z.output<typeof EvaluateConfig>;

/**
 * The metric a model must beat the zero-rule baseline on, per task. Binary: ROC-AUC — threshold-free and
 * unmoved by class imbalance; the zero-rule (a constant score) has AUC 0.5 exactly. Multiclass: accuracy —
 * the zero-rule's accuracy is the majority class's share. Regression: R² — scale-free, so the margin means
 * the same on every target; the zero-rule (the train mean) has R² ≈ 0 on the test split.
 */
export const MAIN_METRIC: Record<TaskType, string> = { binary: 'roc_auc', multiclass: 'accuracy', regression: 'r2' };

export type RuleKind = 'outputs' | 'threshold' | 'zero-rule' | 'champion-change' | 'slice' | 'invariance' | 'directional';

export interface RuleOutcome {
  rule: RuleKind;
  /** null: reported, not judged (no champion yet, a slice below its minimum size, …). */
  passed: boolean | null;
  message: string;
}

export interface GateDecision {
  decision: Decision;
  /** Rejected: every failed rule. Blessed: every rule that was judged. Plain sentences. */
  reasons: string[];
  rules: RuleOutcome[];
}

export interface ChampionComparison {
  version: number;
  /** The champion's metrics on this run's test split; absent when it could not be evaluated. */
  metrics?: Record<string, number>;
  /** Why the champion could not be evaluated on this split. */
  error?: string;
}

export interface SliceMeasurement {
  column: string;
  metric: string;
  floor: number;
  minSize: number;
  slices: { value: string; size: number; metricValue: number }[];
}

export interface InvarianceMeasurement {
  column: string;
  epsilon: number;
  /** How the column was perturbed, in words ("shuffled across rows"). */
  perturbation: string;
  rows: number;
  /** Judged: mean over rows of |score after − score before|. Max is reported, not judged. */
  meanAbsChange: number;
  maxAbsChange: number;
}

export interface DirectionalMeasurement {
  column: string;
  direction: 'increase' | 'decrease';
  /** Absent when the test could not run (e.g. multiclass has no single score); `note` says why. */
  delta?: number;
  rows: number;
  /** Judged: mean over rows of (score after − score before). */
  meanChange?: number;
  /** Share of rows whose score moved against the expected direction. Reported, not judged. */
  wrongWayShare?: number;
  note?: string;
}

export interface GateInputs {
  task: TaskType;
  config: GateConfig;
  metrics: Record<string, number>;
  zeroRule: Record<string, number>;
  champion?: ChampionComparison;
  slices: SliceMeasurement[];
  invariance: InvarianceMeasurement[];
  directional: DirectionalMeasurement[];
  /** Outputs that were NaN or ±∞. Any is a failure: such a model cannot be served. */
  nonFiniteOutputs: number;
}

export function decideGate(inputs: GateInputs): GateDecision {
  const rules: RuleOutcome[] = [
    checkOutputs(inputs.nonFiniteOutputs),
    ...inputs.config.thresholds.map((bound) => checkThreshold(bound, inputs.metrics)),
    checkZeroRule(inputs.task, inputs.metrics, inputs.zeroRule, inputs.config.mustBeatZeroRuleBy),
    ...inputs.config.championChange.map((rule) => checkChampionChange(rule, inputs.metrics, inputs.champion)),
    ...inputs.slices.flatMap(checkSlices),
    ...inputs.invariance.map(checkInvariance),
    ...inputs.directional.map(checkDirectional),
  ];
  const failed = rules.filter((r) => r.passed === false);
  const decision: Decision = failed.length === 0 ? 'blessed' : 'rejected';
  const reasons = (decision === 'rejected' ? failed : rules.filter((r) => r.passed === true)).map((r) => r.message);
  return { decision, reasons, rules };
}

export function checkOutputs(nonFiniteOutputs: number): RuleOutcome {
  return nonFiniteOutputs === 0
    ? { rule: 'outputs', passed: true, message: 'every prediction on the test split is a finite number' }
    : { rule: 'outputs', passed: false, message: `the model produced ${nonFiniteOutputs} non-finite outputs (NaN or infinity) on the test split` };
}

export function checkThreshold(bound: GateConfig['thresholds'][number], metrics: Record<string, number>): RuleOutcome {
  const value = metrics[bound.metric];
  const word = bound.op === '>=' ? 'floor' : 'ceiling';
  if (value === undefined || !Number.isFinite(value)) {
    return { rule: 'threshold', passed: false, message: `${bound.metric} could not be computed on the test split, so its ${word} ${fmt(bound.value)} is not met` };
  }
  const passed = bound.op === '>=' ? value >= bound.value : value <= bound.value;
  const verdict = passed ? `meets the ${word}` : bound.op === '>=' ? 'is below the floor' : 'is above the ceiling';
  return { rule: 'threshold', passed, message: `${bound.metric} ${fmt(value)} ${verdict} ${fmt(bound.value)}` };
}

/**
 * Passes when the model's main metric beats the zero-rule's by at least `margin`, and strictly when the
 * margin is 0: a model that only ties a constant prediction has learned nothing.
 */
export function checkZeroRule(task: TaskType, metrics: Record<string, number>, zeroRule: Record<string, number>, margin: number): RuleOutcome {
  const metric = MAIN_METRIC[task];
  const value = metrics[metric];
  const baseline = zeroRule[metric];
  if (value === undefined || !Number.isFinite(value) || baseline === undefined || !Number.isFinite(baseline)) {
    return {
      rule: 'zero-rule',
      passed: false,
      message: `${metric} could not be computed for the model or the zero-rule baseline on the test split (does it hold every class?), so the model cannot be shown to beat the baseline`,
    };
  }
  const gain = isLowerBetter(metric) ? baseline - value : value - baseline;
  const passed = gain >= margin && gain > 0;
  const marginText = margin > 0 ? ` by the required margin ${fmt(margin)}` : '';
  return {
    rule: 'zero-rule',
    passed,
    message: passed
      ? `${metric} ${fmt(value)} beats the zero-rule baseline ${fmt(baseline)} by ${fmt(gain)}${margin > 0 ? ` (margin ${fmt(margin)})` : ''}`
      : `${metric} ${fmt(value)} does not beat the zero-rule baseline ${fmt(baseline)}${marginText}`,
  };
}

/**
 * TFMA-style change threshold against the champion, measured on the same test split. The improvement is
 * challenger − champion for higher-is-better metrics and champion − challenger for lower-is-better ones;
 * relative improvement divides by |champion|. Both bounds given: both must hold; neither: the challenger
 * must not be worse (absolute ≥ 0). A champion that could not be evaluated fails the rule: without a
 * comparison, a worse model could become champion.
 */
export function checkChampionChange(
  rule: GateConfig['championChange'][number],
  metrics: Record<string, number>,
  champion: ChampionComparison | undefined,
): RuleOutcome {
  if (!champion) return { rule: 'champion-change', passed: null, message: `no champion yet, so the change threshold on ${rule.metric} does not apply` };
  if (!champion.metrics) {
    return {
      rule: 'champion-change',
      passed: false,
      message: `the champion (version ${champion.version}) could not be evaluated on this test split (${champion.error ?? 'unknown reason'}), so the change threshold on ${rule.metric} cannot be checked`,
    };
  }
  const value = metrics[rule.metric];
  const baseline = champion.metrics[rule.metric];
  if (value === undefined || !Number.isFinite(value) || baseline === undefined || !Number.isFinite(baseline)) {
    return { rule: 'champion-change', passed: false, message: `${rule.metric} could not be computed for the model or the champion (version ${champion.version}) on the test split` };
  }
  const lower = isLowerBetter(rule.metric);
  const improvement = lower ? baseline - value : value - baseline;
  const relative = baseline === 0 ? (improvement === 0 ? 0 : Math.sign(improvement) * Number.POSITIVE_INFINITY) : improvement / Math.abs(baseline);
  const minAbsolute = rule.minAbsolute ?? (rule.minRelative === undefined ? 0 : undefined);
  const failures: string[] = [];
  if (minAbsolute !== undefined && !(improvement >= minAbsolute)) failures.push(`at least ${fmt(minAbsolute)} is required`);
  if (rule.minRelative !== undefined && !(relative >= rule.minRelative)) {
    failures.push(`a relative improvement of at least ${fmtPercent(rule.minRelative)} is required (got ${fmtPercent(relative)})`);
  }
  const head = `${rule.metric} ${fmt(value)} vs the champion's ${fmt(baseline)} (version ${champion.version}): an improvement of ${fmtSigned(improvement)}${lower ? ' (lower is better)' : ''}`;
  return failures.length === 0
    ? { rule: 'champion-change', passed: true, message: `${head}, within the change threshold` }
    : { rule: 'champion-change', passed: false, message: `${head}, but ${failures.join(' and ')}` };
}

/**
 * One outcome per slice. Slices smaller than minSize, or whose metric is not computable (AUC on a slice
 * with one class), are reported and not judged. The floor is a minimum for higher-is-better metrics and
 * a maximum for lower-is-better ones (a log-loss "floor" of 0.5 means at most 0.5).
 */
export function checkSlices(measurement: SliceMeasurement): RuleOutcome[] {
  const lower = isLowerBetter(measurement.metric);
  return measurement.slices.map((slice) => {
    const where = `on slice ${quote(measurement.column)} = ${quote(slice.value)} (n=${slice.size})`;
    if (slice.size < measurement.minSize) {
      return { rule: 'slice', passed: null, message: `${measurement.metric} ${fmt(slice.metricValue)} ${where} not judged: fewer than ${measurement.minSize} rows` };
    }
    if (!Number.isFinite(slice.metricValue)) {
      return { rule: 'slice', passed: null, message: `${measurement.metric} ${where} not judged: it cannot be computed on this slice (one class only?)` };
    }
    const passed = lower ? slice.metricValue <= measurement.floor : slice.metricValue >= measurement.floor;
    const verdict = passed ? (lower ? 'is within the ceiling' : 'meets the floor') : lower ? 'is above the ceiling' : 'is below the floor';
    return { rule: 'slice', passed, message: `${measurement.metric} ${fmt(slice.metricValue)} ${where} ${verdict} ${fmt(measurement.floor)}` };
  });
}

export function checkInvariance(m: InvarianceMeasurement): RuleOutcome {
  const passed = m.meanAbsChange < m.epsilon;
  const head = `with ${quote(m.column)} ${m.perturbation}, predictions moved by ${fmt(m.meanAbsChange)} on average (at most ${fmt(m.maxAbsChange)})`;
  return {
    rule: 'invariance',
    passed,
    message: passed ? `${head}, less than the allowed ${fmt(m.epsilon)}` : `${head}; the invariance test allows less than ${fmt(m.epsilon)}`,
  };
}

/** Passes when the average effect of raising the column has the expected sign (or is zero). */
export function checkDirectional(m: DirectionalMeasurement): RuleOutcome {
  if (m.meanChange === undefined || m.delta === undefined) {
    return { rule: 'directional', passed: null, message: `directional test on ${quote(m.column)} not run: ${m.note ?? 'not applicable'}` };
  }
  const expectedSign = m.direction === 'increase' ? 1 : -1;
  const passed = expectedSign * m.meanChange >= 0;
  const wrongWay = m.wrongWayShare === undefined ? '' : ` (${fmtPercent(m.wrongWayShare)} of rows moved the other way)`;
  const expectation = m.direction === 'increase' ? 'expected it not to lower the score' : 'expected it not to raise the score';
  const moved = m.meanChange >= 0 ? 'raised' : 'lowered';
  return {
    rule: 'directional',
    passed,
    message: `raising ${quote(m.column)} by ${fmt(m.delta)} ${moved} the score by ${fmt(Math.abs(m.meanChange))} on average${wrongWay}; ${expectation}`,
  };
}

/** Numbers in sentences: four decimals at most, significant digits for very small or large values. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'n/a' : value > 0 ? '∞' : '-∞';
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return String(Number(value.toPrecision(3)));
  return String(Number(value.toFixed(4)));
}

function fmtSigned(value: number): string {
  return value > 0 ? `+${fmt(value)}` : fmt(value);
}

function fmtPercent(share: number): string {
  if (!Number.isFinite(share)) return fmt(share);
  return `${Number((share * 100).toFixed(2))}%`;
}

/** Column names and values are data of any length: quoted and cut so a sentence stays a sentence. */
function quote(text: string): string {
  const cut = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return JSON.stringify(cut);
}
