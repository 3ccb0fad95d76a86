import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { predictRaw, type Ensemble } from './ensemble';

export interface PredictJob {
  id: number;
  x: Float32Array;
  rows: number;
}
export type PredictReply = { id: number; scores: Float64Array } | { id: number; error: string };

const THREAD_ENTRY = new URL('./predict-thread.mjs', import.meta.url);
/**
 * Below this many rows a block is scored here alone: sharing costs a copy and a message each way (tens of
 * µs), while a block this size takes milliseconds. It is below the scorer's 8192-row blocks, so a large
 * batch is shared and a served request of a few rows never is.
 */
export const MIN_ROWS_TO_SHARE = 4096;

/**
 * Scores large blocks of rows off this thread, on every core: the block is split into row ranges, one per
 * helper. Each row's score is computed by the same code in the same tree order wherever it runs, so the
 * result is identical to `predictRaw` on one thread.
 */
export class PredictThreads {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(scores: Float64Array): void; reject(error: Error): void }>();
  private failed: Error | undefined;

  constructor(
    private readonly ensemble: Ensemble,
    private readonly featureCount: number,
    private readonly workers: Worker[] = startHelpers(ensemble, featureCount, defaultHelpers()),
  ) {
    for (const worker of workers) {
      worker.on('message', (reply: PredictReply) => this.settle(reply));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => this.fail(new Error(`a prediction helper thread exited (code ${code})`)));
      worker.unref();
    }
  }

  get helpers(): number {
    return this.workers.length;
  }

  /**
   * Raw scores of `rows` rows (rows × outputs), as predictRaw gives them, computed by the helpers while
   * this thread is free (to encode the next block, say). A helper's failure fails the call.
   */
  async predictRaw(x: Float32Array, rows: number): Promise<Float64Array> {
    if (this.failed || rows < MIN_ROWS_TO_SHARE || this.workers.length === 0)
      return predictRaw(this.ensemble, x, rows, this.featureCount);
    const shares = this.workers.length;
    const k = this.ensemble.outputs;
    const bounds = Array.from({ length: shares + 1 }, (_, i) => Math.round((i * rows) / shares));
    const parts = await Promise.all(
      this.workers.map((worker, i) => {
        const [from, to] = [bounds[i] as number, bounds[i + 1] as number];
        const block = x.slice(from * this.featureCount, to * this.featureCount);
        return this.send(worker, block, to - from).then((scores) => ({ from, scores }));
      }),
    );
    const result = new Float64Array(rows * k);
    for (const { from, scores } of parts) result.set(scores, from * k);
    return result;
  }

  async close(): Promise<void> {
    this.fail(new Error('the prediction helpers were closed'));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private send(worker: Worker, x: Float32Array, rows: number): Promise<Float64Array> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref(); // an idle helper never keeps the process alive; one with work does
      worker.postMessage({ id, x, rows } satisfies PredictJob, [x.buffer as ArrayBuffer]);
    });
  }

  private settle(reply: PredictReply): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (this.pending.size === 0) for (const worker of this.workers) worker.unref();
    if ('scores' in reply) waiting?.resolve(reply.scores);
    else waiting?.reject(new Error(`a prediction helper thread failed: ${reply.error}`));
  }

  private fail(error: Error): void {
    this.failed ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

/** One helper per core, at most 4: the calling thread has its own work (reading, encoding, writing). */
function defaultHelpers(): number {
  return Math.min(4, availableParallelism());
}

function startHelpers(ensemble: Ensemble, featureCount: number, count: number): Worker[] {
  return Array.from({ length: count }, () => new Worker(THREAD_ENTRY, { workerData: { ensemble, featureCount } }));
}
