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
  hist.fill(0);
  const featureStride = BIN_STRIDE * CHANNELS;
  for (let i = start; i < end; i++) {
    const row = order[i] as number;
    const g = grad[row] as number;
    const h = hess[row] as number;
    let b = row * featureCount;
    for (let o = 0; o < featureCount * featureStride; o += featureStride) {
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

/** Reuses histogram buffers across nodes and trees: a tree needs at most one per open leaf. */
export class HistogramPool {
  private readonly free: Float64Array[] = [];
  constructor(private readonly size: number) {}
  take(): Float64Array {
    return this.free.pop() ?? new Float64Array(this.size);
  }
  give(hist: Float64Array): void {
    this.free.push(hist);
  }
}
