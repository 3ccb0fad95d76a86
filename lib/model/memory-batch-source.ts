import type { Batch, BatchSource } from '../data/batches';

export interface MemoryBatchSourceInit {
  /** rows × featureCount, row-major. */
  x: Float32Array;
  y: Float32Array;
  featureCount: number;
  featureNames?: string[];
  classes?: string[];
  weights?: Float32Array;
}

/**
 * A BatchSource over arrays already in memory: for tests, benchmarks and small in-process scoring.
 * Shuffling permutes row order with a seeded Fisher–Yates, the same order for the same seed.
 */
export function memoryBatchSource(init: MemoryBatchSourceInit): BatchSource {
  const rows = init.y.length;
  if (init.x.length !== rows * init.featureCount) {
    throw new Error(`x has ${init.x.length} values; expected rows × featureCount = ${rows} × ${init.featureCount}`);
  }
  const { featureCount } = init;
  return {
    featureCount,
    featureNames: init.featureNames ?? Array.from({ length: featureCount }, (_, i) => `f${i}`),
    ...(init.classes ? { classes: init.classes } : {}),
    rows,
    async *batches(batchSize: number, options: { shuffleSeed?: number } = {}): AsyncIterable<Batch> {
      const order = options.shuffleSeed === undefined ? undefined : seededPermutation(rows, options.shuffleSeed);
      for (let start = 0; start < rows; start += batchSize) {
        const n = Math.min(batchSize, rows - start);
        if (!order) {
          yield {
            x: init.x.subarray(start * featureCount, (start + n) * featureCount),
            y: init.y.subarray(start, start + n),
            rows: n,
            ...(init.weights ? { weights: init.weights.subarray(start, start + n) } : {}),
          };
          continue;
        }
        const x = new Float32Array(n * featureCount);
        const y = new Float32Array(n);
        const weights = init.weights ? new Float32Array(n) : undefined;
        for (let i = 0; i < n; i++) {
          const row = order[start + i] as number;
          // A plain loop: a subarray view per row costs more than copying a few dozen floats.
          const from = row * featureCount;
          const to = i * featureCount;
          for (let f = 0; f < featureCount; f++) x[to + f] = init.x[from + f] as number;
          y[i] = init.y[row] as number;
          if (weights) weights[i] = (init.weights as Float32Array)[row] as number;
        }
        yield { x, y, rows: n, ...(weights ? { weights } : {}) };
      }
    },
    async close() {},
  };
}

export function seededPermutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}

/** A small, fast 32-bit PRNG: enough for shuffling, not for anything secret. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
