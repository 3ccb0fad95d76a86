import { z } from 'zod';
import type { ArtifactRef } from '../../contracts/artifacts';
import type { Decision } from '../../contracts/stage-results';
import type {
  ChampionComparison,
  DirectionalMeasurement,
  InvarianceMeasurement,
  ProperScoreEvidence,
  RuleOutcome,
  SliceMeasurement,
  ZeroRuleEvidence,
} from './gate';
import type { TaskEvaluation } from './metrics';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * `evaluation.json`: everything the evaluate stage measured and decided, the source of the HTML report
 * and of the registry's metrics. NaN and ±∞ (metrics that could not be computed) are written as null.
 */
export interface EvaluationDocument {
  format: 'trainyard-evaluation';
  formatVersion: 1;
  model: string;
  workflowId: string;
  task: TaskType;
  createdAt: string;
  testRows: number;
  classes?: string[];
  decisionThreshold: number;
  /** Binary: how the threshold was chosen on the validation split. */
  thresholdChoice?: { strategy: string; note: string };
  /** The metric the zero-rule rule judges (binary roc_auc, multiclass accuracy, regression r2). */
  mainMetric: string;
  decision: Decision;
  reasons: string[];
  rules: RuleOutcome[];
  /** Blessed, but automatic promotion waits for a person: why. */
  approvalRequired?: string;
  /** What the gate's statistical rules saw: the tests against the zero-rule and their level. */
  evidence: { alpha: number; confidence: number; zeroRule: ZeroRuleEvidence; properScore: ProperScoreEvidence };
  challenger: TaskEvaluation;
  baselines: {
    zeroRule: TaskEvaluation;
    random: TaskEvaluation;
    champion?: ChampionComparison & { evaluation?: TaskEvaluation };
  };
  slices: SliceMeasurement[];
  invariance: InvarianceMeasurement[];
  directional: DirectionalMeasurement[];
  nonFiniteOutputs: number;
  /** Regression only: up to a few hundred (actual, predicted) pairs for the report's scatter plot. */
  regressionSample?: [number, number][];
  inputs: { model: ArtifactRef; preprocessor: ArtifactRef; testSplit: ArtifactRef; history: ArtifactRef };
  evaluateMs: number;
}

/** JSON with non-finite numbers as null (JSON has no NaN), pretty enough to read in the MinIO console. */
export function serializeEvaluation(document: EvaluationDocument): string {
  return JSON.stringify(
    document,
    (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value),
    2,
  );
}

/** What readers of a stored evaluation (registry, CLI) rely on; the rest is for the report. */
export const StoredEvaluation = z
  .object({
    format: z.literal('trainyard-evaluation'),
    formatVersion: z.literal(1),
    model: z.string(),
    workflowId: z.string(),
    task: z.enum(['binary', 'multiclass', 'regression']),
    decision: z.enum(['blessed', 'rejected']),
    reasons: z.array(z.string()),
    challenger: z.object({ metrics: z.record(z.string(), z.number().nullable()) }).passthrough(),
  })
  .passthrough();
export type StoredEvaluation = z.infer<typeof StoredEvaluation>;

/**
 * The small flat record for the workflow result and the registry: every finite challenger metric.
 * Per-class values stay in evaluation.json: class names are data of any size, unfit for a payload.
 */
export function headlineIntervals(evaluation: TaskEvaluation): Record<string, [number, number]> {
  const result: Record<string, [number, number]> = {};
  for (const [name, interval] of Object.entries(evaluation.intervals ?? {})) {
    if (Number.isFinite(interval.lower) && Number.isFinite(interval.upper))
      result[name] = [interval.lower, interval.upper];
  }
  return result;
}

export function headlineMetrics(evaluation: TaskEvaluation): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [name, value] of Object.entries(evaluation.metrics)) if (Number.isFinite(value)) result[name] = value;
  return result;
}
