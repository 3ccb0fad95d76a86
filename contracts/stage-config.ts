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
export type Duration = `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;
/** Checked as a string (the JSON Schema shows its pattern), typed as a Duration, so workflows need no cast. */
export const Duration = z
  .string()
  .regex(/^\d+\s*(ms|s|m|h|d)$/, { message: 'expected a duration like 30m, 24h or 7d' })
  .pipe(z.custom<Duration>());

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
    column: ColumnName.describe('The column the label is computed from.'),
    op: z
      .enum(['>', '>=', '<', '<=', '==', '!='])
      .describe('Comparison of the column with value; true is the positive class.'),
    value: z.union([z.number(), z.string(), z.boolean()]).describe('The value the column is compared with.'),
    name: z.string().min(1).max(256).default('label').describe('Name of the derived label column. Default "label".'),
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
    schemaUri: ArtifactUri.optional().describe(
      "Validate against this schema artifact instead of the champion's (or, without a champion, the one inferred from the data). Default unset.",
    ),
    referenceStatisticsUri: ArtifactUri.optional().describe(
      "Statistics artifact drift is measured against. Default: the champion's training statistics, when a champion exists.",
    ),
    minRows: z.number().int().min(1).default(20).describe('Fewer rows than this fails validation. Default 20.'),
    maxMissingFraction: Fraction.default(0.3).describe(
      'A column with a larger share of missing values fails validation. Default 0.3.',
    ),
    maxUnseenCategoryShare: Fraction.default(0.05).describe(
      'A column with a larger share of categories the schema has not seen fails validation. Default 0.05.',
    ),
    maxDuplicateShare: Fraction.default(0.2).describe(
      'A larger share of duplicate rows fails validation. Default 0.2.',
    ),
    imbalanceRatioWarning: z
      .number()
      .min(1)
      .default(5)
      .describe('A majority / minority class count ratio above this is a warning handed to sampling. Default 5.'),
    leakage: z
      .object({
        aucThreshold: z
          .number()
          .min(0.5)
          .max(1)
          .default(0.99)
          .describe('A single column predicting the label with an ROC-AUC above this is leakage. Default 0.99.'),
        correlationThreshold: Fraction.default(0.98).describe(
          'A single column correlating with the label above this (absolute) is leakage. Default 0.98.',
        ),
        allow: z
          .array(ColumnName)
          .default([])
          .describe('Columns allowed to predict the label almost perfectly (reported as warnings). Default none.'),
      })
      .strict()
      .prefault({})
      .describe('Label leakage checks: columns that predict the label too well to be real.'),
    /**
     * Drift against the reference, per column: a chi-square two-sample test (numbers on the reference's
     * quantile bins, rare categories pooled), Holm-corrected across columns at `alpha`, and a shift (net
     * of sampling noise) above the column's floor. Defaults measured in `bench soundness` (README: drift).
     */
    drift: z
      .object({
        // Both floors replaced bare thresholds (PSI 0.2, Jensen–Shannon 0.1) that ignored sampling noise.
        psiThreshold: z
          .number()
          .positive()
          .default(DRIFT_DEFAULTS.psiThreshold)
          .describe(
            `Effect-size floor for numeric columns: PSI on the reference's quantile bins, sampling noise subtracted. Default ${DRIFT_DEFAULTS.psiThreshold}.`,
          ),
        jensenShannonThreshold: Fraction.default(DRIFT_DEFAULTS.jensenShannonThreshold).describe(
          `Effect-size floor for categories and booleans: Jensen–Shannon distance, sampling noise subtracted. Default ${DRIFT_DEFAULTS.jensenShannonThreshold}.`,
        ),
        alpha: DriftAlpha.default(DRIFT_DEFAULTS.alpha).describe(
          `Family-wise false-alarm rate of one comparison over all its columns (Holm-corrected). Default ${DRIFT_DEFAULTS.alpha}.`,
        ),
        minRows: z
          .number()
          .int()
          .min(1)
          .default(DRIFT_DEFAULTS.minRows)
          .describe(
            `A batch with fewer rows is "too few rows to judge": no verdict, no drift anomaly, no retraining. Default ${DRIFT_DEFAULTS.minRows}.`,
          ),
        severity: z
          .enum(['error', 'warning'])
          .default('warning')
          .describe('Drift fails the stage ("error") or is only reported ("warning"). Default "warning".'),
      })
      .strict()
      .prefault({})
      .describe(
        'Drift against the reference, per column: a chi-square two-sample test, Holm-corrected across columns at alpha, and a shift above the floor. Defaults measured in bench soundness.',
      ),
  })
  .strict();

export const SplitConfig = z
  .object({
    strategy: z
      .enum(['auto', 'random', 'stratified', 'time'])
      .default('auto')
      .describe(
        '"auto" (default): "time" when timeColumn is set, else "stratified" for classification, else "random".',
      ),
    fractions: z
      .object({
        train: Fraction.default(0.7).describe('Share of rows in the train split. Default 0.7.'),
        validation: Fraction.default(0.15).describe('Share of rows in the validation split. Default 0.15.'),
        test: Fraction.default(0.15).describe('Share of rows in the test split. Default 0.15.'),
      })
      .strict()
      .prefault({})
      .refine((f) => Math.abs(f.train + f.validation + f.test - 1) < 1e-9, {
        message: 'train + validation + test must equal 1',
      })
      .describe('Shares of train, validation and test; they must add up to 1. Default 0.7 / 0.15 / 0.15.'),
    keyColumns: z
      .array(ColumnName)
      .optional()
      .describe('Columns whose values identify a row, for stable hash-based split membership. Default: all columns.'),
    stratifyBy: ColumnName.optional().describe(
      'Column whose shares each split keeps (stratified). Default: the label.',
    ),
    timeColumn: ColumnName.optional().describe(
      'Date or time column: rows are split by time (train before validation before test). Default unset.',
    ),
    validationStart: z
      .union([z.string(), z.number()])
      .optional()
      .describe(
        'Time split: first time (ISO date or number) in the validation split. Default: the quantile of the time column given by fractions.',
      ),
    testStart: z
      .union([z.string(), z.number()])
      .optional()
      .describe(
        'Time split: first time (ISO date or number) in the test split. Default: the quantile of the time column given by fractions.',
      ),
  })
  .strict();

export const SamplingConfig = z
  .object({
    strategy: z
      .enum(['none', 'uniform', 'stratified', 'weighted', 'reservoir', 'undersample', 'oversample', 'class-weights'])
      .default('none')
      .describe(
        'How the train split is sampled: "none" (default) keeps every row; under/oversample and class-weights treat class imbalance.',
      ),
    fraction: Fraction.optional().describe(
      'Share of train rows to keep, for a sampling strategy (or give n). Default unset.',
    ),
    n: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Number of train rows to keep, for a sampling strategy (or give fraction). Default unset.'),
    weightColumn: ColumnName.optional().describe('Column of row weights for "weighted" sampling. Default unset.'),
    targetRatio: z
      .number()
      .positive()
      .max(1)
      .default(1)
      .describe('Minority / majority class ratio to reach when under- or oversampling. Default 1.'),
  })
  .strict();

export const PreprocessConfig = z
  .object({
    impute: z
      .object({
        numeric: z
          .enum(['median', 'mean', 'constant'])
          .default('median')
          .describe('Missing numbers become the train median, mean, or numericConstant. Default "median".'),
        categorical: z
          .enum(['mode', 'constant'])
          .default('mode')
          .describe('Missing categories become the train mode or categoricalConstant. Default "mode".'),
        numericConstant: z.number().default(0).describe('The value of impute.numeric "constant". Default 0.'),
        categoricalConstant: z
          .string()
          .default('__missing__')
          .describe('The value of impute.categorical "constant". Default "__missing__".'),
      })
      .strict()
      .prefault({})
      .describe('How missing values are filled in, from train-split statistics.'),
    standardize: z
      .boolean()
      .default(true)
      .describe('Numeric features are scaled to mean 0, standard deviation 1 on the train split. Default true.'),
    /**
     * Text columns with at most this many categories in train are one-hot encoded; beyond it, see
     * `highCardinality`. "auto": 256 for the neural models, which covers flights' 228 airports (measured
     * there in bench/experiments/categorical-encodings.ts, one-hot beat target + frequency encoding by
     * 0.014 test ROC-AUC with the MLP); 20 for gbdt, where one-hot gained only 0.006 but multiplied the
     * features 35-fold (461 vs 13 on flights) and with them every round's histogram work.
     */
    oneHotMaxCardinality: z
      .union([z.literal('auto'), z.number().int().min(2)])
      .default('auto')
      .describe(
        'Text columns with at most this many train categories are one-hot encoded, beyond it see highCardinality. Default "auto": 256 for the neural models, 20 for gbdt.',
      ),
    /**
     * Columns beyond oneHotMaxCardinality: "target-and-frequency" (out-of-fold target encoding plus the
     * category's train frequency), "target", "frequency", or "hash" (the hashing trick into `hashBuckets`).
     */
    highCardinality: z
      .enum(['target-and-frequency', 'target', 'frequency', 'hash'])
      .default('target-and-frequency')
      .describe(
        'Encoding of text columns beyond oneHotMaxCardinality: out-of-fold target encoding and/or train frequency, or hashing into hashBuckets. Default "target-and-frequency".',
      ),
    rareMinCount: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe('Categories with fewer train rows share one "rare" encoding, which unseen values get too. Default 10.'),
    targetEncoding: z
      .object({
        folds: z
          .number()
          .int()
          .min(2)
          .max(20)
          .default(5)
          .describe(
            "Folds of the out-of-fold target encoding of train rows (a row's own label never reaches its encoding). Default 5.",
          ),
        smoothing: z
          .number()
          .min(0)
          .default(20)
          .describe(
            "Weight of the prior, in rows: a category's mean is (sum + smoothing × prior) / (rows + smoothing). Default 20.",
          ),
      })
      .strict()
      .prefault({})
      .describe('Settings of the target encoding of high-cardinality columns.'),
    hashBuckets: z
      .union([z.literal('auto'), z.number().int().min(2).max(4096)])
      .default('auto')
      .describe(
        'Buckets of highCardinality "hash". Default "auto": the next power of two at or above the column\'s categories, at most 4096.',
      ),
    calendarFeatures: z
      .boolean()
      .default(true)
      .describe(
        'Dates and timestamps become calendar features (time of day, day of week, day of month, month; sin/cos, UTC). Default true.',
      ),
    /**
     * Dates and timestamps whose raw value (epoch seconds) also enters the model as a number. "auto"
     * (default): every one but the time split's column, whose raw value only extrapolates (every test
     * time lies after every train time); a car's model year, under a random split, is signal. `false`:
     * none, `true`: all, or the named columns.
     */
    rawTimestamps: z
      .union([z.literal('auto'), z.boolean(), z.array(ColumnName)])
      .default('auto')
      .describe(
        'Dates and timestamps whose raw value (epoch seconds) also enters the model: true (all), false (none) or the named columns. Default "auto": all but the time split\'s column.',
      ),
    logTransform: z
      .array(ColumnName)
      .default([])
      .describe('Numeric columns transformed with log1p before scaling. Default none.'),
    exclude: z.array(ColumnName).default([]).describe('Columns left out of the features. Default none.'),
    standardizeTarget: z
      .boolean()
      .default(false)
      .describe(
        'Regression: train on (y − mean) / std of the train split; predictions are transformed back. Default false.',
      ),
  })
  .strict();

/**
 * Gradient-boosted trees (`train.model: "gbdt"`). Defaults mirror scikit-learn's HistGradientBoosting*:
 * leaf-wise trees on ≤ 255 quantile bins, early stopping on the validation split.
 */
export const GbdtConfig = z
  .object({
    maxIterations: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(100)
      .describe('Boosting rounds at most (multiclass grows one tree per class per round). Default 100.'),
    learningRate: z
      .number()
      .positive()
      .max(1)
      .default(0.1)
      .describe('Shrinkage applied to every leaf value. Default 0.1.'),
    maxLeafNodes: z.number().int().min(2).max(4096).default(31).describe('Leaves per tree at most. Default 31.'),
    maxDepth: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe('Depth of a tree at most. Default unset: bounded by maxLeafNodes only.'),
    minSamplesLeaf: z.number().int().min(1).default(20).describe('Train rows per leaf at least. Default 20.'),
    minHessianLeaf: z
      .number()
      .min(0)
      .default(1e-3)
      .describe('Sum of hessians per leaf at least (guards near-pure leaves). Default 0.001.'),
    l2Regularization: z.number().min(0).default(0).describe('L2 penalty on leaf values. Default 0.'),
    maxBins: z
      .number()
      .int()
      .min(2)
      .max(255)
      .default(255)
      .describe('Bins per feature, from train-split quantiles. Default 255.'),
    subsample: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe(
        "Share of train rows drawn (seeded, per round) to grow each round's trees; 1 uses every row. Default unset: every row up to 4M train rows, beyond that 4M rows a round, so a round's cost stops growing with the data.",
      ),
    earlyStoppingRounds: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe(
        "Stop after this many rounds without a better validation loss (scikit-learn's n_iter_no_change). Default 10.",
      ),
    checkpointEveryRounds: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('Write a resumable checkpoint every this many rounds (and after the last). Default 1.'),
  })
  .strict();

export const TrainConfig = z
  .object({
    /**
     * gbdt by default: chosen by `npm run bench -- quality`, where it met scikit-learn HistGradientBoosting
     * on every dataset and the MLP missed on four (README, bench/README.md). mlp / logistic settings
     * (hiddenLayers, epochs, batchSize, …) apply only when `model` names them.
     */
    model: z
      .enum(['logistic', 'mlp', 'gbdt'])
      .default('gbdt')
      .describe(
        'The model: gradient-boosted trees ("gbdt", default), a neural network ("mlp") or logistic / linear regression ("logistic").',
      ),
    hiddenLayers: z
      .array(z.number().int().min(1).max(4096))
      .max(8)
      .default([64, 64])
      .describe('mlp: units of each hidden layer (at most 8 layers). Default [64, 64].'),
    activation: z
      .enum(['relu', 'tanh', 'sigmoid', 'elu'])
      .default('relu')
      .describe('mlp: activation of the hidden layers. Default "relu".'),
    dropout: z.number().min(0).max(0.9).default(0).describe('mlp: dropout rate after each hidden layer. Default 0.'),
    optimizer: z
      .enum(['adam', 'sgd', 'rmsprop'])
      .default('adam')
      .describe('mlp / logistic: the optimizer. Default "adam".'),
    learningRate: z
      .number()
      .positive()
      .max(10)
      .optional()
      .describe("mlp / logistic: the optimizer's learning rate. Default unset: matched to the batch size."),
    epochs: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe(
        "mlp / logistic: passes over the train split at most. Default unset: from a budget of samples seen, by the train split's size.",
      ),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(65_536)
      .optional()
      .describe(
        'mlp / logistic: rows per gradient step. Default unset: about 1/200 of the train split, a power of two from 32 to 2048.',
      ),
    maxDuration: Duration.optional().describe(
      'A time budget for training, e.g. "10m": when it runs out, the best checkpoint so far is the model. Default unset (no budget).',
    ),
    earlyStopping: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Stop when the validation loss has not improved for patience epochs (gbdt: earlyStoppingRounds). Default true.',
          ),
        patience: z
          .number()
          .int()
          .min(1)
          .default(5)
          .describe('mlp / logistic: epochs without a better validation loss before stopping. Default 5.'),
      })
      .strict()
      .prefault({})
      .describe('Early stopping on the validation loss; the best epoch is the model.'),
    warmStart: z
      .boolean()
      .default(false)
      .describe("Start from the champion's weights when its schema and preprocessor are compatible. Default false."),
    gbdt: GbdtConfig.prefault({}).describe(
      'Settings of model "gbdt"; the fields above except earlyStopping.enabled and warmStart are the MLP\'s. Defaults mirror scikit-learn HistGradientBoosting.',
    ),
  })
  .strict();

const MetricBound = z
  .object({
    metric: z.string().min(1).describe('Metric name, e.g. "accuracy", "rocAuc", "rmse" (names depend on the task).'),
    op: z.enum(['>=', '<=']).describe('The metric must be at least (">=") or at most ("<=") value.'),
    value: z.number().describe('The bound the metric is compared with.'),
  })
  .strict();

/** A one-sided significance level: 0 < alpha ≤ 0.5. */
const Alpha = z.number().gt(0, { message: 'alpha must be above 0' }).max(0.5, { message: 'alpha must be at most 0.5' });

export const EvaluateConfig = z
  .object({
    /**
     * Binary tasks: the probability at or above which a row is predicted positive. Chosen on the
     * validation split by default: "max-f1" (the F1-maximising threshold) or "match-positive-rate" (as
     * many positives predicted as the train split holds); a number fixes it.
     */
    decisionThreshold: z
      .union([Fraction, z.enum(['max-f1', 'match-positive-rate'])])
      .default('max-f1')
      .describe(
        'Binary tasks: probability at or above which a row is predicted positive. "max-f1" (default) or "match-positive-rate", chosen on the validation split, or a fixed number.',
      ),
    /**
     * One-sided significance level of the gate's tests (zero-rule, proper score, champion). 0.005, as for
     * drift: at 0.05 one shuffled-label challenger in 25 was blessed (`bench soundness`).
     */
    alpha: Alpha.default(0.005).describe(
      "One-sided significance level of the gate's tests (zero-rule, proper score, champion). Default 0.005.",
    ),
    thresholds: z
      .array(MetricBound)
      .default([])
      .describe(
        'Value thresholds the model must meet, e.g. { "metric": "accuracy", "op": ">=", "value": 0.9 }. Default none.',
      ),
    mustBeatZeroRuleBy: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe("The main metric's improvement over the zero-rule must be significantly above this margin. Default 0."),
    /**
     * Challenger vs champion on the main metric, paired on the test rows. "non-inferiority": rejected
     * only when significantly worse than the champion by more than `margin`; "superiority": blessed
     * only when significantly better.
     */
    championComparison: z
      .object({
        test: z
          .enum(['non-inferiority', 'superiority'])
          .default('non-inferiority')
          .describe(
            '"non-inferiority" (default): rejected only when significantly worse than the champion by more than margin; "superiority": blessed only when significantly better.',
          ),
        margin: z
          .number()
          .min(0)
          .max(1)
          .default(0.01)
          .describe('Non-inferiority margin on the main metric. Default 0.01.'),
      })
      .strict()
      .prefault({})
      .describe('Challenger vs champion on the main metric, paired on the test rows.'),
    /**
     * When the champion keeps less than `keepLead` of its registered lead over the zero-rule on this
     * split (labels, concept or data changed), automatic promotion waits for a person ("approval") or
     * the challenger is rejected ("reject").
     */
    championCollapse: z
      .object({
        action: z
          .enum(['approval', 'reject'])
          .default('approval')
          .describe('When the champion collapsed: wait for a person ("approval", default) or reject the challenger.'),
        keepLead: Fraction.default(0.5).describe(
          'The champion collapsed when it keeps less than this share of its registered lead over the zero-rule. Default 0.5.',
        ),
      })
      .strict()
      .prefault({})
      .describe(
        'When the champion lost most of its lead over the zero-rule on this data (labels, concept or data changed), promotion is not automatic.',
      ),
    /** TFMA-style change thresholds against the champion, judged on the paired interval; a negative bound tolerates a small loss. */
    championChange: z
      .array(
        z
          .object({
            metric: z.string().min(1).describe('Metric compared with the champion on the same test rows.'),
            minAbsolute: z
              .number()
              .optional()
              .describe(
                "Improvement over the champion (lower-is-better metrics: the champion's value minus the challenger's) judged on the paired interval: a positive bound needs evidence of that gain, zero or negative tolerates a loss up to it. Default 0 when minRelative is unset.",
              ),
            minRelative: z
              .number()
              .optional()
              .describe("The same bound relative to the champion's value (improvement / |champion|). Default unset."),
          })
          .strict(),
      )
      .default([])
      .describe('TFMA-style change thresholds against the champion, judged on the paired interval. Default none.'),
    bootstrapResamples: z
      .number()
      .int()
      .min(50)
      .max(10_000)
      .default(400)
      .describe(
        'Bootstrap resamples for the intervals of metrics without an analytic one (fewer on very large test splits). Default 400.',
      ),
    slices: z
      .array(
        z
          .object({
            column: ColumnName.describe('Column whose values define the slices (one slice per value).'),
            metric: z.string().min(1).describe('Metric computed on each slice.'),
            floor: z
              .number()
              .describe(
                'Each slice must reach this metric value: a minimum for higher-is-better metrics, a maximum for lower-is-better ones.',
              ),
            minSize: z
              .number()
              .int()
              .min(1)
              .default(20)
              .describe('Slices with fewer test rows are reported but not judged. Default 20.'),
          })
          .strict(),
      )
      .default([])
      .describe('Slice-based evaluation: a metric floor for every value of a column. Default none.'),
    invariance: z
      .array(
        z
          .object({
            column: ColumnName.describe('Column shuffled across the test rows; the predictions must barely move.'),
            epsilon: z
              .number()
              .positive()
              .default(0.05)
              .describe(
                'Largest allowed mean absolute change of the output when the column is shuffled. Default 0.05.',
              ),
          })
          .strict(),
      )
      .default([])
      .describe('Behavioural invariance tests: columns that must not matter to the predictions. Default none.'),
    directional: z
      .array(
        z
          .object({
            column: ColumnName.describe('Numeric column raised by one standard deviation in every test row.'),
            direction: z
              .enum(['increase', 'decrease'])
              .describe('The score (P(positive), or the value for regression) must increase or decrease with it.'),
          })
          .strict(),
      )
      .default([])
      .describe('Behavioural directional tests: raising a column must move the score one way. Default none.'),
  })
  .strict();

export const PromotionConfig = z
  .object({
    policy: z
      .enum(['auto', 'manual'])
      .default('auto')
      .describe(
        '"auto" (default): a blessed model is promoted at once; "manual": the run waits for trainyard approve / reject.',
      ),
    alias: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/)
      .default('champion')
      .describe('The registry alias moved to the promoted version. Default "champion".'),
    approvalTimeout: Duration.default('24h').describe(
      'How long a manual promotion waits for trainyard approve / reject. Default "24h".',
    ),
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
  z
    .object({
      window: Duration.describe('Partitions dated within this long before the run\'s scheduled time, e.g. "7d".'),
    })
    .strict(),
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
        .max(10_000)
        .describe('Exactly these partitions: folder names under the dataset URI.'),
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
    timeout: Duration.default('7d').describe(
      'How long a run waits in "awaiting-operator" for trainyard retry or abort before it fails with the original error; "0s" fails at once. Default "7d".',
    ),
  })
  .strict();

/** The stages the re-run cache may serve: pure functions of their inputs. */
export const CACHEABLE_STAGES = ['validateData', 'splitAndSample', 'fitPreprocessor', 'train', 'evaluate'] as const;
export type CacheableStage = (typeof CACHEABLE_STAGES)[number];

/** Re-run cache: a stage whose inputs (artifact hashes, its config, code version) match an earlier run reuses its outputs. */
export const CacheConfig = z
  .object({
    enabled: z.boolean().default(true).describe('Reuse cached stage results when inputs match. Default true.'),
    rerun: z
      .array(z.enum(CACHEABLE_STAGES))
      .default([])
      .describe('Stages that run even when a cached result exists. Default none.'),
  })
  .strict();
