import { defineQuery } from '@temporalio/workflow';
import type { StageStatus } from '../contracts/stages';

export interface PipelineStatus {
  model?: string;
  /** The stage running now, or the last one that ran. */
  currentStage?: string;
  outcome: 'running' | 'completed' | 'failed';
  stages: StageStatus[];
}

/** Defined once, used by the workflow and by `trainyard status`. */
export const statusQuery = defineQuery<PipelineStatus>('status');
