import { randomUUID } from 'node:crypto';
import type { BatchPredictInputDraft, BatchPredictResult } from '../../contracts/batch-predict-input';
import type { TestHarness } from '../../test/support/temporal';
import { startWorkerProcess } from '../../test/support/worker-process';
import { readProcess } from '../proc-sampler';

/**
 * One batchPredict run on a fresh `trainyard worker` process of its own: its kernel high-water mark is this
 * run's peak RSS and nothing else's. Seconds are start to result, the worker's start-up excluded.
 */
export async function batchPredictInFreshWorker(
  h: TestHarness,
  input: BatchPredictInputDraft,
): Promise<{ seconds: number; peak: number; result: BatchPredictResult }> {
  const taskQueue = `bench-batch-${randomUUID()}`;
  const worker = startWorkerProcess(taskQueue);
  try {
    await worker.ready;
    const started = performance.now();
    const result = (await h.client.workflow.execute('batchPredict', {
      taskQueue,
      workflowId: `bench-batch-${randomUUID()}`,
      args: [input],
    })) as BatchPredictResult;
    const seconds = (performance.now() - started) / 1000;
    const reading = await readProcess(worker.child.pid as number);
    return { seconds, peak: reading?.hwmBytes ?? Number.NaN, result };
  } finally {
    await worker.kill('SIGTERM');
  }
}
