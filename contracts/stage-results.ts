import type { ArtifactRef } from './artifacts';

/**
 * What each stage returns to the workflow: references to what it wrote plus a few small numbers the
 * workflow or the status query needs. Never rows, weights or reports themselves (2 MB payload limit).
 */

export type Severity = 'error' | 'warning';

export interface Anomaly {
  severity: Severity;
  column?: string;
  /** Stable check name, e.g. "missing-fraction", "label-leakage", "drift-psi". */
  check: string;
  observed?: number | string;
  threshold?: number | string;
  /** One sentence a person can act on. */
  message: string;
}

export interface ValidateDataResult {
  rows: number;
  columns: number;
  statistics: ArtifactRef;
  schema: ArtifactRef;
  /** The anomalies report (JSON), written before the stage decides to fail. */
  anomalies: ArtifactRef;
  warnings: Anomaly[];
  /** Where the schema came from: inferred on this run, the champion's, or the user's. */
  schemaSource: 'inferred' | 'champion' | 'provided';
  driftReference?: string;
}

export type SplitName = 'train' | 'validation' | 'test';

export interface SplitAndSampleResult {
  manifest: ArtifactRef;
  splits: Record<SplitName, ArtifactRef>;
  rows: Record<SplitName, number>;
  strategy: string;
  /** Per-class loss weights when sampling.strategy is "class-weights". */
  classWeights?: Record<string, number>;
}

export interface FitPreprocessorResult {
  preprocessor: ArtifactRef;
  featureCount: number;
  /** For classification: the class labels in output order. */
  classes?: string[];
}

export interface TrainResult {
  model: ArtifactRef;
  history: ArtifactRef;
  /** The tfjs backend, or "typescript" for gbdt (trainyard's own trees). */
  backend: 'tensorflow' | 'wasm' | 'cpu' | 'typescript';
  epochsRun: number;
  bestEpoch: number;
  /** The epoch this attempt resumed after (0 for a fresh start). */
  resumedFromEpoch: number;
  warmStart: { used: boolean; parentVersion?: number; reason: string };
  trainMs: number;
  /** The numbers training used, the data-sized defaults included. */
  settings?: { epochs: number; batchSize: number; learningRate: number };
  /** What was chosen for the user and why (settings left unset), in words. */
  choices?: string[];
}

export type Decision = 'blessed' | 'rejected';

export interface EvaluateResult {
  evaluation: ArtifactRef;
  report: ArtifactRef;
  /** Presigned link to the HTML report, for the workflow result and memo. */
  reportUrl: string;
  decision: Decision;
  /** Plain-language reasons for the decision. */
  reasons: string[];
  metrics: Record<string, number>;
  /** 95% confidence intervals of `metrics`, [lower, upper], computed on the same test rows. */
  intervals?: Record<string, [number, number]>;
  /** Binary: the decision threshold chosen on the validation split (recorded with the model). */
  decisionThreshold?: number;
  /**
   * Blessed, but automatic promotion must wait for a person: why (the champion collapsed on this
   * run's test split). The run waits for `approve` / `reject` as under `promotion.policy: "manual"`.
   */
  approvalRequired?: string;
}

export interface RegisterModelResult {
  model: string;
  version: number;
  uri: string;
  /** True when this run had already registered this version (an idempotent retry). */
  existed: boolean;
}

export interface PromoteResult {
  model: string;
  alias: string;
  version: number;
  previousVersion?: number;
}

/** The current champion's artifacts, as the registry records them; stages compare against it. */
export interface ChampionRefs {
  model: string;
  version: number;
  modelRef: ArtifactRef;
  schema: ArtifactRef;
  statistics: ArtifactRef;
  preprocessor: ArtifactRef;
  evaluation?: ArtifactRef;
  metrics: Record<string, number>;
  /** Binary: the champion's own decision threshold, when it recorded one. */
  decisionThreshold?: number;
}
