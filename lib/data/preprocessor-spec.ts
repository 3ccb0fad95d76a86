import { z } from 'zod';
import { CALENDAR_PARTS, calendarOutputNames } from './calendar-features';

/**
 * The fitted preprocessor: everything `encodeColumns` needs to turn raw columns into features, as
 * plain JSON. Written by fitPreprocessor, read back (validated here) by training, evaluation and
 * inference. Bump PREPROCESSOR_SPEC_VERSION on any change in meaning.
 */
export const PREPROCESSOR_SPEC_VERSION = 2;

const ValueSource = z.enum(['number', 'boolean', 'epoch-seconds', 'string']);

/** x → (missing/NaN/±Infinity → impute) → log1p(max(x, 0)) if log1p → (x − center) / scale. */
export const NumericFeature = z
  .object({
    kind: z.literal('numeric'),
    column: z.string().min(1),
    source: ValueSource,
    impute: z.number(),
    log1p: z.boolean(),
    center: z.number(),
    scale: z.number().positive(),
    /** Train-split statistics of the raw finite values, for reports and drift checks. */
    statistics: z
      .object({
        count: z.number().int().nonnegative(),
        missing: z.number().int().nonnegative(),
        mean: z.number().nullable(),
        median: z.number().nullable(),
        negative: z.number().int().nonnegative(),
      })
      .strict(),
  })
  .strict();

/** One output per category in `categories` (sorted), plus a final output for every other value (unseen, or rarer than the fit's minimum count in v2). */
export const OneHotFeature = z
  .object({
    kind: z.literal('one-hot'),
    column: z.string().min(1),
    source: ValueSource,
    impute: z.string(),
    categories: z.array(z.string()),
  })
  .strict();

/** `buckets` outputs; a value sets output murmurHash3(key, seed) mod buckets (the hashing trick). */
export const HashedFeature = z
  .object({
    kind: z.literal('hashed'),
    column: z.string().min(1),
    source: ValueSource,
    impute: z.string(),
    buckets: z.number().int().min(2),
    seed: z.number().int().nonnegative(),
    /** Distinct values seen in train (exact), for reports. */
    distinct: z.number().int().nonnegative(),
  })
  .strict();

/**
 * A date or timestamp as calendar features (lib/data/calendar-features.ts): sin and cos of each part in
 * `parts`, in UTC; (0, 0) when missing. Parts that were constant in train are left out. Its raw epoch
 * value, when wanted, is a separate numeric feature of the same column.
 */
export const CalendarFeature = z
  .object({
    kind: z.literal('calendar'),
    column: z.string().min(1),
    source: z.literal('epoch-seconds'),
    parts: z.array(z.enum(CALENDAR_PARTS)).min(1),
  })
  .strict();

/**
 * A high-cardinality category column as statistics of its train rows (lib/data/target-encoding.ts).
 * `categories` are those with at least `rareMinCount` train rows; every other value, rare or unseen, is
 * read as the pooled "rare" category (the last entry of each per-category list). Outputs, in order:
 * - frequency: ln(1 + train rows of the category), standardised over train rows with `frequency`;
 * - target: per output, the category's label mean (binary: P(positive); multiclass: one per class;
 *   regression: the mean target) smoothed toward the prior with weight `smoothing`, minus the prior,
 *   over the prior's spread. Train rows of the fitted split read it out of fold (see PreprocessorSpec.folds).
 */
export const CategoryStatisticsFeature = z
  .object({
    kind: z.literal('category-statistics'),
    column: z.string().min(1),
    source: ValueSource,
    impute: z.string(),
    rareMinCount: z.number().int().min(1),
    categories: z.array(z.string()),
    /** Train rows per category, the rare pool last (categories.length + 1 entries). */
    counts: z.array(z.number().int().nonnegative()),
    /** Distinct values pooled as rare in train. */
    rareDistinct: z.number().int().nonnegative(),
    frequency: z.object({ center: z.number(), scale: z.number().positive() }).strict().optional(),
    target: z
      .object({
        smoothing: z.number().nonnegative(),
        /** Labelled train rows per (category, fold): index category × k + fold; the rare pool last. */
        foldCounts: z.array(z.number().nonnegative()),
        /** Label sums per (category, fold, output): index (category × k + fold) × outputs + output. */
        foldSums: z.array(z.number()),
      })
      .strict()
      .optional(),
  })
  .strict();

export const FeatureSpec = z.discriminatedUnion('kind', [
  NumericFeature,
  OneHotFeature,
  HashedFeature,
  CalendarFeature,
  CategoryStatisticsFeature,
]);

/**
 * The folds of out-of-fold target encoding: a train row's fold is hash(its `columns`, `salt`) mod k in
 * DuckDB — every column but the label and its source, so a row's fold never depends on its label, and
 * exact duplicates (oversampled rows included) share a fold. `rows` (per fold) lets a reader
 * check that it assigns the same folds as the fit did; `labelled`, `sums` and `squares` (per fold ×
 * output) are the label's totals, from which each fold's out-of-fold prior and spread follow.
 */
export const TargetFolds = z
  .object({
    k: z.number().int().min(2),
    salt: z.string(),
    columns: z.array(z.string()).min(1),
    outputs: z.number().int().min(1),
    rows: z.array(z.number().int().nonnegative()),
    labelled: z.array(z.number().int().nonnegative()),
    sums: z.array(z.number()),
    squares: z.array(z.number()),
  })
  .strict();

export const LabelSpec = z
  .object({
    column: z.string().min(1),
    source: ValueSource,
    /** Classification: class keys in index order (sorted); y is the index. */
    classes: z.array(z.string()).optional(),
    /** Regression: y = (target − center) / scale when standardized (center 0, scale 1 otherwise). */
    target: z
      .object({ standardized: z.boolean(), center: z.number(), scale: z.number().positive() })
      .strict()
      .optional(),
  })
  .strict();

export const PreprocessorSpec = z
  .object({
    /** v1 (numeric, one-hot and hashed features only) is still read and means what it meant, so registered champions keep scoring. */
    version: z.union([z.literal(1), z.literal(PREPROCESSOR_SPEC_VERSION)]),
    task: z.enum(['binary', 'multiclass', 'regression']),
    label: LabelSpec,
    features: z.array(FeatureSpec),
    featureNames: z.array(z.string()),
    featureCount: z.number().int().nonnegative(),
    excluded: z.array(z.object({ column: z.string(), reason: z.string() }).strict()),
    /** Plain-language notes on choices made while fitting (clamped negatives, all-missing columns, …). */
    notes: z.array(z.string()),
    fittedOn: z
      .object({
        split: z.literal('train'),
        rows: z.number().int().nonnegative(),
        uri: z.string().optional(),
        sha256: z.string().optional(),
      })
      .strict(),
    /** Present when a feature is target-encoded: how train rows of the fitted split (fittedOn.sha256) find their fold. */
    folds: TargetFolds.optional(),
  })
  .strict()
  .refine(
    (spec) =>
      spec.version >= 2 ||
      spec.features.every((f) => f.kind === 'numeric' || f.kind === 'one-hot' || f.kind === 'hashed'),
    {
      message: 'a version 1 preprocessor has only numeric, one-hot and hashed features',
    },
  )
  .refine(
    (spec) =>
      spec.folds !== undefined ||
      spec.features.every((f) => f.kind !== 'category-statistics' || f.target === undefined),
    {
      message: 'target-encoded features need folds',
    },
  )
  .refine((spec) => spec.featureNames.length === spec.featureCount, {
    message: 'featureNames must have featureCount entries',
  })
  .refine(
    (spec) => spec.featureCount === spec.features.reduce((sum, f) => sum + featureWidth(f, targetOutputs(spec)), 0),
    {
      message: 'featureCount must equal the total width of the features',
    },
  )
  .refine((spec) => spec.task === 'regression' || (spec.label.classes !== undefined && spec.label.classes.length > 0), {
    message: 'classification needs label.classes',
  });

export type PreprocessorSpec = z.infer<typeof PreprocessorSpec>;
export type FeatureSpec = z.infer<typeof FeatureSpec>;
export type NumericFeature = z.infer<typeof NumericFeature>;
export type OneHotFeature = z.infer<typeof OneHotFeature>;
export type HashedFeature = z.infer<typeof HashedFeature>;
export type CalendarFeature = z.infer<typeof CalendarFeature>;
export type CategoryStatisticsFeature = z.infer<typeof CategoryStatisticsFeature>;
export type TargetFolds = z.infer<typeof TargetFolds>;

/** Target-encoding outputs per category-statistics feature: one per class for multiclass, else one. */
export function targetOutputs(spec: { task: string; label: { classes?: string[] | undefined } }): number {
  return spec.task === 'multiclass' ? (spec.label.classes?.length ?? 1) : 1;
}

/** How many outputs a feature produces; `targetWidth` is targetOutputs(spec) (1 unless multiclass). */
export function featureWidth(feature: FeatureSpec, targetWidth = 1): number {
  switch (feature.kind) {
    case 'numeric':
      return 1;
    case 'one-hot':
      return feature.categories.length + 1;
    case 'hashed':
      return feature.buckets;
    case 'calendar':
      return feature.parts.length * 2;
    case 'category-statistics':
      return (feature.frequency ? 1 : 0) + (feature.target ? targetWidth : 0);
  }
}

/**
 * Output names, in order: `col`, `col=category`, `col=<unseen>`, `col#bucket`, `col.hour.sin`,
 * `col.frequency`, `col.target` (`col.target=class` for multiclass, given the classes).
 */
export function featureOutputNames(feature: FeatureSpec, classes?: string[]): string[] {
  switch (feature.kind) {
    case 'numeric':
      return [feature.column];
    case 'one-hot':
      return [...feature.categories.map((c) => `${feature.column}=${c}`), `${feature.column}=<unseen>`];
    case 'hashed':
      return Array.from({ length: feature.buckets }, (_, i) => `${feature.column}#${i}`);
    case 'calendar':
      return calendarOutputNames(feature.column, feature.parts);
    case 'category-statistics':
      return [
        ...(feature.frequency ? [`${feature.column}.frequency`] : []),
        ...(feature.target
          ? classes
            ? classes.map((c) => `${feature.column}.target=${c}`)
            : [`${feature.column}.target`]
          : []),
      ];
  }
}
