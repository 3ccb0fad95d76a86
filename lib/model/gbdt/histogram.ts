/**
 * Gradient histograms: per feature and bin, the sums of gradient and hessian and the row count, as
 * float64 triples at (feature × 256 + bin) × 3. A node's split search reads only its histogram; the
 * larger child's histogram is the parent's minus the smaller child's, so each split scans the rows of the
 * smaller child only.
 */
export const BIN_STRIDE = 256;
export const CHANNELS = 3;

export function histogramSize(featureCount: number): number {
  return featureCount * BIN_STRIDE * CHANNELS;
}

/** Sums rows order[start, end) of row-major `bins` into `hist` (overwritten). */
export function buildHistogram(
  bins: Uint8Array,
  featureCount: number,
  order: Uint32Array,
  start: number,
  end: number,
  grad: Float32Array,
  hess: Float32Array,
  hist: Float64Array,
): void {
  buildHistogramFeatures(bins, featureCount, order, start, end, grad, hess, hist, 0, featureCount);
}

/** buildHistogram for features [fromFeature, toFeature) only: one thread's share when threads split the features. */
export function buildHistogramFeatures(
  bins: Uint8Array,
  featureCount: number,
  order: Uint32Array,
  start: number,
  end: number,
  grad: Float32Array,
  hess: Float32Array,
  hist: Float64Array,
  fromFeature: number,
  toFeature: number,
): void {
  const featureStride = BIN_STRIDE * CHANNELS;
  hist.fill(0, fromFeature * featureStride, toFeature * featureStride);
  const from = fromFeature * featureStride;
  const to = toFeature * featureStride;
  for (let i = start; i < end; i++) {
    const row = order[i] as number;
    const g = grad[row] as number;
    const h = hess[row] as number;
    let b = row * featureCount + fromFeature;
    for (let o = from; o < to; o += featureStride) {
      const j = o + (bins[b++] as number) * CHANNELS;
      hist[j] = (hist[j] as number) + g;
      hist[j + 1] = (hist[j + 1] as number) + h;
      hist[j + 2] = (hist[j + 2] as number) + 1;
    }
  }
}

/** parent −= child, in place: what is left is the sibling's histogram. */
export function subtractHistogram(parent: Float64Array, child: Float64Array): void {
  for (let i = 0; i < parent.length; i++) parent[i] = (parent[i] as number) - (child[i] as number);
}

/**
 * Histogram buffers for one tree at a time: at most one per open leaf plus the child being built, so
 * `slots` = maxLeafNodes + 1 always suffices. They live in one SharedArrayBuffer, so histogram threads
 * can fill them; a buffer's slot is its offset.
 */
export class HistogramPool {
  readonly buffer: SharedArrayBuffer;
  private readonly free: Float64Array[] = [];
  constructor(
    readonly size: number,
    slots: number,
  ) {
    this.buffer = new SharedArrayBuffer(size * slots * Float64Array.BYTES_PER_ELEMENT);
    for (let slot = slots - 1; slot >= 0; slot--)
      this.free.push(new Float64Array(this.buffer, slot * size * Float64Array.BYTES_PER_ELEMENT, size));
  }
  take(): Float64Array {
    const hist = this.free.pop();
    if (!hist) throw new Error('out of histogram slots: a tree holds at most maxLeafNodes + 1 histograms at once');
    return hist;
  }
  give(hist: Float64Array): void {
    this.free.push(hist);
  }
  slotOf(hist: Float64Array): number {
    return hist.byteOffset / (this.size * Float64Array.BYTES_PER_ELEMENT);
  }
}
