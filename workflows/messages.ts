import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StageStatus } from '../contracts/stages';

export type PipelineOutcome = 'running' | 'awaiting-approval' | 'promoted' | 'registered' | 'rejected' | 'failed';

export interface PipelineStatus {
  model?: string;
  /** The stage running now, or the last one that ran. */
  currentStage?: string;
  outcome: PipelineOutcome;
  stages: StageStatus[];
  version?: number;
  reportUrl?: string;
  /** For a failed run read after it closed: what went wrong. */
  failure?: { type: string; message: string };
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
