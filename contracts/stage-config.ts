import { z } from 'zod';
import { ArtifactUri } from './artifacts';

/**
 * Per-stage configuration inside the pipeline input. Every field has a default, so a run needs only
 * model, dataset.uri, task.type and task.label. Column names are plain strings here; they are data,
 * always quoted as identifiers by lib/data's single helper, never spliced into SQL.
 */
const ColumnName = z.string().min(1).max(10_000);
const Fraction = z.number().min(0).max(1);

/** A duration a person types: "30m", "24h", "7d". Workflow timers take it as is. */
export const Duration = z
  .string()
  .regex(/^\d+\s*(ms|s|m|h|d)$/, { message: 'expected a duration like 30m, 24h or 7d' });
export type Duration = `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds in a Duration ("7d" → 604800000). */
export function durationMs(duration: string): number {
  const match = /^(\d+)\s*(ms|s|m|h|d)$/.exec(duration);
  if (!match) throw new RangeError(`not a duration: ${duration}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** A label derived declaratively from a column: `{ column: "delay", op: ">", value: 15 }`. Never an expression string. */
export const DerivedLabel = z
  .object({
    column: ColumnName,
    op: z.enum(['>', '>=', '<', '<=', '==', '!=']),
    value: z.union([z.number(), z.string(), z.boolean()]),
    name: z.string().min(1).max(256).default('label'),
  })
  .strict();

/** Drift's defaults (see ValidationConfig.drift), measured in `bench soundness`. */
export const DRIFT_DEFAULTS = { psiThreshold: 0.01, jensenShannonThreshold: 0.03, alpha: 0.005, minRows: 100 } as const;
/** A false-alarm rate: above 0 and at most 0.5. */
export const DriftAlpha = z
  .number()
  .gt(0, { message: 'alpha must be above 0' })
  .max(0.5, { message: 'alpha must be at most 0.5' });

export const ValidationConfig = z
  .object({
    /** Validate against this schema artifact instead of the inferred / champion's one. */
    schemaUri: ArtifactUri.optional(),
    /** Drift reference; default: the champion's training statistics when a champion exists. */
    referenceStatisticsUri: ArtifactUri.optional(),
    minRows: z.number().int().min(1).default(20),
    maxMissingFraction: Fraction.default(0.3),
    maxUnseenCategoryShare: Fraction.default(0.05),
    maxDuplicateShare: Fraction.default(0.2),
    /** majority / minority class count above this ratio is a warning handed to sampling. */
    imbalanceRatioWarning: z.number().min(1).default(5),
    leakage: z
      .object({
        aucThreshold: z.number().min(0.5).max(1).default(0.99),
        correlationThreshold: Fraction.default(0.98),
        /** Columns allowed to predict the label almost perfectly (reported as warnings). */
        allow: z.array(ColumnName).default([]),
      })
      .strict()
      .prefault({}),
    /**
     * Drift against the reference, per column: a chi-square two-sample test (numbers on the reference's
     * quantile bins, rare categories pooled), Holm-corrected across columns at `alpha`, and a shift (net
     * of sampling noise) above the column's floor. Defaults measured in `bench soundness` (README: drift).
     */
    drift: z
      .object({
        /** Effect-size floor for numbers: PSI on the reference's quantile bins, noise subtracted (was a bare PSI threshold of 0.2). */
        psiThreshold: z.number().positive().default(DRIFT_DEFAULTS.psiThreshold),
        /** Effect-size floor for categories and booleans: Jensen–Shannon distance, noise subtracted (was a bare threshold of 0.1). */
        jensenShannonThreshold: Fraction.default(DRIFT_DEFAULTS.jensenShannonThreshold),
        /** Family-wise false-alarm rate of one comparison over all its columns. */
        alpha: DriftAlpha.default(DRIFT_DEFAULTS.alpha),
        /** A batch with fewer rows is "too few rows to judge": no verdict, no drift anomaly, no retraining. */
        minRows: z.number().int().min(1).default(DRIFT_DEFAULTS.minRows),
        /** Drift is an error (fails the stage) or only a warning. */
        severity: z.enum(['error', 'warning']).default('warning'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const SplitConfig = z
  .object({
    /** Default: `time` when `timeColumn` is set, else `stratified` for classification, else `random`. */
    strategy: z.enum(['auto', 'random', 'stratified', 'time']).default('auto'),
    fractions: z
      .object({ train: Fraction.default(0.7), validation: Fraction.default(0.15), test: Fraction.default(0.15) })
      .strict()
      .prefault({})
      .refine((f) => Math.abs(f.train + f.validation + f.test - 1) < 1e-9, {
        message: 'train + validation + test must equal 1',
      }),
    /** Columns whose values identify a row, for stable hash-based membership; default: all columns. */
    keyColumns: z.array(ColumnName).optional(),
    stratifyBy: ColumnName.optional(),
    timeColumn: ColumnName.optional(),
    /** Time split boundaries (ISO dates or numbers); default: quantiles of the time column by fractions. */
    validationStart: z.union([z.string(), z.number()]).optional(),
    testStart: z.union([z.string(), z.number()]).optional(),
  })
  .strict();

export const SamplingConfig = z
  .object({
    strategy: z
      .enum(['none', 'uniform', 'stratified', 'weighted', 'reservoir', 'undersample', 'oversample', 'class-weights'])
      .default('none'),
    fraction: Fraction.optional(),
    n: z.number().int().positive().optional(),
    weightColumn: ColumnName.optional(),
    /** minority / majority ratio to reach when under- or oversampling. */
    targetRatio: z.number().positive().max(1).default(1),
  })
  .strict();

export const PreprocessConfig = z
  .object({
    impute: z
      .object({
        numeric: z.enum(['median', 'mean', 'constant']).default('median'),
        categorical: z.enum(['mode', 'constant']).default('mode'),
        numericConstant: z.number().default(0),
        categoricalConstant: z.string().default('__missing__'),
      })
      .strict()
      .prefault({}),
    standardize: z.boolean().default(true),
    /**
     * Text columns with at most this many categories in train are one-hot encoded; beyond it, see
     * `highCardinality`. "auto": 256 for the neural models, which covers flights' 228 airports (measured
     * there in bench/experiments/categorical-encodings.ts, one-hot beat target + frequency encoding by
     * 0.014 test ROC-AUC with the MLP); 20 for gbdt, where one-hot gained only 0.006 but multiplied the
     * features 35-fold (461 vs 13 on flights) and with them every round's histogram work.
     */
    oneHotMaxCardinality: z.union([z.literal('auto'), z.number().int().min(2)]).default('auto'),
    /**
     * Columns beyond oneHotMaxCardinality: "target-and-frequency" (out-of-fold target encoding plus the
     * category's train frequency), "target", "frequency", or "hash" (the hashing trick into `hashBuckets`).
     */
    highCardinality: z.enum(['target-and-frequency', 'target', 'frequency', 'hash']).default('target-and-frequency'),
    /** Categories with fewer train rows than this share one "rare" encoding, which unseen values get too. */
    rareMinCount: z.number().int().min(1).default(10),
    targetEncoding: z
      .object({
        /** Folds of the out-of-fold encoding of train rows (each row's own label never reaches its encoding). */
        folds: z.number().int().min(2).max(20).default(5),
        /** Weight of the prior, in rows: a category's mean is (sum + smoothing × prior) / (rows + smoothing). */
        smoothing: z.number().min(0).default(20),
      })
      .strict()
      .prefault({}),
    /** Buckets of highCardinality "hash": "auto" sizes them to the column (the next power of two ≥ its categories, at most 4096). */
    hashBuckets: z.union([z.literal('auto'), z.number().int().min(2).max(4096)]).default('auto'),
    /** Dates and timestamps become calendar features (time of day, day of week, day of month, month; sin/cos, UTC). */
    calendarFeatures: z.boolean().default(true),
    /**
     * Dates and timestamps whose raw value (epoch seconds) also enters the model as a number. "auto"
     * (default): every one but the time split's column, whose raw value only extrapolates (every test
     * time lies after every train time); a car's model year, under a random split, is signal. `false`:
     * none, `true`: all, or the named columns.
     */
    rawTimestamps: z.union([z.literal('auto'), z.boolean(), z.array(ColumnName)]).default('auto'),
    logTransform: z.array(ColumnName).default([]),
    exclude: z.array(ColumnName).default([]),
    /** Regression: train on (y − mean) / std of the train split; the preprocessor records both to invert predictions. */
    standardizeTarget: z.boolean().default(false),
  })
  .strict();

/**
 * Gradient-boosted trees (`train.model: "gbdt"`). Defaults mirror scikit-learn's HistGradientBoosting*:
 * leaf-wise trees on ≤ 255 quantile bins, early stopping on the validation split.
 */
export const GbdtConfig = z
  .object({
    /** Boosting rounds at most (multiclass grows one tree per class per round). */
    maxIterations: z.number().int().min(1).max(10_000).default(100),
    /** Shrinkage applied to every leaf value. */
    learningRate: z.number().positive().max(1).default(0.1),
    maxLeafNodes: z.number().int().min(2).max(4096).default(31),
    /** Unset: depth is bounded by maxLeafNodes only. */
    maxDepth: z.number().int().min(1).max(64).optional(),
    minSamplesLeaf: z.number().int().min(1).default(20),
    minHessianLeaf: z.number().min(0).default(1e-3),
    /** L2 penalty on leaf values. */
    l2Regularization: z.number().min(0).default(0),
    /** Bins per feature, from train-split quantiles. */
    maxBins: z.number().int().min(2).max(255).default(255),
    /**
     * Fraction of train rows drawn (seeded, per round) to grow each round's trees; 1 uses every row. Unset:
     * every row up to 4M train rows, beyond that 4M rows a round, so a round's cost stops growing with the data.
     */
    subsample: z.number().gt(0).max(1).optional(),
    /** Stop after this many rounds without a better validation loss (scikit-learn's n_iter_no_change). */
    earlyStoppingRounds: z.number().int().min(1).default(10),
    /** Write a resumable checkpoint every this many rounds (and after the last). */
    checkpointEveryRounds: z.number().int().min(1).default(1),
  })
  .strict();

export const TrainConfig = z
  .object({
    /**
     * gbdt by default: chosen by `npm run bench -- quality`, where it met scikit-learn HistGradientBoosting
     * on every dataset and the MLP missed on four (README, bench/README.md). mlp / logistic settings
     * (hiddenLayers, epochs, batchSize, …) apply only when `model` names them.
     */
    model: z.enum(['logistic', 'mlp', 'gbdt']).default('gbdt'),
    hiddenLayers: z.array(z.number().int().min(1).max(4096)).max(8).default([64, 64]),
    activation: z.enum(['relu', 'tanh', 'sigmoid', 'elu']).default('relu'),
    dropout: z.number().min(0).max(0.9).default(0),
    optimizer: z.enum(['adam', 'sgd', 'rmsprop']).default('adam'),
    /** Unset: matched to the batch size (lib/model/training-budget.ts). */
    learningRate: z.number().positive().max(10).optional(),
    /** Unset: from a budget of samples seen, by the train split's size. */
    epochs: z.number().int().min(1).max(10_000).optional(),
    /** Unset: about 1/200 of the train split, a power of two from 32 to 2048. */
    batchSize: z.number().int().min(1).max(65_536).optional(),
    /** A time budget for training ("10m"): when it runs out, the best checkpoint so far is the model. */
    maxDuration: Duration.optional(),
    earlyStopping: z
      .object({ enabled: z.boolean().default(true), patience: z.number().int().min(1).default(5) })
      .strict()
      .prefault({}),
    /** Start from the champion's weights when its schema and preprocessor are compatible. */
    warmStart: z.boolean().default(false),
    /** `model: "gbdt"` only; the fields above except earlyStopping.enabled and warmStart are the MLP's. */
    gbdt: GbdtConfig.prefault({}),
  })
  .strict();

const MetricBound = z.object({ metric: z.string().min(1), op: z.enum(['>=', '<=']), value: z.number() }).strict();

/** A one-sided significance level: 0 < alpha ≤ 0.5. */
const Alpha = z.number().gt(0, { message: 'alpha must be above 0' }).max(0.5, { message: 'alpha must be at most 0.5' });

export const EvaluateConfig = z
  .object({
    /**
     * Binary tasks: the probability at or above which a row is predicted positive. Chosen on the
     * validation split by default: "max-f1" (the F1-maximising threshold) or "match-positive-rate" (as
     * many positives predicted as the train split holds); a number fixes it.
     */
    decisionThreshold: z.union([Fraction, z.enum(['max-f1', 'match-positive-rate'])]).default('max-f1'),
    /**
     * One-sided significance level of the gate's tests (zero-rule, proper score, champion). 0.005, as for
     * drift: at 0.05 one shuffled-label challenger in 25 was blessed (`bench soundness`).
     */
    alpha: Alpha.default(0.005),
    /** Value thresholds, e.g. `{ metric: "accuracy", op: ">=", value: 0.9 }`. */
    thresholds: z.array(MetricBound).default([]),
    /** The main metric's improvement over the zero-rule must be significantly above this margin. */
    mustBeatZeroRuleBy: z.number().min(0).max(1).default(0),
    /**
     * Challenger vs champion on the main metric, paired on the test rows. "non-inferiority": rejected
     * only when significantly worse than the champion by more than `margin`; "superiority": blessed
     * only when significantly better.
     */
    championComparison: z
      .object({
        test: z.enum(['non-inferiority', 'superiority']).default('non-inferiority'),
        margin: z.number().min(0).max(1).default(0.01),
      })
      .strict()
      .prefault({}),
    /**
     * When the champion keeps less than `keepLead` of its registered lead over the zero-rule on this
     * split (labels, concept or data changed), automatic promotion waits for a person ("approval") or
     * the challenger is rejected ("reject").
     */
    championCollapse: z
      .object({ action: z.enum(['approval', 'reject']).default('approval'), keepLead: Fraction.default(0.5) })
      .strict()
      .prefault({}),
    /** TFMA-style change thresholds against the champion, judged on the paired interval; a negative bound tolerates a small loss. */
    championChange: z
      .array(
        z
          .object({ metric: z.string().min(1), minAbsolute: z.number().optional(), minRelative: z.number().optional() })
          .strict(),
      )
      .default([]),
    /** Bootstrap resamples for the intervals of metrics without an analytic one (fewer on very large test splits). */
    bootstrapResamples: z.number().int().min(50).max(10_000).default(400),
    slices: z
      .array(
        z
          .object({
            column: ColumnName,
            metric: z.string().min(1),
            floor: z.number(),
            minSize: z.number().int().min(1).default(20),
          })
          .strict(),
      )
      .default([]),
    invariance: z
      .array(z.object({ column: ColumnName, epsilon: z.number().positive().default(0.05) }).strict())
      .default([]),
    directional: z
      .array(z.object({ column: ColumnName, direction: z.enum(['increase', 'decrease']) }).strict())
      .default([]),
  })
  .strict();

export const PromotionConfig = z
  .object({
    policy: z.enum(['auto', 'manual']).default('auto'),
    alias: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/)
      .default('champion'),
    /** How long a manual promotion waits for approve / reject, e.g. "24h". */
    approvalTimeout: Duration.default('24h'),
  })
  .strict();

/**
 * Which partitions of a partitioned dataset (a URI ending in "/" whose sub-folders are partitions) a run
 * reads: all of them, the newest one, or those of the last `window` (partition names carrying a date,
 * e.g. "date=2026-11-20/" or "2026-11-20/"). "Newest" and "window" are judged as of the run's scheduled
 * time, so a backfilled run reads the data of its own day.
 */
export const PartitionSelection = z.union([
  z.literal('all'),
  z.literal('latest'),
  z.object({ window: Duration }).strict(),
  /** Exactly these partitions (folder names under the URI): how a drift monitor pins the batch that drifted for the run it starts. */
  z
    .object({
      names: z
        .array(
          z
            .string()
            .min(1)
            .max(1024)
            .regex(/^[^/]+$/, { message: 'a partition name is one folder name, without "/"' }),
        )
        .min(1)
        .max(10_000),
    })
    .strict(),
]);
export type PartitionSelection = z.output<typeof PartitionSelection>;

/** What happens when a stage fails on bad data or an impossible config (a non-retryable failure). */
export const OperatorConfig = z
  .object({
    /**
     * How long the run waits, in "awaiting-operator", for `trainyard retry` (optionally with a fixed
     * dataset or config) or `trainyard abort`, before it fails with the original error. "0s" fails at once.
     */
    timeout: Duration.default('7d'),
  })
  .strict();

/** The stages the re-run cache may serve: pure functions of their inputs. */
export const CACHEABLE_STAGES = ['validateData', 'splitAndSample', 'fitPreprocessor', 'train', 'evaluate'] as const;
export type CacheableStage = (typeof CACHEABLE_STAGES)[number];

/** Re-run cache: a stage whose inputs (artifact hashes, its config, code version) match an earlier run reuses its outputs. */
export const CacheConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** Stages that run even when a cached result exists. */
    rerun: z.array(z.enum(CACHEABLE_STAGES)).default([]),
  })
  .strict();
