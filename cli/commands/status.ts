import { Command } from 'commander';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { PipelineResult } from '../../workflows';
import { statusQuery, type PipelineStatus } from '../../workflows/messages';
import { closedRunEvidence } from '../closed-run';
import { UsageError, workflowUiUrl } from '../config-edge';
import { withTemporalClient } from '../temporal-client';
import { formatBatchStatus, readBatchStatus } from '../batch-status';
import type { BatchPredictOutcome } from '../../workflows/batch-predict-messages';

/** Exit codes of `trainyard status`, for scripts: a finished run's outcome, or 0 while it runs. */
export const StatusExit = { ok: 0, failed: 1, usage: 2, rejected: 3, awaitingOperator: 4 } as const;

/** Outcomes where following stops: the run ended, or it waits for a person to retry or abort. */
const SETTLED: PipelineStatus['outcome'][] = [
  'promoted',
  'registered',
  'rejected',
  'failed',
  'cancelled',
  'awaiting-operator',
];

const EXIT_BY_OUTCOME: Partial<Record<PipelineStatus['outcome'], number>> = {
  failed: StatusExit.failed,
  cancelled: StatusExit.failed,
  rejected: StatusExit.rejected,
  'awaiting-operator': StatusExit.awaitingOperator,
};

export function statusCommand(): Command {
  return new Command('status')
    .description(
      "Show a run's stages (state, duration, artifacts) or a batchPredict run's chunk progress and result; --follow until it ends. Exit: 0 done or running, 1 failed or cancelled, 3 rejected, 4 awaiting an operator",
    )
    .argument('<workflowId>', 'the run')
    .option('-f, --follow', 'refresh until the run ends')
    .option('--json', 'print the status as JSON')
    .action(async (workflowId: string, options: { follow?: boolean; json?: boolean }) => {
      await withTemporalClient(async (client, config) => {
        let view = await readRunView(client, workflowId);
        while (options.follow && !view.settled) {
          if (!options.json && process.stdout.isTTY) process.stdout.write(`\x1b[2J\x1b[H${view.text}`);
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          view = await readRunView(client, workflowId);
        }
        process.stdout.write(options.json ? `${JSON.stringify(view.json, null, 2)}\n` : view.text);
        if (!options.json) process.stdout.write(`Temporal UI: ${workflowUiUrl(config, workflowId)}\n`);
        process.exitCode = view.exitCode;
      });
    });
}

/** A run's status as `trainyard status` prints it, whichever workflow it is. */
interface RunView {
  json: unknown;
  text: string;
  /** Following stops: the run ended, or it waits for a person. */
  settled: boolean;
  exitCode: number;
}

const BATCH_SETTLED: BatchPredictOutcome[] = ['succeeded', 'failed', 'cancelled', 'awaiting-operator'];
const BATCH_EXIT: Partial<Record<BatchPredictOutcome, number>> = {
  failed: StatusExit.failed,
  cancelled: StatusExit.failed,
  'awaiting-operator': StatusExit.awaitingOperator,
};

async function readRunView(client: Client, workflowId: string): Promise<RunView> {
  const description = await describeRun(client, workflowId);
  if (description.type === 'batchPredict') {
    const status = await readBatchStatus(client, workflowId, description);
    return {
      json: status,
      text: formatBatchStatus(status),
      settled: BATCH_SETTLED.includes(status.outcome),
      exitCode: BATCH_EXIT[status.outcome] ?? StatusExit.ok,
    };
  }
  const status = await readStatus(client, workflowId, description);
  return {
    json: status,
    text: formatStatus(status),
    settled: SETTLED.includes(status.outcome),
    exitCode: EXIT_BY_OUTCOME[status.outcome] ?? StatusExit.ok,
  };
}

async function describeRun(client: Client, workflowId: string): Promise<Description> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new UsageError(`No run with workflow id "${workflowId}"`);
    throw error;
  }
}

type Description = Awaited<ReturnType<WorkflowHandle['describe']>>;

/** A running run answers the `status` query; a closed one is read from its result or failure (no worker needed). */
export async function readStatus(client: Client, workflowId: string, known?: Description): Promise<PipelineStatus> {
  const handle = client.workflow.getHandle(workflowId);
  const description = known ?? (await describeRun(client, workflowId));
  if (description.type !== 'trainingPipeline') {
    throw new UsageError(
      `"${workflowId}" is a ${description.type} run, not a trainingPipeline. Its own status: temporal workflow query --workflow-id ${workflowId} --type status`,
    );
  }
  if (description.status.name === 'RUNNING')
    return withLiveProgress(await handle.query(statusQuery), description.raw.pendingActivities ?? []);
  if (description.status.name === 'COMPLETED') {
    const result = (await handle.result()) as PipelineResult;
    return {
      model: result.model,
      outcome: result.outcome,
      stages: result.stages,
      version: result.version,
      reportUrl: result.reportUrl,
    };
  }
  const cancelled = description.status.name === 'CANCELLED';
  const { failure, replayed } = await closedRunEvidence(handle, cancelled, statusQuery);
  const attributes = description.searchAttributes as Record<string, unknown[] | undefined>;
  const base: PipelineStatus = replayed ?? {
    model: attributes.TrainyardModel?.[0] === undefined ? undefined : String(attributes.TrainyardModel[0]),
    currentStage: attributes.TrainyardStage?.[0] === undefined ? undefined : String(attributes.TrainyardStage[0]),
    outcome: 'failed',
    stages: [],
  };
  return { ...base, outcome: cancelled ? 'cancelled' : 'failed', ...(failure ? { failure } : {}) };
}

/** The running stage's last heartbeat (train: epoch, planned epochs, losses; attempt), for the live display. */
export interface StageProgress {
  attempt: number;
  details?: {
    epoch?: number;
    epochs?: number;
    metricsSoFar?: { trainLoss?: number; validationLoss?: number };
    bytesRead?: number;
    /** Mean epoch length so far and the time budget's end (ISO), for the time left. */
    meanEpochMs?: number;
    deadline?: string;
  };
}

type PendingActivity = NonNullable<Awaited<ReturnType<WorkflowHandle['describe']>>['raw']['pendingActivities']>[number];

/** The activity type a stage runs as, where the names differ. */
const ACTIVITY_OF_STAGE: Record<string, string> = { register: 'registerModel' };

function withLiveProgress(status: PipelineStatus, pending: PendingActivity[]): PipelineStatus {
  const running = status.stages.find((stage) => stage.state === 'running');
  if (!running) return status;
  const activity = pending.find((p) => p.activityType?.name === (ACTIVITY_OF_STAGE[running.name] ?? running.name));
  if (!activity) return status;
  const payload = activity.heartbeatDetails?.payloads?.[0];
  let details: StageProgress['details'];
  try {
    details = payload ? (defaultPayloadConverter.fromPayload(payload) as StageProgress['details']) : undefined;
  } catch {
    details = undefined; // a heartbeat this CLI cannot read: show the stage without progress
  }
  const progress: StageProgress = { attempt: activity.attempt ?? 1, ...(details ? { details } : {}) };
  return { ...status, stages: status.stages.map((stage) => (stage === running ? { ...stage, progress } : stage)) };
}

const BAR_WIDTH = 20;

/** `[██████░░░░] epoch 6/25  loss 0.412  val 0.398  ~1m 20s left` for training; bytes read for data stages. */
export function formatProgress(progress: StageProgress, nowMs = Date.now()): string {
  const parts: string[] = [];
  const { epoch, epochs, metricsSoFar, bytesRead } = progress.details ?? {};
  if (typeof epoch === 'number' && typeof epochs === 'number' && epochs > 0) {
    const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round((epoch / epochs) * BAR_WIDTH)));
    parts.push(`[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] epoch ${epoch}/${epochs}`);
    if (typeof metricsSoFar?.trainLoss === 'number') parts.push(`loss ${metricsSoFar.trainLoss.toFixed(3)}`);
    if (typeof metricsSoFar?.validationLoss === 'number') parts.push(`val ${metricsSoFar.validationLoss.toFixed(3)}`);
    const left = timeLeftMs(progress.details ?? {}, nowMs);
    if (left !== undefined) parts.push(`~${formatDuration(left)} left`);
  } else if (typeof bytesRead === 'number') {
    parts.push(`${(bytesRead / 2 ** 20).toFixed(0)} MiB read`);
  }
  if (progress.attempt > 1) parts.push(`attempt ${progress.attempt}`);
  return parts.join('  ');
}

/**
 * Training's time left: the remaining epochs at the mean epoch length so far (at most; early stopping
 * may end sooner), capped by the time budget's end. Undefined before the first epoch ends.
 */
export function timeLeftMs(details: NonNullable<StageProgress['details']>, nowMs: number): number | undefined {
  const { epoch, epochs, meanEpochMs, deadline } = details;
  const byEpochs =
    typeof epoch === 'number' && typeof epochs === 'number' && typeof meanEpochMs === 'number'
      ? Math.max(0, epochs - epoch) * meanEpochMs
      : undefined;
  const byDeadline = deadline ? Math.max(0, Date.parse(deadline) - nowMs) : undefined;
  if (byEpochs === undefined) return byDeadline;
  return byDeadline === undefined || Number.isNaN(byDeadline) ? byEpochs : Math.min(byEpochs, byDeadline);
}

/** 75000 → "1m 15s"; 4000 → "4s". */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

const MARK: Record<string, string> = { completed: '✔', running: '…', failed: '✖', skipped: '-', pending: ' ' };

export function formatStatus(status: PipelineStatus): string {
  const lines = [
    `model ${status.model ?? '?'}  outcome ${status.outcome}${status.version === undefined ? '' : `  version ${status.version}`}`,
  ];
  for (const stage of status.stages) {
    const duration = stage.durationMs === undefined ? '' : `${(stage.durationMs / 1000).toFixed(1)} s`;
    const retries = stage.retry ? `retries ≤${stage.retry.maximumAttempts}` : '';
    const cached = stage.cache?.hit ? `  cached (from ${stage.cache.fromWorkflowId ?? 'an earlier run'})` : '';
    lines.push(
      `  ${MARK[stage.state] ?? '?'} ${stage.name.padEnd(18)} ${stage.state.padEnd(9)} ${duration.padStart(8)}  ${retries.padEnd(11)}${cached}${stage.note ? `  ${stage.note}` : ''}`,
    );
    const progress = (stage as { progress?: StageProgress }).progress;
    if (progress && formatProgress(progress)) lines.push(`      ${formatProgress(progress)}`);
    if (stage.error) lines.push(`      ${stage.error.type}: ${stage.error.message.split('\n')[0]}`);
  }
  for (const retry of status.retries ?? []) {
    lines.push(
      `  retried from ${retry.restartFrom} by ${retry.by}${retry.changedPaths.length ? ` with ${retry.changedPaths.join(', ')} changed` : ''} after ${retry.failedStage} failed (${retry.failure.type})`,
    );
  }
  if (status.awaitingOperator) {
    const waiting = status.awaitingOperator;
    lines.push(
      `  awaiting an operator since ${waiting.since}: ${waiting.failedStage} failed with ${waiting.failure.type}; gives up at ${waiting.deadline}`,
    );
    lines.push(
      `  fix and retry: trainyard retry <workflowId> [--stage X] [--set path=value]…   or: trainyard abort <workflowId>`,
    );
  }
  if (status.failure) lines.push(`  failed: ${status.failure.type}: ${status.failure.message.split('\n')[0]}`);
  if (status.reportUrl) lines.push(`report: ${status.reportUrl}`);
  return `${lines.join('\n')}\n`;
}
