import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { rootFailure, type FailureSummary } from '../../contracts/errors';
import { statusQuery, type PipelineOutcome, type PipelineStatus } from '../../workflows/messages';

const CLOSED_OUTCOMES: readonly PipelineOutcome[] = ['failed', 'cancelled', 'promoted', 'registered', 'rejected'];

/**
 * Polls a run's `status` query until `reached` holds; fails as soon as the run closes without it, or at the
 * deadline. A query that fails (the start has not reached a worker yet) is asked again.
 */
export async function waitForStatus(
  handle: WorkflowHandle,
  what: string,
  reached: (status: PipelineStatus) => boolean,
  timeoutMs = 120_000,
): Promise<PipelineStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    const status = await handle.query(statusQuery).catch((error: unknown) => String(error));
    if (typeof status !== 'string') {
      if (reached(status)) return status;
      if (CLOSED_OUTCOMES.includes(status.outcome))
        assert.fail(`run ended ${status.outcome} while waiting for ${what}`);
    }
    last = typeof status === 'string' ? status : status.outcome;
    await sleep(300);
  }
  assert.fail(`run never reached ${what}; last: ${last}`);
}

export function waitForOutcome(
  handle: WorkflowHandle,
  outcome: PipelineOutcome,
  timeoutMs?: number,
): Promise<PipelineStatus> {
  return waitForStatus(handle, `outcome ${outcome}`, (status) => status.outcome === outcome, timeoutMs);
}

/** The failure a run ended with (its root ApplicationFailure's type and message); fails the test if it succeeded. */
export async function failureOf(handle: WorkflowHandle): Promise<FailureSummary> {
  const error = await handle.result().then(
    () => assert.fail('the run should fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof WorkflowFailedError);
  return rootFailure(error);
}

/** How many times each activity type was scheduled in a run's history (a kept stage stays at 1 after a retry). */
export async function scheduledActivityCounts(handle: WorkflowHandle): Promise<Record<string, number>> {
  const history = await handle.fetchHistory();
  const counts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
