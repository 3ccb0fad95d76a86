import { createSeededRandom } from '../data/seeded-random';
import type { DirectionalMeasurement, InvarianceMeasurement } from './gate';
import { numericValues } from './slices';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * Behavioural tests (DMLS ch. 6, after CheckList): perturb the raw test columns, push them through the
 * same preprocessor and model, and see how the predictions move. Perturbing raw columns (not features)
 * means a column the preprocessor drops is, correctly, found to have no effect.
 */

export type RawColumns = Record<string, readonly unknown[]>;
/** Raw columns in, model outputs out (encode with the run's preprocessor, then predict). */
export type PredictColumns = (columns: RawColumns) => Promise<Float32Array>;

/**
 * Shuffles `column` across rows (seeded) and measures |output after − output before| per row; for
 * multiclass, the largest change of any class probability. The gate judges the mean; the max is reported.
 */
export async function measureInvariance(args: {
  columns: RawColumns;
  column: string;
  epsilon: number;
  task: TaskType;
  classCount: number;
  baseline: Float32Array;
  predict: PredictColumns;
  seed: number;
}): Promise<InvarianceMeasurement> {
  const values = args.columns[args.column] ?? [];
  const shuffled = shuffleSeeded(values, args.seed);
  const after = await args.predict({ ...args.columns, [args.column]: shuffled });
  const width = args.task === 'multiclass' ? args.classCount : 1;
  const change = perRowAbsChange(args.baseline, after, width);
  return {
    column: args.column,
    epsilon: args.epsilon,
    perturbation: 'shuffled across rows',
    rows: change.length,
    meanAbsChange: mean(change),
    maxAbsChange: change.reduce((m, v) => Math.max(m, v), 0),
  };
}

/**
 * Raises every present value of a numeric column by one standard deviation (1 for a constant column) and
 * measures the change of the score: P(positive) for binary, the value for regression. Multiclass has no
 * single score and is reported as not run.
 */
export async function measureDirectional(args: {
  columns: RawColumns;
  column: string;
  direction: 'increase' | 'decrease';
  task: TaskType;
  baseline: Float32Array;
  predict: PredictColumns;
}): Promise<DirectionalMeasurement> {
  const rows = args.baseline.length;
  const base = { column: args.column, direction: args.direction };
  if (args.task === 'multiclass') {
    return {
      ...base,
      rows,
      note: 'a multiclass model has no single score to move (binary: P(positive); regression: the value)',
    };
  }
  const numbers = numericValues(args.columns[args.column] ?? []);
  if (!numbers) return { ...base, rows, note: 'the column has no numeric values' };
  const delta = standardDeviation(numbers) || 1;
  const raised = numbers.map((v) => (Number.isNaN(v) ? null : v + delta));
  const after = await args.predict({ ...args.columns, [args.column]: raised });
  let sum = 0;
  let wrongWay = 0;
  const expectedSign = args.direction === 'increase' ? 1 : -1;
  for (let i = 0; i < rows; i++) {
    const change = (after[i] as number) - (args.baseline[i] as number);
    sum += change;
    if (expectedSign * change < 0) wrongWay++;
  }
  return {
    ...base,
    delta,
    rows,
    meanChange: rows === 0 ? 0 : sum / rows,
    wrongWayShare: rows === 0 ? 0 : wrongWay / rows,
  };
}

export function shuffleSeeded<T>(values: readonly T[], seed: number): T[] {
  const random = createSeededRandom(seed);
  const result = values.slice();
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}

/** Per row, the largest |after − before| across the row's `width` outputs. */
export function perRowAbsChange(before: Float32Array, after: Float32Array, width: number): Float64Array {
  if (before.length !== after.length)
    throw new RangeError(
      `outputs before (${before.length}) and after (${after.length}) the perturbation differ in length`,
    );
  const rows = before.length / width;
  const change = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let largest = 0;
    for (let c = 0; c < width; c++)
      largest = Math.max(largest, Math.abs((after[r * width + c] as number) - (before[r * width + c] as number)));
    change[r] = largest;
  }
  return change;
}

function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** Population standard deviation of the present (non-NaN) values. */
export function standardDeviation(values: readonly number[]): number {
  const present = values.filter((v) => !Number.isNaN(v));
  if (present.length === 0) return 0;
  const m = mean(present);
  return Math.sqrt(mean(present.map((v) => (v - m) * (v - m))));
}
