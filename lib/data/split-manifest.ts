import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ArtifactRef } from '../../contracts/artifacts';

/**
 * What splitAndSample did, written last (after the split files) so a reader that finds it finds
 * complete splits. Read back by fitPreprocessor and by people; validated here at the edge.
 */
export const SPLIT_MANIFEST_VERSION = 1;

const SplitCounts = z
  .object({
    train: z.number().int().nonnegative(),
    validation: z.number().int().nonnegative(),
    test: z.number().int().nonnegative(),
  })
  .strict();
const ClassCounts = z.record(z.string(), z.number().int().nonnegative());
const Boundary = z.union([z.number(), z.string()]).nullable();

export const SplitManifest = z
  .object({
    version: z.literal(SPLIT_MANIFEST_VERSION),
    /** sha256 of the inputs that determine the output (dataset bytes, label, task, seed, split and sampling config). */
    inputsDigest: z.string().regex(/^[0-9a-f]{64}$/),
    dataset: z
      .object({
        uri: z.string(),
        sha256: z.string(),
        bytes: z.number().int().nonnegative(),
        partitions: z.array(z.string()).optional(),
      })
      .strict(),
    task: z
      .object({
        type: z.enum(['binary', 'multiclass', 'regression']),
        labelColumn: z.string(),
        /** For a derived label: the column it was computed from (never a feature). */
        labelDerivedFrom: z.string().optional(),
      })
      .strict(),
    seed: z.number().int().nonnegative(),
    split: z
      .object({
        requestedStrategy: z.string(),
        strategy: z.enum(['random', 'stratified', 'time']),
        fractions: z.object({ train: z.number(), validation: z.number(), test: z.number() }).strict(),
        keyColumns: z.array(z.string()),
        stratifyBy: z.string().optional(),
        time: z
          .object({
            column: z.string(),
            source: z.enum(['config', 'quantiles']),
            validationStart: Boundary,
            testStart: Boundary,
            /** The boundaries as ISO timestamps when the time column holds dates or timestamps. */
            validationStartIso: z.string().nullable().optional(),
            testStartIso: z.string().nullable().optional(),
          })
          .strict()
          .optional(),
        /** How membership is computed, so a reader can tell when an engine upgrade could move rows. */
        membership: z.string(),
      })
      .strict(),
    rowsRemoved: z
      .object({
        inputRows: z.number().int().nonnegative(),
        duplicates: z.number().int().nonnegative(),
        missingLabel: z.number().int().nonnegative(),
        missingTime: z.number().int().nonnegative(),
      })
      .strict(),
    sampling: z
      .object({
        strategy: z.string(),
        rowsBefore: z.number().int().nonnegative(),
        rowsAfter: z.number().int().nonnegative(),
        parameters: z.record(z.string(), z.union([z.number(), z.string()])),
        classWeights: z.record(z.string(), z.number()).optional(),
      })
      .strict(),
    rows: SplitCounts,
    /** Classification: every class key seen in any split, sorted; the preprocessor's class order. */
    classes: z.array(z.string()).optional(),
    classCounts: z
      .object({ train: ClassCounts, validation: ClassCounts, test: ClassCounts, trainBeforeSampling: ClassCounts })
      .strict()
      .optional(),
    columns: z.array(z.object({ name: z.string(), duckdbType: z.string() }).strict()),
    splits: z.object({ train: ArtifactRef, validation: ArtifactRef, test: ArtifactRef }).strict(),
    notes: z.array(z.string()),
    engine: z.object({ duckdb: z.string() }).strict(),
  })
  .strict();

export type SplitManifest = z.infer<typeof SplitManifest>;

/** A digest of the values that determine a split's output; equal digests mean a retry may reuse it. */
export function splitInputsDigest(inputs: Record<string, unknown>): string {
  return createHash('sha256').update(stableJson(inputs)).digest('hex');
}

/** JSON with object keys sorted at every level, so equal values always give equal text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
