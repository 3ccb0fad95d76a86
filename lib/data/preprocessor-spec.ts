import { z } from 'zod';

/**
 * The fitted preprocessor: everything `encodeColumns` needs to turn raw columns into features, as
 * plain JSON. Written by fitPreprocessor, read back (validated here) by training, evaluation and
 * inference. Bump PREPROCESSOR_SPEC_VERSION on any change in meaning.
 */
export const PREPROCESSOR_SPEC_VERSION = 1;

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
      .object({ count: z.number().int().nonnegative(), missing: z.number().int().nonnegative(), mean: z.number().nullable(), median: z.number().nullable(), negative: z.number().int().nonnegative() })
      .strict(),
  })
  .strict();

/** One output per category in `categories` (sorted), plus a final "unseen" output. */
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

export const FeatureSpec = z.discriminatedUnion('kind', [NumericFeature, OneHotFeature, HashedFeature]);

export const LabelSpec = z
  .object({
    column: z.string().min(1),
    source: ValueSource,
    /** Classification: class keys in index order (sorted); y is the index. */
    classes: z.array(z.string()).optional(),
    /** Regression: y = (target − center) / scale when standardized (center 0, scale 1 otherwise). */
    target: z.object({ standardized: z.boolean(), center: z.number(), scale: z.number().positive() }).strict().optional(),
  })
  .strict();

export const PreprocessorSpec = z
  .object({
    version: z.literal(PREPROCESSOR_SPEC_VERSION),
    task: z.enum(['binary', 'multiclass', 'regression']),
    label: LabelSpec,
    features: z.array(FeatureSpec),
    featureNames: z.array(z.string()),
    featureCount: z.number().int().nonnegative(),
    excluded: z.array(z.object({ column: z.string(), reason: z.string() }).strict()),
    /** Plain-language notes on choices made while fitting (clamped negatives, all-missing columns, …). */
    notes: z.array(z.string()),
    fittedOn: z.object({ split: z.literal('train'), rows: z.number().int().nonnegative(), uri: z.string().optional(), sha256: z.string().optional() }).strict(),
  })
  .strict()
  .refine((spec) => spec.featureNames.length === spec.featureCount, { message: 'featureNames must have featureCount entries' })
  .refine((spec) => spec.featureCount === spec.features.reduce((sum, f) => sum + featureWidth(f), 0), {
    message: 'featureCount must equal the total width of the features',
  })
  .refine((spec) => spec.task === 'regression' || (spec.label.classes !== undefined && spec.label.classes.length > 0), {
    message: 'classification needs label.classes',
  });

export type PreprocessorSpec = z.infer<typeof PreprocessorSpec>;
export type FeatureSpec = z.infer<typeof FeatureSpec>;
export type NumericFeature = z.infer<typeof NumericFeature>;
export type OneHotFeature = z.infer<typeof OneHotFeature>;
export type HashedFeature = z.infer<typeof HashedFeature>;

/** How many outputs a feature produces. */
export function featureWidth(feature: FeatureSpec): number {
  switch (feature.kind) {
    case 'numeric':
      return 1;
    case 'one-hot':
      return feature.categories.length + 1;
    case 'hashed':
      return feature.buckets;
  }
}

/** Output names, in order: `col`, `col=category`, `col=<unseen>`, `col#bucket`. */
export function featureOutputNames(feature: FeatureSpec): string[] {
  switch (feature.kind) {
    case 'numeric':
      return [feature.column];
    case 'one-hot':
      return [...feature.categories.map((c) => `${feature.column}=${c}`), `${feature.column}=<unseen>`];
    case 'hashed':
      return Array.from({ length: feature.buckets }, (_, i) => `${feature.column}#${i}`);
  }
}
