import { z } from 'zod';
import { ArtifactUri } from './artifacts';
import { describeZodIssues } from './errors';
import { ModelReferenceText } from './model-reference';
import type { ParseResult } from './pipeline-input';
import { PartitionSelection } from './stage-config';

/** Output columns batchPredict writes itself; a key column may not take one of these names. */
export const PREDICTION_COLUMNS = ['prediction_id', 'row_index', 'predicted_class', 'prediction', 'model', 'version'];

/**
 * The `batchPredict` workflow's input: small JSON, like the pipeline's, so it starts from the CLI, the
 * Temporal UI or a Schedule. Only `model` and `dataset.uri` are required.
 */
export const BatchPredictInput = z
  .object({
    /** `<model>@<alias>` (resolved once, at the start of the run) or `<model>:<version>`. */
    model: z
      .string()
      .max(200)
      .superRefine((text, ctx) => {
        const parsed = ModelReferenceText.safeParse(text);
        if (!parsed.success)
          for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
      }),
    dataset: z
      .object({
        uri: ArtifactUri,
        format: z.enum(['auto', 'csv', 'tsv', 'parquet', 'json', 'jsonl']).default('auto'),
        /** For a partitioned dataset (URI ending in "/"): "all" (default), "latest", { window } or { names }. */
        partitions: PartitionSelection.default('all'),
      })
      .strict(),
    /** Where the predictions go (a prefix in the artifact store); default batch-predictions/<dataset fingerprint>/. */
    output: z.object({ uri: ArtifactUri }).strict().optional(),
    /** Input columns copied into every prediction row, to join predictions back to their rows. */
    keyColumns: z
      .array(z.string().min(1).max(1000))
      .max(50)
      .default([])
      .superRefine((keys, ctx) => {
        keys.forEach((key, i) => {
          if (PREDICTION_COLUMNS.includes(key) || key.startsWith('probability_'))
            ctx.addIssue({ code: 'custom', path: [i], message: `"${key}" is an output column's name` });
          if (keys.indexOf(key) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `"${key}" is listed twice` });
        });
      }),
    /** Rows scored and written per Parquet part: bounds memory; a retry resumes at the first missing part. */
    chunkRows: z.number().int().min(1).max(1_000_000).default(100_000),
  })
  .strict();

export type BatchPredictInput = z.output<typeof BatchPredictInput>;
/** What a caller may send: defaults not yet applied. */
export type BatchPredictInputDraft = z.input<typeof BatchPredictInput>;

export function parseBatchPredictInput(raw: unknown): ParseResult<BatchPredictInput> {
  const result = BatchPredictInput.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, problems: describeZodIssues(result.error) };
}

/** The version a run scores with: resolved once, at the start, and recorded in the result and memo. */
export interface ResolvedPredictionModel {
  model: string;
  version: number;
  /** The alias the input named, when it named one (it pointed at `version` when the run started). */
  alias?: string;
}

/** What batchPredict returns (small: the predictions and the summary are in the store). */
export interface BatchPredictResult {
  model: string;
  version: number;
  alias?: string;
  /** The dataset as read: its fingerprint and, for a partitioned one, the partitions. */
  dataset: { uri: string; sha256: string; partitions?: string[] };
  rows: number;
  chunks: number;
  /** Parts written by this run; the others were finished by an earlier attempt or run. */
  chunksWritten: number;
  /** The folder of Parquet parts, one per chunk (read it as a partitioned dataset). */
  predictionsUri: string;
  summaryUri: string;
  /** Input findings that did not stop scoring (the summary holds them all). */
  warnings: string[];
}
