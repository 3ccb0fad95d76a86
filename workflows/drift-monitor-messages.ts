import { defineQuery } from '@temporalio/workflow';
import type { DriftCheckResult } from '../contracts/drift-check';

/** What a check led to: a training run started on the batch, one already running or done for it, or nothing. */
export type RetrainAction =
  { action: 'started'; workflowId: string } | { action: 'already-started'; workflowId: string } | { action: 'none' };

/** One check, as the memo, the status query and the result report it. */
export interface DriftCheckRecord {
  /** When the check ran (workflow time) and the time "newest batch" was judged as of. */
  at: string;
  asOf: string;
  outcome: DriftCheckResult['outcome'] | 'check-failed';
  /** Why, in words: the drift verdict plus what was done about it. */
  reason: string;
  batch?: { uri: string; sha256: string; partitions?: string[] };
  reportUri?: string;
  columns: DriftCheckResult['columns'];
  retrain: RetrainAction;
}

export interface DriftMonitorStatus {
  model: string;
  datasetUri: string;
  /** Checks in this run, and over every run continued-as-new before it. */
  checks: number;
  totalChecks: number;
  last?: DriftCheckRecord;
  /** The latest checks, newest last (at most ten). */
  recent: DriftCheckRecord[];
  /** A long-lived monitor's next check. */
  nextCheckAt?: string;
}

/** Defined once, used by the workflow and by clients (`trainyard status`, tests). */
export const driftMonitorStatusQuery = defineQuery<DriftMonitorStatus>('status');
