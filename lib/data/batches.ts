/**
 * The seam between the data stages and the model stages: training and evaluation read a split
 * through the fitted preprocessor as dense batches, never as rows in the JS heap.
 */
export interface Batch {
  /** rows × featureCount, row-major. */
  x: Float32Array;
  /** Classification: the class index as a float; regression: the target. */
  y: Float32Array;
  rows: number;
  /** Per-row loss weights when sampling chose class weights; absent otherwise. */
  weights?: Float32Array;
}

export interface BatchSource {
  featureCount: number;
  /** Feature names in column order (for reports and behavioural tests). */
  featureNames: string[];
  /** Classification: class labels in index order. */
  classes?: string[];
  rows: number;
  /** Streams the split in batches; with `shuffleSeed`, in a seeded order that is the same on every run. */
  batches(batchSize: number, options?: { shuffleSeed?: number }): AsyncIterable<Batch>;
  close(): Promise<void>;
}
