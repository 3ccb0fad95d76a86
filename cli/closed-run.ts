import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import { rootFailure, type FailureSummary } from '../contracts/errors';

/** A replayed query waits for a worker; this long and no more. */
const REPLAY_WAIT_MS = 3_000;

/**
 * What a closed (not completed) run can still tell: its root failure (none when it was cancelled), and its
 * status query replayed by a worker if one answers quickly (undefined otherwise: no worker is needed).
 */
export async function closedRunEvidence<T>(
  handle: WorkflowHandle,
  cancelled: boolean,
  query: QueryDefinition<T>,
): Promise<{ failure?: FailureSummary; replayed?: T }> {
  const failure = cancelled
    ? undefined
    : await handle.result().then(
        () => undefined,
        (error: unknown) => rootFailure(error),
      );
  const replayed = await Promise.race([
    handle.query(query).catch(() => undefined),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), REPLAY_WAIT_MS).unref()),
  ]);
  return { ...(failure ? { failure } : {}), ...(replayed === undefined ? {} : { replayed }) };
}
