import {
  continueAsNew,
  log,
  ParentClosePolicy,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { retrainWorkflowId, type DriftCheckResult } from '../contracts/drift-check';
import { parseDriftMonitorInput, type DriftMonitorInput } from '../contracts/drift-monitor-input';
import { valueOrFail } from '../contracts/pipeline-input-failure';
import { rootFailure } from '../contracts/errors';
import { durationMs } from '../contracts/stage-config';
import { explain, retrainInput, shouldRetrain } from './drift-decision';
import {
  driftMonitorStatusQuery,
  type DriftCheckRecord,
  type DriftMonitorStatus,
  type RetrainAction,
} from './drift-monitor-messages';
import { runAsOf } from './run-as-of';
import { dataStages } from './stage-activities';
import { TrainyardModel, TrainyardOutcome } from './search-attributes';
import { trainingPipeline } from './training-pipeline';

/** Profiling a batch is a data stage: minutes on large data, heartbeating as it streams; bad data is not retried. */
const { checkDrift } = dataStages;

const RECENT_CHECKS = 10;

export interface DriftMonitorResult {
  model: string;
  /** Checks over this run and the runs it continued from. */
  checks: number;
  last: DriftCheckRecord;
}

/** What a monitor hands the run it continues as: counts and the latest checks, for `status`. */
export interface DriftMonitorCarry {
  totalChecks: number;
  recent: DriftCheckRecord[];
}

/**
 * The drift monitor: is the newest data batch still like the data the champion was trained on? Each
 * check profiles the batch and compares it with the champion's training statistics (checkDrift: the
 * same measures and thresholds as validation). Above the trigger it starts a trainingPipeline on that
 * batch — its id derived from model and batch fingerprint, so one batch never trains twice — and
 * records why; below, it records "no drift". Without `every` it checks once (the mode a Temporal
 * Schedule runs); with `every` it checks, sleeps and repeats, continuing as new to keep history short.
 */
export async function driftMonitor(rawInput: unknown, carried?: DriftMonitorCarry): Promise<DriftMonitorResult> {
  const input = valueOrFail(parseDriftMonitorInput(rawInput), 'drift monitor input');
  const status: DriftMonitorStatus = {
    model: input.model,
    datasetUri: input.dataset.uri,
    checks: 0,
    totalChecks: carried?.totalChecks ?? 0,
    recent: carried?.recent ?? [],
    ...(carried?.recent.at(-1) ? { last: carried.recent.at(-1) } : {}),
  };
  setHandler(driftMonitorStatusQuery, () => status);
  if (workflowInfo().typedSearchAttributes.get(TrainyardModel) !== input.model)
    upsertSearchAttributes([{ key: TrainyardModel, value: input.model }]);

  for (;;) {
    const record = await checkOnce(input, input.every ? new Date().toISOString() : runAsOf());
    status.checks += 1;
    status.totalChecks += 1;
    status.last = record;
    status.recent = [...status.recent, record].slice(-RECENT_CHECKS);
    publish(input, record);
    if (!input.every) return { model: input.model, checks: status.totalChecks, last: record };

    status.nextCheckAt = new Date(Date.now() + durationMs(input.every)).toISOString();
    await sleep(input.every);
    if (status.checks >= input.checksPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof driftMonitor>(input, { totalChecks: status.totalChecks, recent: status.recent });
    }
  }
}

/** One check and what it led to. A long-lived monitor records a failed check and carries on; a single check fails. */
async function checkOnce(input: DriftMonitorInput, asOf: string): Promise<DriftCheckRecord> {
  const at = new Date().toISOString();
  let check: DriftCheckResult;
  try {
    check = await checkDrift({ input, asOf });
  } catch (error) {
    if (!input.every) throw error;
    const failure = rootFailure(error);
    log.warn('drift check failed; the monitor carries on', { type: failure.type, message: failure.message });
    return {
      at,
      asOf,
      outcome: 'check-failed',
      reason: `the check failed (${failure.type}): ${failure.message}`,
      columns: [],
      retrain: { action: 'none' },
    };
  }
  const retrain = shouldRetrain(check, input) ? await startRetraining(input, check) : { action: 'none' as const };
  return {
    at,
    asOf,
    outcome: check.outcome,
    reason: explain(check, retrain, input),
    batch: {
      uri: check.batch.uri,
      sha256: check.batch.sha256,
      ...(check.batch.partitions ? { partitions: check.batch.partitions } : {}),
    },
    reportUri: check.reportRef.uri,
    columns: check.columns,
    retrain,
  };
}

/** Starts the training run for this batch, or finds that it was started before (by any monitor or check). */
async function startRetraining(input: DriftMonitorInput, check: DriftCheckResult): Promise<RetrainAction> {
  const workflowId = retrainWorkflowId(input.model, check.batch.sha256);
  try {
    await startChild(trainingPipeline, {
      workflowId,
      args: [retrainInput(input, check.batch)],
      // The run outlives the check that started it; a closed run with this id still blocks a second one.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [{ key: TrainyardModel, value: input.model }],
      memo: { trigger: check.outcome, monitor: workflowInfo().workflowId, reason: check.reason },
    });
    return { action: 'started', workflowId };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { action: 'already-started', workflowId };
    throw error;
  }
}

function publish(input: DriftMonitorInput, record: DriftCheckRecord): void {
  upsertSearchAttributes([{ key: TrainyardOutcome, value: record.outcome }]);
  upsertMemo({
    model: input.model,
    dataset: input.dataset.uri,
    lastCheck: {
      at: record.at,
      outcome: record.outcome,
      reason: record.reason,
      ...(record.batch ? { batch: record.batch.sha256, partitions: record.batch.partitions ?? null } : {}),
      ...(record.reportUri ? { report: record.reportUri } : {}),
      ...(record.retrain.action !== 'none' ? { retrain: record.retrain.workflowId } : {}),
    },
  });
}
