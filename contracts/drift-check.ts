import type { ArtifactRef } from './artifacts';
import type { DatasetFingerprint } from './stages';

/**
 * One row of the drift table (validation's anomalies report, the drift report, the monitor's status):
 * a two-sample test of the batch against the reference on the same bins, corrected across columns, and
 * the size of the shift. A column drifts when the shift is both significant and larger than the floor.
 */
export interface ColumnDrift {
  column: string;
  /** Pearson's chi-square test of homogeneity on the 2 × K table of reference and batch counts. */
  test: 'chi-square';
  /** How the values were binned: the reference's quantile bins, its equal-width histogram (statistics from before quantile bins), or categories. */
  binning: 'quantile' | 'equal-width' | 'categories';
  /** Bins (or categories) compared after pooling sparse ones, so every expected count is at least 5. */
  bins: number;
  /** Non-missing values compared, in the reference and in the batch. */
  referenceCount: number;
  batchCount: number;
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
  /** Holm-adjusted over the columns of this comparison: compared with alpha. */
  adjustedPValue: number;
  alpha: number;
  /** Effect size on the pooled bins, with its expected sampling noise subtracted: PSI for numbers, Jensen–Shannon distance otherwise. */
  metric: 'psi' | 'jensen-shannon';
  value: number;
  /** The same measure before the noise was subtracted. */
  observedValue: number;
  /** The smallest shift that counts as drift (validation.drift.psiThreshold / jensenShannonThreshold). */
  floor: number;
  drifted: boolean;
  /** What moved, in words (means and medians, or the categories whose share changed most). */
  summary: string;
}

/** What one drift check found: `checkDrift`'s result. */
export interface DriftCheckResult {
  /**
   * `no-champion`: the model has no version at the alias yet, so there was nothing to compare with.
   * `too-few-rows`: the batch has fewer rows than validation.drift.minRows; no verdict, no retraining.
   */
  outcome: 'drift-detected' | 'no-drift' | 'no-champion' | 'too-few-rows';
  drifted: boolean;
  /** Why, in a sentence an operator can read in the memo or `status`. */
  reason: string;
  /** The most drifted columns (at most ten), the most drifted first. */
  columns: ColumnDrift[];
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
