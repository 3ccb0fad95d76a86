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

/**
 * The pipeline input: small JSON that a person can paste into the Temporal UI.
 * Only `model`, `dataset.uri`, `task.type` and `task.label` are required; everything else has a default.
 */
/** The input's fields, without the cross-field checks (for schemas derived from it with omit/extend). */
export const PipelineInputFields = z
  .object({
    model: ModelName,
    dataset: z
      .object({
        uri: ArtifactUri,
        format: z.enum(['auto', 'csv', 'tsv', 'parquet', 'json', 'jsonl']).default('auto'),
        /** For a partitioned dataset (URI ending in "/"): "all" (default), "latest", or { window: "7d" }. */
        partitions: PartitionSelection.default('all'),
      })
      .strict(),
    task: z
      .object({
        type: TaskType,
        /** The label column, or a label derived declaratively from one. */
        label: z.union([
          z.string().min(1, { message: 'label column name must not be empty' }).max(10_000),
          DerivedLabel,
        ]),
      })
      .strict(),
    seed: z.number().int().nonnegative().default(42),
    validation: ValidationConfig.prefault({}),
    split: SplitConfig.prefault({}),
    sampling: SamplingConfig.prefault({}),
    preprocess: PreprocessConfig.prefault({}),
    train: TrainConfig.prefault({}),
    evaluate: EvaluateConfig.prefault({}),
    promotion: PromotionConfig.prefault({}),
    operator: OperatorConfig.prefault({}),
    cache: CacheConfig.prefault({}),
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

export function parsePipelineInput(raw: unknown): ParseResult<PipelineInput> {
  const result = PipelineInput.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, problems: describeZodIssues(result.error) };
}

export function pipelineInputJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PipelineInput, { io: 'input' }) as Record<string, unknown>;
}
