import type { ArtifactRef } from './artifacts';
import type { DatasetFingerprint } from './stages';

/** One drifted column, as the drift table in validation's anomalies report shows it. */
export interface DriftedColumn {
  column: string;
  metric: 'psi' | 'jensen-shannon';
  value: number;
  threshold: number;
  /** What moved, in words (means, or the categories whose share changed most). */
  summary: string;
}

/** What one drift check found: `checkDrift`'s result. */
export interface DriftCheckResult {
  /** `no-champion`: the model has no version at the alias yet, so there was nothing to compare with. */
  outcome: 'drift-detected' | 'no-drift' | 'no-champion';
  drifted: boolean;
  /** Why, in a sentence an operator can read in the memo or `status`. */
  reason: string;
  /** The most drifted columns (at most ten), the most drifted first. */
  columns: DriftedColumn[];
  comparedColumns: number;
  driftedColumns: number;
  /** The batch compared: its URI, fingerprint and chosen partitions. */
  batch: DatasetFingerprint;
  rows?: number;
  /** The version whose training statistics were the reference. */
  champion?: { version: number; statisticsUri: string };
  /** The full drift table and decision, as JSON in the artifact store. */
  reportRef: ArtifactRef;
}

/**
 * The workflow id of the training run a drifted batch starts: one per model and batch content, so
 * the same batch never trains twice, however many monitors or checks see it.
 */
export function retrainWorkflowId(model: string, batchSha256: string): string {
  return `retrain-${model}-${batchSha256.slice(0, 12)}`;
}
