import type { z } from 'zod';
import type { EvaluateConfig } from '../../contracts/stage-config';
import type { Decision } from '../../contracts/stage-results';
import type { Interval } from '../stats/intervals';
import { isLowerBetter } from './metrics';
import type { PairedComparison } from './uncertainty';
import type { TaskType } from '../../contracts/pipeline-input';

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

export type RuleKind =
  | 'outputs'
  | 'threshold'
  | 'zero-rule'
  | 'proper-score'
  | 'champion'
  | 'champion-collapse'
  | 'champion-change'
  | 'slice'
  | 'invariance'
  | 'directional';

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
  /** Blessed, but automatic promotion must wait for a person: why (the champion collapsed on this split). */
  approvalRequired?: string;
}

/** The main metric against the zero-rule on the test rows: point values, the paired comparison and its one-sided p-value. */
export interface ZeroRuleEvidence {
  metric: string;
  model: number;
  zeroRule: number;
  /** P(an improvement this large | the model is no better than the zero-rule + margin). NaN: not computable. */
  pValue: number;
  comparison: PairedComparison;
  /** Why the test could not be computed (one class in the test split, every score equal), when it could not. */
  note?: string;
}

/** The proper scoring rule (log loss, or MSE for regression) against the zero-rule on the same rows. */
export interface ProperScoreEvidence {
  metric: 'log_loss' | 'mse';
  model: number;
  zeroRule: number;
  comparison: PairedComparison;
}

export interface ChampionComparison {
  version: number;
  /** The champion's metrics on this run's test split; absent when it could not be evaluated. */
  metrics?: Record<string, number>;
  /** Why the champion could not be evaluated on this split. */
  error?: string;
  /** Challenger vs champion on the same rows: the main metric and every metric a change threshold names. */
  comparisons?: Record<string, PairedComparison>;
  /** The champion's main metric when it was registered, and its interval on this split, for the collapse guard. */
  registeredMainMetric?: number;
  mainMetricInterval?: Interval;
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
  testRows: number;
  metrics: Record<string, number>;
  /** Confidence intervals of the challenger's metrics (reported in messages beside the values). */
  intervals: Record<string, Interval>;
  zeroRule: ZeroRuleEvidence;
  properScore: ProperScoreEvidence;
  champion?: ChampionComparison;
  slices: SliceMeasurement[];
  invariance: InvarianceMeasurement[];
  directional: DirectionalMeasurement[];
  /** Outputs that were NaN or ±∞. Any is a failure: such a model cannot be served. */
  nonFiniteOutputs: number;
}

export function decideGate(inputs: GateInputs): GateDecision {
  const { config, champion } = inputs;
  const collapse = checkChampionCollapse(inputs.task, champion, inputs.zeroRule, config);
  const rules: RuleOutcome[] = [
    checkOutputs(inputs.nonFiniteOutputs),
    ...config.thresholds.map((bound) => checkThreshold(bound, inputs.metrics)),
    checkZeroRule(inputs.zeroRule, config, inputs.testRows),
    checkProperScore(inputs.properScore, config),
    checkChampion(inputs.zeroRule.metric, champion, config),
    ...(collapse ? [collapse] : []),
    ...config.championChange.map((rule) => checkChampionChange(rule, inputs.metrics, champion)),
    ...inputs.slices.flatMap(checkSlices),
    ...inputs.invariance.map(checkInvariance),
    ...inputs.directional.map(checkDirectional),
  ];
  const failed = rules.filter((r) => r.passed === false);
  const decision: Decision = failed.length === 0 ? 'blessed' : 'rejected';
  const reasons = (decision === 'rejected' ? failed : rules.filter((r) => r.passed === true)).map((r) => r.message);
  const waits =
    decision === 'blessed' && collapse && collapse.passed === null && config.championCollapse.action === 'approval';
  return { decision, reasons, rules, ...(waits ? { approvalRequired: collapse.message } : {}) };
}

export function checkOutputs(nonFiniteOutputs: number): RuleOutcome {
  return nonFiniteOutputs === 0
    ? { rule: 'outputs', passed: true, message: 'every prediction on the test split is a finite number' }
    : {
        rule: 'outputs',
        passed: false,
        message: `the model produced ${nonFiniteOutputs} non-finite outputs (NaN or infinity) on the test split`,
      };
}

export function checkThreshold(bound: GateConfig['thresholds'][number], metrics: Record<string, number>): RuleOutcome {
  const value = metrics[bound.metric];
  const word = bound.op === '>=' ? 'floor' : 'ceiling';
  if (value === undefined || !Number.isFinite(value)) {
    return {
      rule: 'threshold',
      passed: false,
      message: `${bound.metric} could not be computed on the test split, so its ${word} ${fmt(bound.value)} is not met`,
    };
  }
  const passed = bound.op === '>=' ? value >= bound.value : value <= bound.value;
  const verdict = passed ? `meets the ${word}` : bound.op === '>=' ? 'is below the floor' : 'is above the ceiling';
  return { rule: 'threshold', passed, message: `${bound.metric} ${fmt(value)} ${verdict} ${fmt(bound.value)}` };
}

/**
 * Beating the zero-rule needs evidence: the main metric's paired improvement over it (by at least
 * `mustBeatZeroRuleBy`) must be significant at `alpha`, one-sided. A test split too small to tell the
 * model from the zero-rule is a rejection with that reason, never a blessing.
 */
export function checkZeroRule(
  evidence: ZeroRuleEvidence,
  config: Pick<GateConfig, 'alpha' | 'mustBeatZeroRuleBy'>,
  testRows: number,
): RuleOutcome {
  const { metric, model, zeroRule, pValue, comparison } = evidence;
  if (!Number.isFinite(model) || !Number.isFinite(zeroRule) || !Number.isFinite(pValue)) {
    return {
      rule: 'zero-rule',
      passed: false,
      message: `${metric} could not be compared with the zero-rule baseline on the test split (${evidence.note ?? 'not computable'}), so the model cannot be shown to beat it`,
    };
  }
  const margin = config.mustBeatZeroRuleBy;
  const marginText = margin > 0 ? ` by the required margin ${fmt(margin)}` : '';
  const head = `${metric} ${fmt(model)} vs the zero-rule baseline's ${fmt(zeroRule)} (improvement ${fmtSigned(comparison.improvement)}, ${fmtBound(comparison.lower, 'at least', config.alpha)})`;
  const significance = fmtP(pValue);
  if (pValue < config.alpha && comparison.improvement > margin) {
    return {
      rule: 'zero-rule',
      passed: true,
      message: `${head} beats it${marginText}: ${significance} < α ${fmt(config.alpha)}`,
    };
  }
  return {
    rule: 'zero-rule',
    passed: false,
    message: `${head}: on ${testRows} test rows the model cannot be told apart from the zero-rule${marginText} (${significance} ≥ α ${fmt(config.alpha)}); too little evidence to bless it`,
  };
}

/**
 * A model worse than predicting the base rate on a proper scoring rule is worse than no model, whatever
 * it ranks. Judged with its interval: rejected when worse with confidence 1 − alpha; a worse point
 * value the test split cannot tell from a tie passes, said in words (the zero-rule rule already asked
 * for evidence of skill).
 */
export function checkProperScore(evidence: ProperScoreEvidence, config: Pick<GateConfig, 'alpha'>): RuleOutcome {
  const { metric, model, zeroRule, comparison } = evidence;
  if (!Number.isFinite(model) || !Number.isFinite(zeroRule)) {
    return {
      rule: 'proper-score',
      passed: false,
      message: `${metric} could not be computed for the model or the zero-rule on the test split`,
    };
  }
  const interval = `difference ${fmtSigned(-comparison.improvement)}, ${fmtPercent(1 - config.alpha)} bounds [${fmt(-comparison.upper)}, ${fmt(-comparison.lower)}]`;
  if (comparison.upper < 0) {
    return {
      rule: 'proper-score',
      passed: false,
      message: `${metric} ${fmt(model)} is worse than the zero-rule's ${fmt(zeroRule)} (${interval}): predicting the base rate would score better`,
    };
  }
  return comparison.improvement >= 0
    ? {
        rule: 'proper-score',
        passed: true,
        message: `${metric} ${fmt(model)} is no worse than the zero-rule's ${fmt(zeroRule)} (${interval})`,
      }
    : {
        rule: 'proper-score',
        passed: true,
        message: `${metric} ${fmt(model)} is above the zero-rule's ${fmt(zeroRule)}, but not significantly (${interval}): these test rows cannot tell them apart`,
      };
}

/**
 * Challenger vs champion on the main metric, paired on the same rows. Non-inferiority (the default):
 * rejected only when significantly worse than the champion by more than the margin, so a fresh model
 * as good as the champion is promoted. Superiority: blessed only when significantly better.
 */
export function checkChampion(
  metric: string,
  champion: ChampionComparison | undefined,
  config: Pick<GateConfig, 'alpha' | 'championComparison'>,
): RuleOutcome {
  if (!champion)
    return { rule: 'champion', passed: null, message: 'no champion yet, so there is nothing to compare with' };
  const comparison = champion.comparisons?.[metric];
  if (!champion.metrics || !comparison) {
    return {
      rule: 'champion',
      passed: false,
      message: `the champion (version ${champion.version}) could not be evaluated on this test split (${champion.error ?? 'unknown reason'}), so the challenger cannot be shown not to be worse`,
    };
  }
  const { test, margin } = config.championComparison;
  const head = `${metric} ${fmtSigned(comparison.improvement)} vs the champion (version ${champion.version}, ${fmt(champion.metrics[metric] ?? Number.NaN)} on these rows)`;
  if (!Number.isFinite(comparison.lower) || !Number.isFinite(comparison.upper)) {
    return {
      rule: 'champion',
      passed: false,
      message: `${head}: the difference has no interval on this split, so it cannot be judged`,
    };
  }
  if (test === 'superiority') {
    const passed = comparison.lower > 0;
    return {
      rule: 'champion',
      passed,
      message: `${head}; ${fmtBound(comparison.lower, 'at least', config.alpha)}: ${passed ? 'significantly better (superiority)' : 'not shown to be better (superiority is required)'}`,
    };
  }
  const passed = comparison.upper >= -margin;
  return {
    rule: 'champion',
    passed,
    message: passed
      ? `${head}; ${fmtBound(comparison.upper, 'at most', config.alpha)}: not worse than the champion by more than the margin ${fmt(margin)}`
      : `${head}; ${fmtBound(comparison.upper, 'at most', config.alpha)}: significantly worse than the champion by more than the margin ${fmt(margin)}`,
  };
}

/**
 * The champion scoring far below its own registered metric on this split means labels, concept or
 * data changed, so "as good as the champion" is no evidence. Collapsed: its lead over the zero-rule
 * shrank below `keepLead` of the registered lead even at the top of its interval. The rule then rejects
 * (action "reject") or is reported and sends the run to a person (action "approval").
 */
export function checkChampionCollapse(
  task: TaskType,
  champion: ChampionComparison | undefined,
  zeroRule: ZeroRuleEvidence,
  config: Pick<GateConfig, 'championCollapse'>,
): RuleOutcome | undefined {
  const registered = champion?.registeredMainMetric;
  const interval = champion?.mainMetricInterval;
  const current = champion?.metrics?.[zeroRule.metric];
  if (
    !champion ||
    registered === undefined ||
    !interval ||
    current === undefined ||
    !Number.isFinite(zeroRule.zeroRule)
  )
    return undefined;
  const registeredLead = registered - zeroRule.zeroRule;
  if (!(registeredLead > 0) || isLowerBetter(zeroRule.metric)) return undefined;
  const floor = zeroRule.zeroRule + config.championCollapse.keepLead * registeredLead;
  const numbers = `the champion (version ${champion.version}) scores ${zeroRule.metric} ${fmt(current)} [${fmt(interval.lower)}, ${fmt(interval.upper)}] on this test split against ${fmt(registered)} when it was registered (zero-rule here: ${fmt(zeroRule.zeroRule)})`;
  if (interval.upper >= floor)
    return { rule: 'champion-collapse', passed: true, message: `${numbers}: it kept its lead over the zero-rule` };
  const what = task === 'regression' ? 'the target' : 'the labels';
  const reason = `${numbers}: it lost more than ${fmtPercent(1 - config.championCollapse.keepLead)} of its lead, so ${what}, the concept or the data changed and "as good as the champion" is no evidence`;
  return config.championCollapse.action === 'reject'
    ? {
        rule: 'champion-collapse',
        passed: false,
        message: `${reason}; rejected (evaluate.championCollapse.action is "reject")`,
      }
    : {
        rule: 'champion-collapse',
        passed: null,
        message: `${reason}; automatic promotion stops and waits for a person's approval`,
      };
}

/**
 * TFMA-style change threshold against the champion, judged on the paired interval of the improvement
 * (challenger − champion for higher-is-better metrics, champion − challenger for lower-is-better ones;
 * relative: over |champion|). A positive bound asks for evidence of that gain: the lower confidence
 * bound must reach it. A zero or negative bound is a tolerance: it fails only when the loss is
 * significantly beyond it (the upper bound is below it). Neither bound: minAbsolute 0.
 */
export function checkChampionChange(
  rule: GateConfig['championChange'][number],
  metrics: Record<string, number>,
  champion: ChampionComparison | undefined,
): RuleOutcome {
  if (!champion)
    return {
      rule: 'champion-change',
      passed: null,
      message: `no champion yet, so the change threshold on ${rule.metric} does not apply`,
    };
  const comparison = champion.comparisons?.[rule.metric];
  if (!champion.metrics || !comparison) {
    return {
      rule: 'champion-change',
      passed: false,
      message: `the champion (version ${champion.version}) could not be evaluated on this test split (${champion.error ?? 'unknown reason'}), so the change threshold on ${rule.metric} cannot be checked`,
    };
  }
  const value = metrics[rule.metric];
  const baseline = champion.metrics[rule.metric];
  if (
    value === undefined ||
    !Number.isFinite(value) ||
    baseline === undefined ||
    !Number.isFinite(baseline) ||
    !Number.isFinite(comparison.improvement)
  ) {
    return {
      rule: 'champion-change',
      passed: false,
      message: `${rule.metric} could not be computed for the model or the champion (version ${champion.version}) on the test split`,
    };
  }
  const lower = isLowerBetter(rule.metric);
  const scale = Math.abs(baseline);
  const relative = (x: number) => (scale === 0 ? (x === 0 ? 0 : Math.sign(x) * Number.POSITIVE_INFINITY) : x / scale);
  const minAbsolute = rule.minAbsolute ?? (rule.minRelative === undefined ? 0 : undefined);
  const failures: string[] = [];
  const judge = (bound: number, low: number, high: number, kind: string, show: (x: number) => string) => {
    if (bound > 0 && !(low >= bound))
      failures.push(`${kind} of at least ${show(bound)} is required and the interval's lower end is ${show(low)}`);
    if (bound <= 0 && !(high >= bound))
      failures.push(`the ${kind} is significantly below ${show(bound)} (the interval's upper end is ${show(high)})`);
  };
  if (minAbsolute !== undefined)
    judge(minAbsolute, comparison.lower, comparison.upper, minAbsolute > 0 ? 'an improvement' : 'improvement', fmt);
  if (rule.minRelative !== undefined) {
    judge(
      rule.minRelative,
      relative(comparison.lower),
      relative(comparison.upper),
      rule.minRelative > 0 ? 'a relative improvement' : 'relative improvement',
      fmtPercent,
    );
  }
  const head = `${rule.metric} ${fmt(value)} vs the champion's ${fmt(baseline)} (version ${champion.version}): an improvement of ${fmtSigned(comparison.improvement)} [${fmt(comparison.lower)}, ${fmt(comparison.upper)}]${lower ? ' (lower is better)' : ''}`;
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
      return {
        rule: 'slice',
        passed: null,
        message: `${measurement.metric} ${fmt(slice.metricValue)} ${where} not judged: fewer than ${measurement.minSize} rows`,
      };
    }
    if (!Number.isFinite(slice.metricValue)) {
      return {
        rule: 'slice',
        passed: null,
        message: `${measurement.metric} ${where} not judged: it cannot be computed on this slice (one class only?)`,
      };
    }
    const passed = lower ? slice.metricValue <= measurement.floor : slice.metricValue >= measurement.floor;
    const verdict = passed
      ? lower
        ? 'is within the ceiling'
        : 'meets the floor'
      : lower
        ? 'is above the ceiling'
        : 'is below the floor';
    return {
      rule: 'slice',
      passed,
      message: `${measurement.metric} ${fmt(slice.metricValue)} ${where} ${verdict} ${fmt(measurement.floor)}`,
    };
  });
}

export function checkInvariance(m: InvarianceMeasurement): RuleOutcome {
  const passed = m.meanAbsChange < m.epsilon;
  const head = `with ${quote(m.column)} ${m.perturbation}, predictions moved by ${fmt(m.meanAbsChange)} on average (at most ${fmt(m.maxAbsChange)})`;
  return {
    rule: 'invariance',
    passed,
    message: passed
      ? `${head}, less than the allowed ${fmt(m.epsilon)}`
      : `${head}; the invariance test allows less than ${fmt(m.epsilon)}`,
  };
}

/** Passes when the average effect of raising the column has the expected sign (or is zero). */
export function checkDirectional(m: DirectionalMeasurement): RuleOutcome {
  if (m.meanChange === undefined || m.delta === undefined) {
    return {
      rule: 'directional',
      passed: null,
      message: `directional test on ${quote(m.column)} not run: ${m.note ?? 'not applicable'}`,
    };
  }
  const expectedSign = m.direction === 'increase' ? 1 : -1;
  const passed = expectedSign * m.meanChange >= 0;
  const wrongWay = m.wrongWayShare === undefined ? '' : ` (${fmtPercent(m.wrongWayShare)} of rows moved the other way)`;
  const expectation =
    m.direction === 'increase' ? 'expected it not to lower the score' : 'expected it not to raise the score';
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

/** A one-sided confidence bound in words: "at least 0.03 with 95% confidence". */
function fmtBound(value: number, side: 'at least' | 'at most', alpha: number): string {
  return `${side} ${fmtSigned(value)} with ${fmtPercent(1 - alpha)} confidence`;
}

/** "p = 0.031", or "p < 0.0001" below that. */
function fmtP(p: number): string {
  return p < 1e-4 ? 'p < 0.0001' : `p = ${Number(p.toPrecision(2))}`;
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
