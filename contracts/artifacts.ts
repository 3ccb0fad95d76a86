import { z } from 'zod';

/** Kinds of artifact a pipeline writes or reads. One word per thing, everywhere. */
export const ArtifactKind = z.enum([
  'dataset',
  'statistics',
  'schema',
  'anomalies',
  'split',
  'split-manifest',
  'preprocessor',
  'checkpoint',
  'model',
  /** Per-epoch training history (losses, timings, attempts). */
  'history',
  'evaluation',
  'report',
  'registry',
  /** A drift monitor's comparison of a data batch with the champion's training statistics. */
  'drift-report',
  /** batchPredict's summary of a run's predictions: rows, class distribution, score quantiles, input warnings. */
  'predictions-summary',
]);
export type ArtifactKind = z.infer<typeof ArtifactKind>;

/** An artifact URI: `s3://bucket/key` or `file:///absolute/path`. */
export const ArtifactUri = z.string().regex(/^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+|file:\/\/\/.+)$/, {
  message: 'expected an artifact URI like s3://bucket/key or file:///absolute/path',
});

/** Pass references, not data: every stage returns refs like this, never the bytes. */
export const ArtifactRef = z.object({
  kind: ArtifactKind,
  uri: ArtifactUri,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected a lowercase hex sha256' }),
  bytes: z.number().int().nonnegative(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;
