import { epochSecondsOf, writeCalendarFeatures } from './calendar-features';
import { categoryKey } from './column-values';
import { preview } from './identifiers';
import {
  featureWidth,
  targetOutputs,
  type CalendarFeature,
  type CategoryStatisticsFeature,
  type FeatureSpec,
  type HashedFeature,
  type NumericFeature,
  type OneHotFeature,
  type PreprocessorSpec,
  type TargetFolds,
} from './preprocessor-spec';
import { murmurHash3 } from './stable-hash';
import { frequencyValues, targetTables } from './target-encoding';

export type RawValue = number | string | boolean | null;
export type ColumnValues = ArrayLike<RawValue>;

export interface EncodedRows {
  /** rows × featureCount, row-major. */
  x: Float32Array;
  /** Present when the label column was given: class index (classification) or target (regression). */
  y?: Float32Array;
  rows: number;
}

export interface EncodeOptions {
  /**
   * The fold of each row (PreprocessorSpec.folds), given ONLY for the train rows the spec was fitted on
   * (openSplitBatches does it when the split's checksum is fittedOn.sha256): target-encoded columns of
   * those rows then read the statistics of the other folds, never their own label. Every other row —
   * validation, test, serving — is encoded from all train rows, the same way everywhere.
   */
  folds?: ArrayLike<number>;
}

/**
 * THE function that turns raw columns into model inputs — used by training, evaluation and
 * inference alike, so they cannot disagree. Columns are raw values keyed by column name (numbers,
 * booleans, strings, epoch seconds or ISO strings for dates, zone-less meaning UTC; null for missing);
 * extra columns are ignored, a missing feature column is an error.
 */
export function encodeColumns(
  spec: PreprocessorSpec,
  columns: Record<string, ColumnValues>,
  rows: number,
  options: EncodeOptions = {},
): EncodedRows {
  const encoder = compiledEncoder(spec);
  const x = new Float32Array(rows * spec.featureCount);
  const folds = options.folds;
  if (folds !== undefined) checkFolds(spec, folds, rows);
  for (const feature of encoder.features) {
    feature.write(requireColumn(columns, feature.column, rows), rows, x, spec.featureCount, folds);
  }
  const labelValues = Object.hasOwn(columns, spec.label.column) ? columns[spec.label.column] : undefined;
  if (labelValues === undefined) return { x, rows };
  return { x, y: encoder.encodeLabel(requireColumn(columns, spec.label.column, rows), rows), rows };
}

/** A regression prediction back in the target's own units (inverts the standardisation, if any). */
export function decodeTarget(spec: PreprocessorSpec, value: number): number {
  const target = spec.label.target;
  return target ? value * target.scale + target.center : value;
}

/** The number a raw cell stands for, before imputation: NaN when missing or unreadable. */
export function numericValue(value: RawValue | undefined, source: NumericFeature['source']): number {
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  const text = String(value).trim();
  if (text === '') return Number.NaN;
  if (source === 'epoch-seconds') return epochSecondsOf(text);
  if (source === 'boolean') return text === 'true' ? 1 : text === 'false' ? 0 : Number.NaN;
  return Number(text);
}

/** The transformed value of a numeric feature, after imputation, log1p and scaling. */
export function encodeNumber(feature: NumericFeature, value: RawValue | undefined): number {
  let v = numericValue(value, feature.source);
  if (!Number.isFinite(v)) v = feature.impute;
  if (feature.log1p) v = Math.log1p(Math.max(v, 0));
  return (v - feature.center) / feature.scale;
}

interface CompiledFeature {
  column: string;
  write(values: ColumnValues, rows: number, x: Float32Array, stride: number, folds?: ArrayLike<number>): void;
}

interface CompiledEncoder {
  features: CompiledFeature[];
  encodeLabel(values: ColumnValues, rows: number): Float32Array;
}

const compiled = new WeakMap<PreprocessorSpec, CompiledEncoder>();

function compiledEncoder(spec: PreprocessorSpec): CompiledEncoder {
  let encoder = compiled.get(spec);
  if (!encoder) {
    encoder = compile(spec);
    compiled.set(spec, encoder);
  }
  return encoder;
}

function compile(spec: PreprocessorSpec): CompiledEncoder {
  let offset = 0;
  const features = spec.features.map((feature) => {
    const compiledFeature = compileFeature(feature, offset, spec.folds);
    offset += featureWidth(feature, targetOutputs(spec));
    return compiledFeature;
  });
  if (offset !== spec.featureCount)
    throw new Error(
      `Preprocessor spec is inconsistent: features are ${offset} wide, featureCount says ${spec.featureCount}`,
    );
  return { features, encodeLabel: compileLabel(spec) };
}

function compileFeature(feature: FeatureSpec, offset: number, folds: TargetFolds | undefined): CompiledFeature {
  switch (feature.kind) {
    case 'numeric':
      return compileNumeric(feature, offset);
    case 'one-hot':
      return compileOneHot(feature, offset);
    case 'hashed':
      return compileHashed(feature, offset);
    case 'calendar':
      return compileCalendar(feature, offset);
    case 'category-statistics':
      return compileCategoryStatistics(feature, offset, folds);
  }
}

function compileCalendar(feature: CalendarFeature, offset: number): CompiledFeature {
  const { parts } = feature;
  return {
    column: feature.column,
    write(values, rows, x, stride) {
      for (let r = 0; r < rows; r += 1) writeCalendarFeatures(epochSecondsOf(values[r]), parts, x, r * stride + offset);
    },
  };
}

function compileCategoryStatistics(
  feature: CategoryStatisticsFeature,
  offset: number,
  folds: TargetFolds | undefined,
): CompiledFeature {
  const index = new Map(feature.categories.map((c, i) => [c, i]));
  const rare = feature.categories.length;
  const frequency = feature.frequency;
  const scaledFrequency = frequency
    ? Float32Array.from(frequencyValues(feature), (v) => (v - frequency.center) / frequency.scale)
    : undefined;
  const tables = feature.target && folds ? targetTables(feature, folds) : undefined;
  const targetOffset = offset + (scaledFrequency ? 1 : 0);
  const k = folds?.k ?? 1;
  return {
    column: feature.column,
    write(values, rows, x, stride, rowFolds) {
      for (let r = 0; r < rows; r += 1) {
        const key = categoryKey(values[r]) ?? feature.impute;
        const c = index.get(key) ?? rare;
        if (scaledFrequency) x[r * stride + offset] = scaledFrequency[c] as number;
        if (!tables) continue;
        const { outputs } = tables;
        const from = rowFolds === undefined ? c * outputs : (c * k + (rowFolds[r] as number)) * outputs;
        const table = rowFolds === undefined ? tables.full : tables.outOfFold;
        for (let o = 0; o < outputs; o += 1) x[r * stride + targetOffset + o] = table[from + o] as number;
      }
    },
  };
}

function checkFolds(spec: PreprocessorSpec, folds: ArrayLike<number>, rows: number): void {
  const k = spec.folds?.k;
  if (k === undefined) throw new Error('Folds were given, but this preprocessor has no target-encoded column');
  if (folds.length < rows) throw new Error(`${folds.length} folds were given for ${rows} rows`);
  for (let r = 0; r < rows; r += 1) {
    const f = folds[r] as number;
    if (!Number.isInteger(f) || f < 0 || f >= k) throw new Error(`Row ${r} has fold ${f}, outside 0..${k - 1}`);
  }
}

function compileNumeric(feature: NumericFeature, offset: number): CompiledFeature {
  const { impute, log1p, center, scale, source } = feature;
  return {
    column: feature.column,
    // encodeNumber, inlined for the common case of a plain number (this loop runs once per cell).
    write(values, rows, x, stride) {
      for (let r = 0; r < rows; r += 1) {
        const value = values[r];
        let v = typeof value === 'number' ? value : numericValue(value, source);
        if (!Number.isFinite(v)) v = impute;
        if (log1p) v = Math.log1p(v > 0 ? v : 0);
        x[r * stride + offset] = (v - center) / scale;
      }
    },
  };
}

function compileOneHot(feature: OneHotFeature, offset: number): CompiledFeature {
  const index = new Map(feature.categories.map((c, i) => [c, i]));
  const unseen = feature.categories.length;
  return {
    column: feature.column,
    write(values, rows, x, stride) {
      for (let r = 0; r < rows; r += 1) {
        const key = categoryKey(values[r]) ?? feature.impute;
        x[r * stride + offset + (index.get(key) ?? unseen)] = 1;
      }
    },
  };
}

const HASH_CACHE_LIMIT = 65_536;

function compileHashed(feature: HashedFeature, offset: number): CompiledFeature {
  const cache = new Map<string, number>();
  const bucketOf = (key: string) => {
    let bucket = cache.get(key);
    if (bucket === undefined) {
      bucket = murmurHash3(key, feature.seed) % feature.buckets;
      if (cache.size < HASH_CACHE_LIMIT) cache.set(key, bucket);
    }
    return bucket;
  };
  return {
    column: feature.column,
    write(values, rows, x, stride) {
      for (let r = 0; r < rows; r += 1) {
        x[r * stride + offset + bucketOf(categoryKey(values[r]) ?? feature.impute)] = 1;
      }
    },
  };
}

function compileLabel(spec: PreprocessorSpec): (values: ColumnValues, rows: number) => Float32Array {
  const { column, classes, target } = spec.label;
  if (spec.task !== 'regression') {
    const index = new Map((classes ?? []).map((c, i) => [c, i]));
    return (values, rows) => {
      const y = new Float32Array(rows);
      for (let r = 0; r < rows; r += 1) {
        const key = categoryKey(values[r]);
        const i = key === null ? undefined : index.get(key);
        if (i === undefined) {
          throw new Error(
            `Label "${preview(column)}" in row ${r} is ${JSON.stringify(values[r])}, not one of the classes the preprocessor knows (${(classes ?? []).slice(0, 10).join(', ')})`,
          );
        }
        y[r] = i;
      }
      return y;
    };
  }
  const center = target?.center ?? 0;
  const scale = target?.scale ?? 1;
  return (values, rows) => {
    const y = new Float32Array(rows);
    for (let r = 0; r < rows; r += 1) {
      const v = numericValue(values[r], spec.label.source);
      if (!Number.isFinite(v))
        throw new Error(`Label "${preview(column)}" in row ${r} is ${JSON.stringify(values[r])}, not a finite number`);
      y[r] = (v - center) / scale;
    }
    return y;
  };
}

function requireColumn(columns: Record<string, ColumnValues>, column: string, rows: number): ColumnValues {
  const values = Object.hasOwn(columns, column) ? columns[column] : undefined;
  if (values === undefined)
    throw new Error(
      `Column "${preview(column)}" is missing: the preprocessor encodes it, so every input must carry it`,
    );
  if (values.length < rows)
    throw new Error(`Column "${preview(column)}" has ${values.length} values, fewer than the ${rows} rows to encode`);
  return values;
}
