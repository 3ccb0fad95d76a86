import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { InvalidArgumentError } from 'commander';
import { rootFailure } from '../contracts/errors';
import type { Config } from '../lib/config';
import { CommandFailedError, UsageError } from './config-edge';
import { withTemporalClient } from './temporal-client';

export interface SentUpdate<R> {
  ack: R;
  config: Config;
}

/**
 * Sends an update to a running run and waits for its acknowledgement, turning the ways it can fail into
 * messages a person can act on: unknown run or a refusal by the run's validator → UsageError (exit 2);
 * no acknowledgement in time → CommandFailedError (exit 1) with a hint.
 */
export async function sendRunUpdate<R, A extends [unknown, ...unknown[]]>(
  workflowId: string,
  update: UpdateDefinition<R, A>,
  args: A,
  what: string,
  timeoutSeconds: number,
): Promise<SentUpdate<R>> {
  return withTemporalClient(async (client, config) => {
    try {
      const handle = client.workflow.getHandle(workflowId);
      const ack = await client.withDeadline(Date.now() + timeoutSeconds * 1000, () =>
        handle.executeUpdate(update, { args }),
      );
      return { ack, config };
    } catch (error) {
      throw explainUpdateFailure(error, { workflowId, what, timeoutSeconds, config });
    }
  });
}

function explainUpdateFailure(
  error: unknown,
  {
    workflowId,
    what,
    timeoutSeconds,
    config,
  }: { workflowId: string; what: string; timeoutSeconds: number; config: Config },
): unknown {
  if (error instanceof WorkflowNotFoundError) {
    return new UsageError(
      `No running workflow "${workflowId}" in namespace ${config.temporal.namespace}: check the id, or the run has already finished.`,
    );
  }
  if (error instanceof WorkflowUpdateFailedError) {
    // The run's validator refused: it is not in the state the update needs, or the request is bad.
    return new UsageError(`Run "${workflowId}" did not accept the ${what}: ${rootFailure(error).message}`);
  }
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadlineExceeded(error)) {
    return new CommandFailedError(
      `Run "${workflowId}" did not acknowledge the ${what} within ${timeoutSeconds} s. ` +
        `Is a worker running on task queue "${config.temporal.taskQueue}"? Check the run in the Temporal UI before sending it again.`,
    );
  }
  return error;
}

export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}".`);
  return seconds;
}

function isDeadlineExceeded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code === 4; // gRPC DEADLINE_EXCEEDED
}
