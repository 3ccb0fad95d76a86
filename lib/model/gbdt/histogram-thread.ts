import { parentPort, workerData } from 'node:worker_threads';
import { buildHistogramFeatures } from './histogram';
import { CONTROL, HELPER_FAILED } from './histogram-threads';

interface HelperData {
  control: Int32Array;
  bins: Uint8Array;
  featureCount: number;
  order: Uint32Array;
  grad: Float32Array[];
  hess: Float32Array[];
  histograms: SharedArrayBuffer;
  histogramSize: number;
  fromFeature: number;
  toFeature: number;
}

/** A histogram helper: waits for a job in shared memory, sums its features, says done; until told to stop. */
function serve(data: HelperData): void {
  const { control } = data;
  const slots = new Map<number, Float64Array>();
  let seen = 0;
  parentPort?.postMessage('ready');
  for (;;) {
    Atomics.wait(control, CONTROL.SEQ, seen);
    const seq = Atomics.load(control, CONTROL.SEQ);
    if (Atomics.load(control, CONTROL.STOP) === 1) return;
    if (seq === seen) continue;
    seen = seq;
    const slot = control[CONTROL.SLOT] as number;
    let hist = slots.get(slot);
    if (!hist) {
      hist = new Float64Array(
        data.histograms,
        slot * data.histogramSize * Float64Array.BYTES_PER_ELEMENT,
        data.histogramSize,
      );
      slots.set(slot, hist);
    }
    const output = control[CONTROL.OUTPUT] as number;
    try {
      buildHistogramFeatures(
        data.bins,
        data.featureCount,
        data.order,
        control[CONTROL.START] as number,
        control[CONTROL.END] as number,
        data.grad[output] as Float32Array,
        data.hess[output] as Float32Array,
        hist,
        data.fromFeature,
        data.toFeature,
      );
    } catch (error) {
      console.error('gbdt histogram helper failed:', error);
      Atomics.store(control, CONTROL.DONE, HELPER_FAILED);
      Atomics.notify(control, CONTROL.DONE);
      return;
    }
    Atomics.store(control, CONTROL.DONE, seq);
    Atomics.notify(control, CONTROL.DONE);
  }
}

serve(workerData as HelperData);
