import { defineQuery } from '@temporalio/workflow';
import type { BatchPredictResult } from '../contracts/batch-predict-input';
import type { BatchPredictStage } from '../contracts/batch-predict-retry';
import type { FailureSummary } from '../contracts/errors';
import type { OperatorWait, RetryRecord } from './messages';

export type BatchPredictOutcome = 'running' | 'awaiting-operator' | 'succeeded' | 'failed' | 'cancelled';

/** What `status` shows for a batchPredict run. */
export interface BatchPredictStatus {
  model: string;
  datasetUri: string;
  /** Set once resolved: the version every chunk is scored with. */
  version?: number;
  /** Set once resolved, when the input names a shadow: the version scoring beside `version`. */
  shadowVersion?: number;
  stage: 'resolving the model' | 'predicting' | 'done';
  outcome: BatchPredictOutcome;
  result?: BatchPredictResult;
  failure?: FailureSummary;
  /** Set while the run waits for `trainyard retry` or `abort` after predictBatch failed on bad data. */
  awaitingOperator?: OperatorWait<BatchPredictStage>;
  /** What the operator desk noted, e.g. a retry signal it ignored and why. */
  note?: string;
  /** Operator retries so far, oldest first. */
  retries?: RetryRecord<BatchPredictStage>[];
}

export const batchPredictStatusQuery = defineQuery<BatchPredictStatus>('batchPredictStatus');
