import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { BatchPredictResult } from '../contracts/batch-predict-input';
import { closedRunEvidence } from './closed-run';
import { batchPredictStatusQuery, type BatchPredictStatus } from '../workflows/batch-predict-messages';

type Description = Awaited<ReturnType<WorkflowHandle['describe']>>;
type PendingActivity = NonNullable<Description['raw']['pendingActivities']>[number];

/** predictBatch's last heartbeat: its step and, while scoring, the chunks done. */
export interface BatchProgress {
  attempt: number;
  step?: string;
  chunk?: number;
  chunks?: number;
  rows?: number;
  bytesRead?: number;
}

/** What `trainyard status` shows for a batchPredict run: its status query, plus the live chunk progress. */
export type BatchRunStatus = BatchPredictStatus & { progress?: BatchProgress };

/**
 * A running batchPredict run answers its status query (plus predictBatch's heartbeat); a closed one is read
 * from its result, or from its failure with what a replayed query (a worker answering quickly) or the memo tells.
 */
export async function readBatchStatus(
  client: Client,
  workflowId: string,
  description: Description,
): Promise<BatchRunStatus> {
  const handle = client.workflow.getHandle(workflowId);
  if (description.status.name === 'RUNNING') {
    const status = await handle.query(batchPredictStatusQuery);
    const progress = progressOf(description.raw.pendingActivities ?? []);
    return progress ? { ...status, progress } : status;
  }
  if (description.status.name === 'COMPLETED') {
    const result = (await handle.result()) as BatchPredictResult;
    return {
      model: result.alias ? `${result.model}@${result.alias}` : `${result.model}:${result.version}`,
      datasetUri: result.dataset.uri,
      version: result.version,
      stage: 'done',
      outcome: 'succeeded',
      result,
    };
  }
  const cancelled = description.status.name === 'CANCELLED';
  const { failure, replayed } = await closedRunEvidence(handle, cancelled, batchPredictStatusQuery);
  const memo = (description.memo ?? {}) as { model?: unknown; version?: unknown; dataset?: unknown };
  const base: BatchPredictStatus = replayed ?? {
    model: String(memo.model ?? (description.searchAttributes as Record<string, unknown[]>).TrainyardModel?.[0] ?? '?'),
    datasetUri: String(memo.dataset ?? '?'),
    ...(typeof memo.version === 'number' ? { version: memo.version } : {}),
    stage: typeof memo.version === 'number' ? 'predicting' : 'resolving the model',
    outcome: 'failed',
  };
  return { ...base, outcome: cancelled ? 'cancelled' : 'failed', ...(failure ? { failure } : {}) };
}

function progressOf(pending: PendingActivity[]): BatchProgress | undefined {
  const activity = pending.find((p) => p.activityType?.name === 'predictBatch');
  if (!activity) return undefined;
  const payload = activity.heartbeatDetails?.payloads?.[0];
  let details: Omit<BatchProgress, 'attempt'> = {};
  try {
    if (payload) details = defaultPayloadConverter.fromPayload(payload) as typeof details;
  } catch {
    // a heartbeat this CLI cannot read: the stage without progress
  }
  return { attempt: activity.attempt ?? 1, ...details };
}

const BAR_WIDTH = 20;

/** `[████████░░░░] chunk 4/10  40000 rows` while scoring; the step (and bytes read) before it. */
export function formatBatchProgress(progress: BatchProgress): string {
  const parts: string[] = [];
  const { chunk, chunks, rows, step, bytesRead } = progress;
  if (typeof chunk === 'number' && typeof chunks === 'number' && chunks > 0) {
    const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round((chunk / chunks) * BAR_WIDTH)));
    parts.push(`[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] chunk ${chunk}/${chunks}`);
    if (typeof rows === 'number') parts.push(`${rows} rows`);
  } else if (step) {
    parts.push(step);
    if (typeof bytesRead === 'number') parts.push(`${(bytesRead / 2 ** 20).toFixed(0)} MiB read`);
  }
  if (progress.attempt > 1) parts.push(`attempt ${progress.attempt}`);
  return parts.join('  ');
}

export function formatBatchStatus(status: BatchRunStatus): string {
  const version = status.version === undefined ? '' : `  version ${status.version}`;
  const lines = [`batchPredict ${status.model}${version}  outcome ${status.outcome}  stage ${status.stage}`];
  lines.push(`  dataset:     ${status.datasetUri}`);
  if (status.progress && formatBatchProgress(status.progress))
    lines.push(`  progress:    ${formatBatchProgress(status.progress)}`);
  const result = status.result;
  if (result) {
    lines.push(
      `  rows:        ${result.rows} in ${result.chunks} chunk${result.chunks === 1 ? '' : 's'} (${result.chunksWritten} written by this run)`,
      `  predictions: ${result.predictionsUri}`,
      `  summary:     ${result.summaryUri}`,
      `  report:      ${result.reportUrl}`,
    );
    if (result.warnings.length) lines.push('  warnings:', ...result.warnings.map((w) => `    - ${w}`));
  }
  for (const retry of status.retries ?? [])
    lines.push(
      `  retried ${retry.restartFrom} by ${retry.by}${retry.changedPaths.length ? ` with ${retry.changedPaths.join(', ')} changed` : ''} after it failed (${retry.failure.type})`,
    );
  if (status.awaitingOperator) {
    const waiting = status.awaitingOperator;
    lines.push(
      `  awaiting an operator since ${waiting.since}: ${waiting.failedStage} failed with ${waiting.failure.type}: ${waiting.failure.message.split('\n')[0]}; gives up at ${waiting.deadline}`,
      `  fix and retry: trainyard retry <workflowId> [--dataset <uri>] [--set path=value]…   or: trainyard abort <workflowId>`,
    );
  }
  if (status.note) lines.push(`  note: ${status.note}`);
  if (status.failure) lines.push(`  failed: ${status.failure.type}: ${status.failure.message.split('\n')[0]}`);
  return `${lines.join('\n')}\n`;
}
