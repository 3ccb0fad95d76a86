import type { z } from 'zod';
import type { PreprocessConfig } from '../../contracts/stage-config';
import { CALENDAR_PARTS, calendarDistinctSql, type CalendarPart } from './calendar-features';
import { categoryKey, valueExpression, valueSourceOf, type ValueSource } from './column-values';
import type { DuckDbSession, SqlValue } from './duckdb';
import { invalidConfig } from './failures';
import { preview, quoteIdentifier } from './identifiers';
import {
  featureOutputNames,
  PREPROCESSOR_SPEC_VERSION,
  PreprocessorSpec,
  targetOutputs,
  type CalendarFeature,
  type CategoryStatisticsFeature,
  type FeatureSpec,
  type HashedFeature,
  type NumericFeature,
  type OneHotFeature,
  type TargetFolds,
} from './preprocessor-spec';
import { classCounts } from './sampling';
import { fitCategoryStatistics, fitTargetFolds } from './target-encoding';
import type { TaskType } from '../../contracts/pipeline-input';

export { decodeTarget, encodeColumns, type ColumnValues, type EncodedRows } from './encode-columns';
export { PreprocessorSpec } from './preprocessor-spec';

export type PreprocessSettings = z.output<typeof PreprocessConfig>;

/** The seed of the hashing trick's murmurHash3. Fixed: changing it would move every hashed category. */
export const HASHING_SEED = 0;

export interface FitRequest {
  /** A relation holding the TRAIN split only (a quoted table, or a `read_parquet(...)` call). */
  relation: string;
  /** Parameters the relation needs, e.g. the Parquet path; bound before the fit's own. */
  relationParams?: SqlValue[];
  /** The relation's columns with their DuckDB types (from DESCRIBE). */
  columns: { name: string; duckdbType: string }[];
  labelColumn: string;
  taskType: TaskType;
  config: PreprocessSettings;
  /** Classification: the class keys of the whole dataset (from the split manifest); default: those in train. */
  classes?: string[];
  /** Columns to leave out besides config.exclude, with the reason (e.g. the source of a derived label). */
  alsoExclude?: { column: string; reason: string }[];
  /** The split's time column when the split is by time: its raw value is left out unless preprocess.rawTimestamps asks for it. */
  timeColumn?: string;
  /** The model that will train on the features: oneHotMaxCardinality "auto" depends on it. Default "mlp". */
  model?: 'logistic' | 'mlp' | 'gbdt';
  fittedOn?: { uri?: string; sha256?: string };
}

/**
 * Fits the preprocessor on the train split — every statistic (medians, means, modes, scales,
 * categories) comes from the relation given, which must hold train rows only — and returns the
 * JSON-serialisable spec that `encodeColumns` applies everywhere.
 */
export async function fitPreprocessor(session: DuckDbSession, request: FitRequest): Promise<PreprocessorSpec> {
  const { config, columns } = request;
  const names = new Set(columns.map((c) => c.name));
  if (!names.has(request.labelColumn))
    throw invalidConfig('task.label', `the train split has no label column "${preview(request.labelColumn)}"`);
  const sourceOf = new Map(columns.map((c) => [c.name, valueSourceOf(c.duckdbType)]));
  config.logTransform.forEach((column, i) => {
    if (!names.has(column))
      throw invalidConfig(`preprocess.logTransform.${i}`, `column "${preview(column)}" is not in the dataset`);
    if (sourceOf.get(column) !== 'number')
      throw invalidConfig(
        `preprocess.logTransform.${i}`,
        `column "${preview(column)}" is not numeric, so log1p cannot apply`,
      );
  });

  const notes: string[] = [];
  const excluded: { column: string; reason: string }[] = [{ column: request.labelColumn, reason: 'label' }];
  for (const column of config.exclude) {
    if (names.has(column)) excluded.push({ column, reason: 'preprocess.exclude' });
    else notes.push(`preprocess.exclude names "${preview(column)}", which is not in the dataset.`);
  }
  for (const extra of request.alsoExclude ?? []) {
    if (names.has(extra.column) && !excluded.some((e) => e.column === extra.column)) excluded.push(extra);
  }
  const excludedNames = new Set(excluded.map((e) => e.column));
  const featureColumns = columns.filter((c) => !excludedNames.has(c.name));

  const rows = await scalar<number>(
    session,
    `SELECT count(*) AS v FROM ${request.relation}`,
    request.relationParams ?? [],
  );
  const labelSource = sourceOf.get(request.labelColumn) as ValueSource;
  const label =
    request.taskType === 'regression'
      ? { column: request.labelColumn, source: labelSource, target: await fitTarget(session, request, labelSource) }
      : { column: request.labelColumn, source: labelSource, classes: await fitClasses(session, request, labelSource) };

  const timeColumns = featureColumns.filter((c) => sourceOf.get(c.name) === 'epoch-seconds');
  const calendars = config.calendarFeatures
    ? await fitCalendars(session, request, timeColumns, notes)
    : new Map<string, CalendarFeature>();
  const rawTimes = new Set<string>();
  for (const c of timeColumns) {
    const raw = config.rawTimestamps;
    const asked =
      raw === true || (raw === 'auto' && c.name !== request.timeColumn) || (Array.isArray(raw) && raw.includes(c.name));
    if (asked) rawTimes.add(c.name);
    else if (c.name === request.timeColumn) {
      excluded.push({
        column: c.name,
        reason: `raw value left out: it is the split's time column, so every test time lies after every train time and its raw value could only extrapolate${calendars.has(c.name) ? ' (its calendar features are used)' : ''}; preprocess.rawTimestamps adds it`,
      });
    } else if (!calendars.has(c.name)) {
      excluded.push({
        column: c.name,
        reason:
          'a date or timestamp without calendar features that vary in train; preprocess.rawTimestamps adds its raw value',
      });
    } else {
      notes.push(
        `Column "${preview(c.name)}" enters as calendar features; its raw value (epoch seconds) is left out (preprocess.rawTimestamps adds it).`,
      );
    }
  }
  if (Array.isArray(config.rawTimestamps)) {
    config.rawTimestamps.forEach((column, i) => {
      if (!names.has(column))
        throw invalidConfig(`preprocess.rawTimestamps.${i}`, `column "${preview(column)}" is not in the dataset`);
      if (sourceOf.get(column) !== 'epoch-seconds')
        throw invalidConfig(`preprocess.rawTimestamps.${i}`, `column "${preview(column)}" is not a date or timestamp`);
    });
  }

  const numericColumns = featureColumns.filter(
    (c) => sourceOf.get(c.name) === 'number' || sourceOf.get(c.name) === 'boolean' || rawTimes.has(c.name),
  );
  const numeric = await fitNumeric(
    session,
    request,
    numericColumns.map((c) => ({ column: c.name, source: sourceOf.get(c.name) as ValueSource })),
    rows,
    notes,
  );
  const textColumns = featureColumns.filter((c) => sourceOf.get(c.name) === 'string');
  const folds = await planFolds(
    session,
    request,
    textColumns.map((c) => c.name),
    label,
    notes,
  );
  const categorical = new Map<string, OneHotFeature | HashedFeature | CategoryStatisticsFeature>();
  for (const c of textColumns)
    categorical.set(c.name, await fitCategorical(session, request, c.name, folds, label, notes));
  const features: FeatureSpec[] = featureColumns.flatMap((c) =>
    [calendars.get(c.name), numeric.get(c.name), categorical.get(c.name)].filter(
      (f): f is FeatureSpec => f !== undefined,
    ),
  );
  const usesFolds = features.some((f) => f.kind === 'category-statistics' && f.target !== undefined);

  const classes = request.taskType === 'multiclass' ? label.classes : undefined;
  const featureNames = features.flatMap((f) => featureOutputNames(f, classes));
  return PreprocessorSpec.parse({
    version: PREPROCESSOR_SPEC_VERSION,
    task: request.taskType,
    label,
    features,
    featureNames,
    featureCount: featureNames.length,
    excluded,
    notes,
    fittedOn: { split: 'train', rows, ...(request.fittedOn ?? {}) },
    ...(usesFolds && folds ? { folds } : {}),
  });
}

/** Which calendar parts vary in train, per date or timestamp column (a DATE has no time of day). */
async function fitCalendars(
  session: DuckDbSession,
  request: FitRequest,
  columns: { name: string; duckdbType: string }[],
  notes: string[],
): Promise<Map<string, CalendarFeature>> {
  const fitted = new Map<string, CalendarFeature>();
  if (columns.length === 0) return fitted;
  const distinct =
    (
      await session.all<Record<string, number>>(
        `SELECT ${columns.map((c, i) => calendarDistinctSql(finiteNumber(c.name, 'epoch-seconds'), `c${i}`)).join(', ')} FROM ${request.relation}`,
        request.relationParams ?? [],
      )
    )[0] ?? {};
  const alias: Record<CalendarPart, string> = {
    hour: 'hour',
    'day-of-week': 'dow',
    'day-of-month': 'dom',
    month: 'month',
  };
  columns.forEach((c, i) => {
    const isDate = c.duckdbType.toUpperCase() === 'DATE';
    const parts = CALENDAR_PARTS.filter(
      (part) => !(isDate && part === 'hour') && Number(distinct[`c${i}_${alias[part]}`] ?? 0) >= 2,
    );
    const skipped = CALENDAR_PARTS.filter((part) => !parts.includes(part) && !(isDate && part === 'hour'));
    if (skipped.length > 0)
      notes.push(
        `Column "${preview(c.name)}": ${skipped.join(', ')} ${skipped.length === 1 ? 'is' : 'are'} constant in train, so left out of its calendar features.`,
      );
    if (parts.length > 0) fitted.set(c.name, { kind: 'calendar', column: c.name, source: 'epoch-seconds', parts });
  });
  return fitted;
}

/**
 * The folds of out-of-fold target encoding, when some text column will be target-encoded, with the
 * label's totals per fold. The fold hashes every column but the label (and the label's source), so exact
 * duplicates — oversampled rows too — share a fold.
 */
async function planFolds(
  session: DuckDbSession,
  request: FitRequest,
  textColumns: string[],
  label: { column: string; source: ValueSource; classes?: string[] },
  notes: string[],
): Promise<TargetFolds | undefined> {
  const { config } = request;
  if (
    textColumns.length === 0 ||
    (config.highCardinality !== 'target' && config.highCardinality !== 'target-and-frequency')
  )
    return undefined;
  if (label.source === 'string' && request.taskType === 'regression') return undefined;
  // A row's fold must not depend on its label, or flipping a label could move the row (and so its encoding).
  const labelSources = new Set([label.column, ...(request.alsoExclude ?? []).map((e) => e.column)]);
  const foldColumns = request.columns.map((c) => c.name).filter((name) => !labelSources.has(name));
  if (foldColumns.length === 0) return undefined;
  const folds = await fitTargetFolds(
    session,
    { relation: request.relation, params: request.relationParams ?? [] },
    { k: config.targetEncoding.folds, columns: foldColumns },
    {
      column: label.column,
      source: label.source,
      ...(label.classes ? { classes: label.classes } : {}),
      outputs: targetOutputs({ task: request.taskType, label }),
    },
  );
  if (folds.rows.some((n) => n === 0))
    notes.push(
      `Target encoding: a fold of the ${config.targetEncoding.folds} holds no train row (too few rows); those rows' encodings fall back on the prior.`,
    );
  return folds;
}

/** The finite value of a numeric, boolean or date column as DOUBLE; NULL when missing, NaN or ±Infinity. */
function finiteNumber(column: string, source: ValueSource): string {
  const expression =
    source === 'boolean' ? `CAST(${quoteIdentifier(column)} AS DOUBLE)` : valueExpression(column, source);
  return `(CASE WHEN isfinite(${expression}) THEN ${expression} END)`;
}

async function fitNumeric(
  session: DuckDbSession,
  request: FitRequest,
  columns: { column: string; source: ValueSource }[],
  rows: number,
  notes: string[],
): Promise<Map<string, NumericFeature>> {
  const fitted = new Map<string, NumericFeature>();
  if (columns.length === 0) return fitted;
  const { config } = request;
  const base = request.relationParams ?? [];
  const first = firstParam(base);

  // Pass 1: counts, means and negatives of the raw finite values; one exact median per column (a
  // column at a time keeps DuckDB's quantile state to one column's values).
  const stats = await session.all<Record<string, number | null>>(
    `SELECT ${columns
      .map(({ column, source }, i) => {
        const v = finiteNumber(column, source);
        return `count(${v}) AS c${i}, avg(${v}) AS m${i}, count(*) FILTER (WHERE ${v} < 0) AS neg${i}`;
      })
      .join(', ')} FROM ${request.relation}`,
    base,
  );
  const row = stats[0] ?? {};
  const medians: (number | null)[] = [];
  for (const { column, source } of columns) {
    medians.push(
      await scalar<number | null>(
        session,
        `SELECT median(${finiteNumber(column, source)}) AS v FROM ${request.relation}`,
        base,
      ),
    );
  }

  const imputes = columns.map(({ column }, i) => {
    const mean = row[`m${i}`] ?? null;
    const median = medians[i] ?? null;
    if ((row[`c${i}`] ?? 0) === 0) {
      notes.push(
        `Column "${preview(column)}" has no finite value in train; it is imputed with ${config.impute.numericConstant} everywhere.`,
      );
      return config.impute.numericConstant;
    }
    switch (config.impute.numeric) {
      case 'median':
        return median as number;
      case 'mean':
        return mean as number;
      case 'constant':
        return config.impute.numericConstant;
    }
  });
  const logged = columns.map(({ column }) => config.logTransform.includes(column));

  // Pass 2: center and scale of the values the model will see (imputed, then log1p'd).
  const transformed = columns.map(({ column, source }, i) => {
    const imputed = `coalesce(${finiteNumber(column, source)}, CAST(${`$${first + i}`} AS DOUBLE))`;
    return logged[i] ? `ln(1 + greatest(${imputed}, 0))` : imputed;
  });
  const scaling = config.standardize
    ? ((
        await session.all<Record<string, number | null>>(
          `SELECT ${transformed.map((t, i) => `avg(${t}) AS a${i}, stddev_pop(${t}) AS s${i}`).join(', ')} FROM ${request.relation}`,
          [...base, ...imputes],
        )
      )[0] ?? {})
    : {};

  columns.forEach(({ column, source }, i) => {
    const negative = row[`neg${i}`] ?? 0;
    if (logged[i] && negative > 0) {
      notes.push(`Column "${preview(column)}": ${negative} negative train values are clamped to 0 before log1p.`);
    }
    let center = 0;
    let scale = 1;
    if (config.standardize) {
      center = scaling[`a${i}`] ?? 0;
      const std = scaling[`s${i}`] ?? 0;
      if (std > 1e-12 && Number.isFinite(std)) scale = std;
      else notes.push(`Column "${preview(column)}" is constant in train; it is centred but not scaled.`);
    }
    fitted.set(column, {
      kind: 'numeric',
      column,
      source,
      impute: imputes[i] as number,
      log1p: logged[i] as boolean,
      center,
      scale,
      statistics: {
        count: row[`c${i}`] ?? 0,
        missing: rows - (row[`c${i}`] ?? 0),
        mean: row[`m${i}`] ?? null,
        median: medians[i] ?? null,
        negative,
      },
    });
  });
  return fitted;
}

/**
 * One-hot when the train split has at most oneHotMaxCardinality categories (the imputed constant
 * included); beyond it, preprocess.highCardinality: target and/or frequency encoding (rare categories
 * pooled), or the hashing trick with buckets sized to the column.
 */
async function fitCategorical(
  session: DuckDbSession,
  request: FitRequest,
  column: string,
  folds: TargetFolds | undefined,
  label: { column: string; source: ValueSource; classes?: string[] },
  notes: string[],
): Promise<OneHotFeature | HashedFeature | CategoryStatisticsFeature> {
  const { config } = request;
  const base = request.relationParams ?? [];
  const key = valueExpression(column, 'string');
  const counts = (
    await session.all<{ missing: number; present: number; distinct: number }>(
      `SELECT count(*) FILTER (WHERE k IS NULL) AS missing, count(k) AS present, count(DISTINCT k) AS "distinct" FROM (SELECT ${key} AS k FROM ${request.relation})`,
      base,
    )
  )[0] ?? { missing: 0, present: 0, distinct: 0 };
  const maxCardinality = oneHotLimit(config.oneHotMaxCardinality, request.model ?? 'mlp');
  const limit = maxCardinality + 1;
  const top = await session.all<{ k: string; n: number }>(
    `SELECT k, count(*) AS n FROM (SELECT ${key} AS k FROM ${request.relation}) WHERE k IS NOT NULL GROUP BY k ORDER BY n DESC, k LIMIT ${limit}`,
    base,
  );
  const mode = top[0]?.k;
  const useConstant = config.impute.categorical === 'constant' || mode === undefined;
  if (mode === undefined)
    notes.push(
      `Column "${preview(column)}" has no value in train; it is imputed with "${config.impute.categoricalConstant}".`,
    );
  const impute = useConstant ? config.impute.categoricalConstant : (mode as string);
  const categories = new Set(top.map((t) => categoryKey(t.k) as string));
  if (counts.missing > 0) categories.add(impute);

  if (counts.distinct < limit && categories.size <= maxCardinality) {
    return { kind: 'one-hot', column, source: 'string', impute, categories: [...categories].sort(compareCodeUnits) };
  }
  const idLike = counts.present >= 100 && counts.distinct >= 0.95 * counts.present;
  if (idLike)
    notes.push(
      `Column "${preview(column)}" has a different value in almost every train row (${counts.distinct} of ${counts.present}): an identifier? Consider preprocess.exclude.`,
    );
  if (config.highCardinality === 'hash') {
    const buckets =
      config.hashBuckets === 'auto'
        ? autoHashBuckets(counts.distinct + (counts.missing > 0 ? 1 : 0))
        : config.hashBuckets;
    return { kind: 'hashed', column, source: 'string', impute, buckets, seed: HASHING_SEED, distinct: counts.distinct };
  }
  const target = config.highCardinality !== 'frequency' && folds !== undefined;
  return fitCategoryStatistics(session, {
    source: { relation: request.relation, params: base },
    column,
    impute,
    rareMinCount: config.rareMinCount,
    frequency: config.highCardinality !== 'target',
    ...(target
      ? {
          target: {
            smoothing: config.targetEncoding.smoothing,
            folds,
            label: {
              column: label.column,
              source: label.source,
              ...(label.classes ? { classes: label.classes } : {}),
              outputs: folds.outputs,
            },
          },
        }
      : {}),
  });
}

/** Hash buckets for a column of `distinct` categories: the next power of two at or above it, within [2, 4096]. */
export function autoHashBuckets(distinct: number): number {
  let buckets = 2;
  while (buckets < distinct && buckets < 4096) buckets *= 2;
  return buckets;
}

async function fitClasses(session: DuckDbSession, request: FitRequest, source: ValueSource): Promise<string[]> {
  if (request.classes && request.classes.length > 0) return [...request.classes].sort(compareCodeUnits);
  const counts = await classCounts(
    session,
    request.relation,
    valueExpression(request.labelColumn, source),
    request.relationParams ?? [],
  );
  return Object.keys(counts).sort(compareCodeUnits);
}

async function fitTarget(
  session: DuckDbSession,
  request: FitRequest,
  source: ValueSource,
): Promise<{ standardized: boolean; center: number; scale: number }> {
  if (source === 'string')
    throw invalidConfig(
      'task.type',
      `regression needs a numeric label, but "${preview(request.labelColumn)}" holds text`,
    );
  if (!request.config.standardizeTarget) return { standardized: false, center: 0, scale: 1 };
  const v = finiteNumber(request.labelColumn, source);
  const row = (
    await session.all<{ a: number | null; s: number | null }>(
      `SELECT avg(${v}) AS a, stddev_pop(${v}) AS s FROM ${request.relation}`,
      request.relationParams ?? [],
    )
  )[0];
  const std = row?.s ?? 0;
  return { standardized: true, center: row?.a ?? 0, scale: std > 1e-12 && Number.isFinite(std) ? std : 1 };
}

/** Sorting by UTF-16 code units: the same order in every process and locale (unlike localeCompare). */
/** oneHotMaxCardinality resolved: "auto" is 20 for gbdt and 256 for the neural models (see PreprocessConfig). */
export function oneHotLimit(
  setting: PreprocessSettings['oneHotMaxCardinality'],
  model: NonNullable<FitRequest['model']>,
): number {
  if (setting !== 'auto') return setting;
  return model === 'gbdt' ? 20 : 256;
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function scalar<T>(session: DuckDbSession, sql: string, params: SqlValue[]): Promise<T> {
  return (await session.all<{ v: T }>(sql, params))[0]?.v as T;
}

function firstParam(base: SqlValue[]): number {
  return base.length + 1;
}
