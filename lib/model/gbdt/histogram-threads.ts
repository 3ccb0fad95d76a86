import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { buildHistogramFeatures, type HistogramPool } from './histogram';

/** Everything the helpers read, in shared memory: bins, the row order, gradients and the histogram slots. */
export interface SharedTrainingArrays {
  bins: Uint8Array;
  featureCount: number;
  order: Uint32Array;
  grad: Float32Array[];
  hess: Float32Array[];
  pool: HistogramPool;
}

/** Control words per helper, in an Int32Array: the main thread writes a job and bumps SEQ; the helper echoes it in DONE. */
export const CONTROL = { SEQ: 0, START: 1, END: 2, OUTPUT: 3, SLOT: 4, DONE: 5, STOP: 6, WORDS: 8 } as const;

const THREAD_ENTRY = new URL('./histogram-thread.mjs', import.meta.url);
/** Below this many bin values a histogram is built faster than threads can be woken (measured ~50 µs a wake-up). */
const MIN_VALUES_TO_SHARE = 50_000;

/**
 * Builds histograms with the features split among threads: this one and `helpers` worker threads, each
 * summing whole features in row order, so the sums — and the trees — are the same for any thread count.
 * The helpers block on Atomics.wait between jobs; the caller blocks until all shares are done.
 */
export class HistogramThreads {
  private seq = 0;
  private constructor(
    private readonly arrays: SharedTrainingArrays,
    private readonly workers: Worker[],
    private readonly controls: Int32Array[],
    private readonly ranges: Array<[number, number]>,
  ) {}

  /**
   * Starts `threads − 1` helpers (default: one per core beyond this thread, at most 3, and none for a small
   * split); none for fewer than 4 features.
   */
  static async start(arrays: SharedTrainingArrays, threads = defaultThreads(arrays)): Promise<HistogramThreads> {
    const shares = helperStalled ? 1 : Math.max(1, Math.min(threads, Math.floor(arrays.featureCount / 2)));
    const ranges = featureRanges(arrays.featureCount, shares);
    const workers: Worker[] = [];
    const controls: Int32Array[] = [];
    try {
      for (let i = 1; i < shares; i++) {
        const control = new Int32Array(new SharedArrayBuffer(CONTROL.WORDS * Int32Array.BYTES_PER_ELEMENT));
        const [fromFeature, toFeature] = ranges[i] as [number, number];
        const worker = new Worker(THREAD_ENTRY, {
          workerData: {
            control,
            bins: arrays.bins,
            featureCount: arrays.featureCount,
            order: arrays.order,
            grad: arrays.grad,
            hess: arrays.hess,
            histograms: arrays.pool.buffer,
            histogramSize: arrays.pool.size,
            fromFeature,
            toFeature,
          },
        });
        worker.unref();
        workers.push(worker);
        controls.push(control);
        await new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
        });
      }
    } catch (error) {
      await Promise.allSettled(workers.map((w) => w.terminate()));
      throw error;
    }
    return new HistogramThreads(arrays, workers, controls, ranges);
  }

  get threads(): number {
    return this.ranges.length;
  }

  /** Fills `hist` (a slot of the pool) with rows order[start, end) of output `output`'s gradients. */
  build(start: number, end: number, output: number, hist: Float64Array): void {
    const { bins, featureCount, order, grad, hess, pool } = this.arrays;
    const g = grad[output] as Float32Array;
    const h = hess[output] as Float32Array;
    if (this.workers.length === 0 || (end - start) * featureCount < MIN_VALUES_TO_SHARE) {
      buildHistogramFeatures(bins, featureCount, order, start, end, g, h, hist, 0, featureCount);
      return;
    }
    const seq = ++this.seq;
    const slot = pool.slotOf(hist);
    for (const control of this.controls) {
      control[CONTROL.START] = start;
      control[CONTROL.END] = end;
      control[CONTROL.OUTPUT] = output;
      control[CONTROL.SLOT] = slot;
      Atomics.store(control, CONTROL.SEQ, seq);
      Atomics.notify(control, CONTROL.SEQ);
    }
    const [fromFeature, toFeature] = this.ranges[0] as [number, number];
    const ownStartMs = performance.now();
    buildHistogramFeatures(bins, featureCount, order, start, end, g, h, hist, fromFeature, toFeature);
    const now = performance.now();
    const deadlineMs = now + Math.max(MIN_STALL_MS, STALL_FACTOR * (now - ownStartMs));
    for (const control of this.controls) awaitShare(control, seq, deadlineMs);
  }

  async close(): Promise<void> {
    for (const control of this.controls) {
      Atomics.store(control, CONTROL.STOP, 1);
      Atomics.store(control, CONTROL.SEQ, -1);
      Atomics.notify(control, CONTROL.SEQ);
    }
    await Promise.allSettled(this.workers.map((w) => w.terminate()));
  }
}

/** Below this many bin values in the train split, starting helpers (~0.2 s each, tsx included) costs more than they save. */
const MIN_VALUES_FOR_HELPERS = 2_000_000;

/** One thread per core, at most 4 (histogram sums are memory-bound), and only one for a small split. */
function defaultThreads(arrays: SharedTrainingArrays): number {
  return arrays.order.length * arrays.featureCount < MIN_VALUES_FOR_HELPERS ? 1 : Math.min(4, availableParallelism());
}

/**
 * A helper that has not finished its share this long after this thread finished its own is taken for
 * stalled: the attempt fails (training resumes from its last checkpoint on retry) instead of waiting forever.
 */
const STALL_FACTOR = 20;
const MIN_STALL_MS = 30_000;
/** Set after a stall: later trainings in this process use one thread rather than risk it again. */
let helperStalled = false;

/** A histogram helper thread failed or stopped answering; retrying the attempt is safe. */
export class HistogramHelperFailed extends Error {
  override readonly name = 'HistogramHelperFailed';
}

/**
 * Blocks until a helper reports job `seq` done. It waits on the value it has just compared: re-reading DONE
 * for the wait, as an earlier version did, loses the wake-up when the helper finishes in between, and then
 * both threads sleep forever. A 21M-row run stalled with both threads asleep in exactly these waits.
 */
function awaitShare(control: Int32Array, seq: number, deadlineMs: number): void {
  for (;;) {
    const done = Atomics.load(control, CONTROL.DONE);
    if (done === seq) return;
    if (done === HELPER_FAILED)
      throw new HistogramHelperFailed('a gbdt histogram helper thread failed (its error is logged above)');
    const leftMs = deadlineMs - performance.now();
    if (leftMs <= 0) {
      helperStalled = true;
      throw new HistogramHelperFailed(
        `a gbdt histogram helper thread stopped answering; this worker now trains with one thread`,
      );
    }
    Atomics.wait(control, CONTROL.DONE, done, leftMs);
  }
}

/** What a helper writes to DONE when its job threw, so the training thread fails instead of waiting. */
export const HELPER_FAILED = -2;

/** Contiguous feature ranges of near-equal size. */
function featureRanges(featureCount: number, shares: number): Array<[number, number]> {
  return Array.from(
    { length: shares },
    (_, i) =>
      [Math.floor((i * featureCount) / shares), Math.floor(((i + 1) * featureCount) / shares)] as [number, number],
  );
}
