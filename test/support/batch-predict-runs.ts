import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import {
  batchPredictStatusQuery,
  type BatchPredictOutcome,
  type BatchPredictStatus,
} from '../../workflows/batch-predict-messages';

const CLOSED: readonly BatchPredictOutcome[] = ['succeeded', 'failed', 'cancelled'];

/** Polls a batchPredict run's status query until it reaches `outcome`; fails if the run closes first or at the deadline. */
export async function waitForBatchOutcome(
  handle: WorkflowHandle,
  outcome: BatchPredictOutcome,
  timeoutMs = 120_000,
): Promise<BatchPredictStatus> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const status = await handle.query(batchPredictStatusQuery).catch((error: unknown) => String(error));
    if (typeof status !== 'string') {
      if (status.outcome === outcome) return status;
      if (CLOSED.includes(status.outcome)) assert.fail(`run ended ${status.outcome} while waiting for ${outcome}`);
    }
    last = typeof status === 'string' ? status : status.outcome;
    await sleep(300);
  }
  assert.fail(`run never reached ${outcome}; last: ${last}`);
}
