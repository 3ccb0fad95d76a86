import { z } from 'zod';
import { ArtifactUri } from './artifacts';
import { describeZodIssues, type FieldProblem } from './errors';
import { unknownMetricProblems } from './evaluate-names';
import {
  CacheConfig,
  DerivedLabel,
  EvaluateConfig,
  OperatorConfig,
  PartitionSelection,
  PreprocessConfig,
  PromotionConfig,
  SamplingConfig,
  SplitConfig,
  TrainConfig,
  ValidationConfig,
} from './stage-config';

/** Model names become registry keys and search-attribute values: keep them simple. */
export const ModelName = z
  .string()
  .max(64, { message: 'model name must be at most 64 characters' })
  .regex(/^[a-z0-9][a-z0-9_-]*$/, {
    message: 'model name must be lowercase letters, digits, "-" or "_", starting with a letter or digit',
  });

export const TaskType = z.enum(['binary', 'multiclass', 'regression']);
export type TaskType = z.output<typeof TaskType>;

/**
 * The pipeline input: small JSON that a person can paste into the Temporal UI.
 * Only `model`, `dataset.uri`, `task.type` and `task.label` are required; everything else has a default.
 */
/** The input's fields, without the cross-field checks (for schemas derived from it with omit/extend). */
export const PipelineInputFields = z
  .object({
    model: ModelName.describe(
      'Name of the model this run trains and registers (lowercase letters, digits, "-", "_"; at most 64). Required.',
    ),
    dataset: z
      .object({
        uri: ArtifactUri.describe(
          'Where the dataset is: s3://bucket/key or file:///path; a URI ending in "/" is a folder of partitions. Required.',
        ),
        format: z
          .enum(['auto', 'csv', 'tsv', 'parquet', 'json', 'jsonl'])
          .default('auto')
          .describe('File format; "auto" (default) goes by the file extension.'),
        partitions: PartitionSelection.default('all').describe(
          'For a partitioned dataset (URI ending in "/"): "all" (default), "latest", { "window": "7d" } or { "names": [...] }.',
        ),
      })
      .strict()
      .describe('The dataset to train on. Required: uri.'),
    task: z
      .object({
        type: TaskType.describe('"binary" or "multiclass" classification, or "regression". Required.'),
        label: z
          .union([z.string().min(1, { message: 'label column name must not be empty' }).max(10_000), DerivedLabel])
          .describe(
            'The label: a column name, or a label derived from a column, e.g. { "column": "delay", "op": ">", "value": 15 }. Required.',
          ),
      })
      .strict()
      .describe('What to predict. Required: type and label.'),
    seed: z
      .number()
      .int()
      .nonnegative()
      .default(42)
      .describe(
        'Seed of every random choice (split, sampling, initial weights), so a run can be repeated. Default 42.',
      ),
    validation: ValidationConfig.prefault({}).describe(
      'Data validation: row count, missing values, unseen categories, duplicates, leakage and drift checks.',
    ),
    split: SplitConfig.prefault({}).describe('How rows are split into train, validation and test.'),
    sampling: SamplingConfig.prefault({}).describe(
      'Sampling of the train split, e.g. for class imbalance. Default none.',
    ),
    preprocess: PreprocessConfig.prefault({}).describe(
      'Feature preprocessing fitted on the train split: imputation, scaling, encodings.',
    ),
    train: TrainConfig.prefault({}).describe('The model to train and its settings. Default gbdt.'),
    evaluate: EvaluateConfig.prefault({}).describe(
      'The gate: metrics on the test split, tests against the zero-rule and the champion, thresholds, slices.',
    ),
    promotion: PromotionConfig.prefault({}).describe(
      'What happens to a blessed model: promoted at once (auto) or after approval (manual).',
    ),
    operator: OperatorConfig.prefault({}).describe(
      'What happens when a stage fails on bad data or config: the run waits for trainyard retry / abort.',
    ),
    cache: CacheConfig.prefault({}).describe(
      'The re-run cache: stages whose inputs match an earlier run reuse its outputs.',
    ),
  })
  .strict();

/** The gate's metric names depend on the task: checked with the input, so a typo fails the run before any stage. */
export function checkGateMetricNames(
  input: { task: { type: z.output<typeof TaskType> }; evaluate: z.output<typeof EvaluateConfig> },
  ctx: z.RefinementCtx,
): void {
  for (const problem of unknownMetricProblems(input.task.type, input.evaluate)) {
    ctx.addIssue({
      code: 'custom',
      path: problem.path.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part)),
      message: problem.message,
    });
  }
}

export const PipelineInput = PipelineInputFields.superRefine(checkGateMetricNames);

export type PipelineInput = z.output<typeof PipelineInput>;
/** What a caller may send: defaults not yet applied. */
export type PipelineInputDraft = z.input<typeof PipelineInput>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

/** `raw` checked by `schema`: the value with defaults applied, or every problem with its field's path. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown): ParseResult<z.output<S>> {
  const result = schema.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, problems: describeZodIssues(result.error) };
}

export function parsePipelineInput(raw: unknown): ParseResult<PipelineInput> {
  return parseWith(PipelineInput, raw);
}

export function pipelineInputJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PipelineInput, { io: 'input' }) as Record<string, unknown>;
}
