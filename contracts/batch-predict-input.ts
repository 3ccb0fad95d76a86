import { z } from 'zod';
import { ArtifactUri } from './artifacts';
import { ModelReferenceText } from './model-reference';
import { parseWith, type ParseResult } from './pipeline-input';
import { OperatorConfig, PartitionSelection } from './stage-config';

/** Output columns batchPredict writes itself; a key column may not take one of these names. */
export const PREDICTION_COLUMNS = ['prediction_id', 'row_index', 'predicted_class', 'prediction', 'model', 'version'];

/** `<model>@<alias>` or `<model>:<version>`, kept as text (the workflow input stays what the caller sent). */
const ModelReferenceField = z
  .string()
  .max(200)
  .superRefine((text, ctx) => {
    const parsed = ModelReferenceText.safeParse(text);
    if (!parsed.success)
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
  });

/**
 * The `batchPredict` workflow's input: small JSON, like the pipeline's, so it starts from the CLI, the
 * Temporal UI or a Schedule. Only `model` and `dataset.uri` are required.
 */
export const BatchPredictInput = z
  .object({
    /** `<model>@<alias>` (resolved once, at the start of the run) or `<model>:<version>`. */
    model: ModelReferenceField,
    /** A second version that scores the same rows beside `model` (shadow scoring), compared in comparison.json. */
    shadow: ModelReferenceField.optional().describe(
      'Shadow scoring: a second version, <model>@<alias> or <model>:<version>, that scores the same rows beside `model` (same task and classes, another version). Its predictions go to their own folder and a comparison.json sits next to the summary. Optional.',
    ),
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
    /** Bad data (a missing column, an output claimed by another input) waits this long for `trainyard retry` / `abort`. */
    operator: OperatorConfig.prefault({}),
  })
  .strict();

export type BatchPredictInput = z.output<typeof BatchPredictInput>;
/** What a caller may send: defaults not yet applied. */
export type BatchPredictInputDraft = z.input<typeof BatchPredictInput>;

export function parseBatchPredictInput(raw: unknown): ParseResult<BatchPredictInput> {
  return parseWith(BatchPredictInput, raw);
}

/** The version a run scores with: resolved once, at the start, and recorded in the result and memo. */
export interface ResolvedPredictionModel {
  model: string;
  version: number;
  /** The alias the input named, when it named one (it pointed at `version` when the run started). */
  alias?: string;
}

/** The shadow's side of a run: its version and where its predictions and summary went. */
export interface ShadowPredictions {
  model: string;
  version: number;
  alias?: string;
  predictionsUri: string;
  summaryUri: string;
  chunksWritten: number;
}

/** The comparison's headline (comparison.json holds the rest: confusion table, per-score distances, top rows). */
export interface ShadowComparisonHeadline {
  uri: string;
  rowsCompared: number;
  /** Classification: the share of rows both versions give the same class, with its 95% Wilson interval. */
  agreement?: { rate: number; lower: number; upper: number };
  /** The largest two-sample Kolmogorov–Smirnov statistic over the compared scores, and its score. */
  ks: { statistic: number; score: string };
  /** The largest Population Stability Index (deciles of the primary's scores) over the compared scores, and its score. */
  psi: { value: number; score: string };
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
  /** summary.json as an HTML page (rows, classes, score quantiles, warnings, unseen categories) … */
  summaryPageUri: string;
  /** … and a link to open it: presigned for a week (S3) or a file URL, like the pipeline's report. */
  reportUrl: string;
  /** Input findings that did not stop scoring (the summary holds them all). */
  warnings: string[];
  /** Set when the input named a shadow. */
  shadow?: ShadowPredictions;
  comparison?: ShadowComparisonHeadline;
}
