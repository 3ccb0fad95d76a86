import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RetryRequest } from '../contracts/operator-retry';
import type { StageName, StageStatus } from '../contracts/stages';
import type { FailureSummary } from '../contracts/errors';

export type PipelineOutcome =
  | 'running'
  | 'awaiting-approval'
  | 'awaiting-operator'
  | 'promoted'
  | 'registered'
  | 'rejected'
  | 'failed'
  | 'cancelled';

/** A stage that failed on bad data or config, waiting for `trainyard retry` or `abort`. */
export interface OperatorWait<Stage extends string = StageName> {
  failedStage: Stage;
  failure: FailureSummary;
  since: string;
  /** When the run gives up and fails with the original error. */
  deadline: string;
}

/** One operator retry, as the status shows it. */
export interface RetryRecord<Stage extends string = StageName> {
  at: string;
  by: string;
  reason: string;
  failedStage: Stage;
  failure: FailureSummary;
  restartFrom: Stage;
  changedPaths: string[];
}

export interface PipelineStatus {
  model?: string;
  /** The stage running now, or the last one that ran. */
  currentStage?: string;
  outcome: PipelineOutcome;
  stages: StageStatus[];
  version?: number;
  reportUrl?: string;
  /** For a failed run read after it closed: what went wrong. */
  failure?: FailureSummary;
  /** Set while the run waits for an operator. */
  awaitingOperator?: OperatorWait;
  /** Operator retries so far, oldest first. */
  retries?: RetryRecord[];
}

/** Defined once, used by the workflow and by `trainyard status`. */
export const statusQuery = defineQuery<PipelineStatus>('status');

/** A person's decision on a registered model waiting for manual promotion. */
export interface ApprovalDecision {
  decision: 'approve' | 'reject';
  by: string;
  reason: string;
}

export interface ApprovalAck {
  accepted: true;
  version?: number;
}

/** `trainyard approve|reject` sends this update: the caller learns at once whether it was accepted. */
export const approvalUpdate = defineUpdate<ApprovalAck, [ApprovalDecision]>('approval');

/** The same decision as a signal, for the Temporal UI's "Send a Signal" form. */
export const approvalSignal = defineSignal<[ApprovalDecision]>('approvalSignal');

/** Stage names are the answering workflow's own: trainingPipeline's, or batchPredict's predictBatch. */
export interface RetryAck {
  accepted: true;
  restartFrom: string;
  /** Stages whose results are kept, not run again. */
  kept: string[];
}

/** `trainyard retry` (trainingPipeline and batchPredict): re-run a failed run from its failed stage (or an earlier one), optionally with changed input. */
export const retryStageUpdate = defineUpdate<RetryAck, [RetryRequest]>('retryStage');

export interface AbortRequest {
  by?: string;
  reason?: string;
}

/** `trainyard abort`: give up on a run waiting for an operator; it fails with the stage's error. */
export const abortUpdate = defineUpdate<{ accepted: true }, [AbortRequest]>('abort');

/** The same two as signals, for the Temporal UI's "Send a Signal" form. */
export const retryStageSignal = defineSignal<[RetryRequest]>('retryStageSignal');
export const abortSignal = defineSignal<[AbortRequest]>('abortSignal');
