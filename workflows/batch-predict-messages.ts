import { defineQuery } from '@temporalio/workflow';
import type { BatchPredictResult } from '../contracts/batch-predict-input';

export type BatchPredictOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled';

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
  failure?: { type: string; message: string };
}

export const batchPredictStatusQuery = defineQuery<BatchPredictStatus>('batchPredictStatus');
