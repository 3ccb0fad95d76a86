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
  static async start(arrays: SharedTrainingArrays, threads = DEFAULT_THREADS): Promise<HistogramThreads> {
    const shares = Math.max(1, Math.min(threads, Math.floor(arrays.featureCount / 2)));
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
    buildHistogramFeatures(bins, featureCount, order, start, end, g, h, hist, fromFeature, toFeature);
    for (const control of this.controls) {
      while (Atomics.load(control, CONTROL.DONE) !== seq)
        Atomics.wait(control, CONTROL.DONE, Atomics.load(control, CONTROL.DONE));
    }
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

/**
 * Helpers are off by default: on 21M train rows × 13 features (273M bin values) the hand-off between the
 * helpers and the training thread stalled at 0% CPU in the first round and never returned, while one
 * thread trains the same data at 7.8 s a round (BENCH_GBDT_HELPERS=1 in `bench gbdt`). 27M values
 * (flights-3m) worked with helpers; until the stall is found, a slower round beats a run that hangs.
 * `histogramThreads` still asks for them explicitly (the tests do, to prove they give the same trees).
 */
const DEFAULT_THREADS = 1;

/** Contiguous feature ranges of near-equal size. */
function featureRanges(featureCount: number, shares: number): Array<[number, number]> {
  return Array.from(
    { length: shares },
    (_, i) =>
      [Math.floor((i * featureCount) / shares), Math.floor(((i + 1) * featureCount) / shares)] as [number, number],
  );
}
