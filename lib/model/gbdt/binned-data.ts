import type { Batch, BatchSource } from '../../data/batches';
import { binCounts, binRowsInto, BIN_SAMPLE_ROWS, fitBinThresholds, type BinThresholds } from './bins';
import { addTrees, type Ensemble } from './ensemble';
import type { BinnedRows } from './grow-tree';

/** A split read once into memory as bins (one byte per value), with labels, weights and starting raw scores. */
export interface BinnedSplit extends BinnedRows {
  y: Float32Array;
  weights: Float32Array | undefined;
  /** rows × outputs raw scores of the ensemble training continues from; undefined when it starts from nothing. */
  startScores: Float64Array | undefined;
}

export type RowWeights = (batch: Batch) => Float32Array | undefined;

const READ_BATCH_ROWS = 16_384;

/**
 * Reads the train split: a first pass takes evenly spaced rows (all of them when the split is small) to
 * place the bin thresholds, a second bins every row. Raw values never stay in memory for a large split.
 * `start` (a resumed or warm-started ensemble) is scored on the raw values as they pass.
 */
export async function readBinnedTrain(
  source: BatchSource,
  maxBins: number,
  weightsOf: RowWeights,
  start: Ensemble | undefined,
): Promise<BinnedSplit> {
  const stride = Math.max(1, Math.ceil(source.rows / BIN_SAMPLE_ROWS));
  const sample = await readEvery(source, stride, weightsOf);
  const thresholds = fitBinThresholds(sample.x, sample.rows, source.featureCount, maxBins);
  if (stride === 1) return binInMemory(sample, thresholds, start);
  return readBinned(source, thresholds, weightsOf, start);
}

/** Bins a split with thresholds fitted on another (validation with the train split's). */
export async function readBinned(
  source: BatchSource,
  thresholds: BinThresholds,
  weightsOf: RowWeights,
  start: Ensemble | undefined,
): Promise<BinnedSplit> {
  const featureCount = thresholds.length;
  const bins = sharedBytes(source.rows * featureCount);
  const y = new Float32Array(source.rows);
  let weights: Float32Array | undefined;
  const startScores = start ? new Float64Array(source.rows * start.outputs) : undefined;
  let row = 0;
  for await (const batch of source.batches(READ_BATCH_ROWS)) {
    if (row + batch.rows > source.rows)
      throw new Error(`the split yielded more than the ${source.rows} rows it announced`);
    binRowsInto(batch.x, batch.rows, thresholds, bins, row);
    y.set(batch.y, row);
    const w = weightsOf(batch);
    if (w) (weights ??= new Float32Array(source.rows).fill(1)).set(w, row);
    if (start && startScores) scoreInto(start, batch.x, batch.rows, featureCount, startScores, row);
    row += batch.rows;
  }
  if (row !== source.rows) throw new Error(`the split yielded ${row} rows but announced ${source.rows}`);
  return { bins, rows: row, featureCount, binCounts: binCounts(thresholds), thresholds, y, weights, startScores };
}

interface RawRows {
  x: Float32Array;
  y: Float32Array;
  weights: Float32Array | undefined;
  rows: number;
}

/** Rows 0, stride, 2·stride, … of a split, raw. */
async function readEvery(source: BatchSource, stride: number, weightsOf: RowWeights): Promise<RawRows> {
  const featureCount = source.featureCount;
  const capacity = Math.ceil(source.rows / stride);
  const x = new Float32Array(capacity * featureCount);
  const y = new Float32Array(capacity);
  let weights: Float32Array | undefined;
  let taken = 0;
  let seen = 0;
  for await (const batch of source.batches(READ_BATCH_ROWS)) {
    const w = weightsOf(batch);
    for (let r = (stride - (seen % stride)) % stride; r < batch.rows && taken < capacity; r += stride) {
      x.set(batch.x.subarray(r * featureCount, (r + 1) * featureCount), taken * featureCount);
      y[taken] = batch.y[r] as number;
      if (w) (weights ??= new Float32Array(capacity).fill(1))[taken] = w[r] as number;
      taken++;
    }
    seen += batch.rows;
  }
  return {
    x: x.subarray(0, taken * featureCount),
    y: y.subarray(0, taken),
    weights: weights?.subarray(0, taken),
    rows: taken,
  };
}

function binInMemory(raw: RawRows, thresholds: BinThresholds, start: Ensemble | undefined): BinnedSplit {
  const featureCount = thresholds.length;
  const bins = sharedBytes(raw.rows * featureCount);
  binRowsInto(raw.x, raw.rows, thresholds, bins, 0);
  const startScores = start ? new Float64Array(raw.rows * start.outputs) : undefined;
  if (start && startScores) scoreInto(start, raw.x, raw.rows, featureCount, startScores, 0);
  return {
    bins,
    rows: raw.rows,
    featureCount,
    binCounts: binCounts(thresholds),
    thresholds,
    y: raw.y,
    weights: raw.weights,
    startScores,
  };
}

/** Bins live in shared memory: histogram threads read them in place. */
function sharedBytes(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/** The start ensemble's raw scores of `rows` raw rows, written at row `firstRow` of `scores`. */
function scoreInto(
  start: Ensemble,
  x: Float32Array,
  rows: number,
  featureCount: number,
  scores: Float64Array,
  firstRow: number,
): void {
  const k = start.outputs;
  const part = scores.subarray(firstRow * k, (firstRow + rows) * k);
  for (let r = 0; r < rows; r++) for (let c = 0; c < k; c++) part[r * k + c] = start.baseScores[c] as number;
  addTrees(start, 0, x, rows, featureCount, part);
}
