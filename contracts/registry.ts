import { z } from 'zod';
import { ArtifactRef, ArtifactUri } from './artifacts';
import { ModelName } from './pipeline-input';

/**
 * The model registry's documents, as stored under `registry/<model>/` in the artifact store. Everything
 * read back from the store is parsed with these schemas, so a hand-edited or truncated record is
 * reported field by field instead of flowing on as a half-typed object.
 */

export const AliasName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, {
  message: 'alias must be 1-64 characters: a lowercase letter, then lowercase letters, digits, "-" or "_"',
});
export type AliasName = z.infer<typeof AliasName>;

export const VersionNumber = z.number().int().min(1, { message: 'versions start at 1' });

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected a lowercase hex sha256' });
const IsoTime = z.iso.datetime({ message: 'expected an ISO-8601 UTC timestamp' });
const Metrics = z.record(z.string(), z.number());
/** Stage configuration as it was when the version was trained; kept loose so old records stay readable. */
const ConfigSnapshot = z.record(z.string(), z.unknown());

/** Everything a version came from: enough to explain it, audit it and reproduce it. */
export const Lineage = z.object({
  /** `partitions`: the partitions read, when the run read some of a partitioned dataset. */
  dataset: z.object({
    uri: ArtifactUri,
    sha256: Sha256,
    bytes: z.number().int().nonnegative(),
    partitions: z.array(z.string()).optional(),
  }),
  schema: ArtifactRef,
  statistics: ArtifactRef,
  splitManifest: ArtifactRef,
  preprocessor: ArtifactRef,
  training: z.object({
    task: z.object({
      type: z.enum(['binary', 'multiclass', 'regression']),
      label: z.union([z.string(), ConfigSnapshot]),
    }),
    seed: z.number().int(),
    params: ConfigSnapshot,
    sampling: ConfigSnapshot,
    preprocess: ConfigSnapshot,
    history: ArtifactRef,
    epochsRun: z.number().int().nonnegative(),
    bestEpoch: z.number().int().nonnegative(),
    trainMs: z.number().nonnegative(),
    featureCount: z.number().int().nonnegative(),
    classes: z.array(z.string()).optional(),
    /** Settings chosen for the user (left unset in the config) and why. */
    choices: z.array(z.string()).optional(),
  }),
  backend: z.enum(['tensorflow', 'wasm', 'cpu', 'typescript']),
  evaluation: z.object({
    ref: ArtifactRef,
    report: ArtifactRef,
    decision: z.enum(['blessed', 'rejected']),
    reasons: z.array(z.string()),
    metrics: Metrics,
    /** Binary: the decision threshold chosen on the validation split, which serving uses. */
    decisionThreshold: z.number().min(0).max(1).optional(),
  }),
  code: z.object({
    version: z.string().min(1),
    gitSha: z
      .string()
      .regex(/^[0-9a-f]{7,64}$/)
      .optional(),
  }),
  run: z.object({ workflowId: z.string().min(1), runId: z.string().min(1) }),
  warmStart: z.object({ used: z.boolean(), parentVersion: VersionNumber.optional(), reason: z.string() }),
});
export type Lineage = z.infer<typeof Lineage>;

/** One registered version: immutable once written. */
export const VersionRecord = z.object({
  format: z.literal('trainyard.registry.version/v1'),
  model: ModelName,
  version: VersionNumber,
  /** Identifies the registering run (workflow id + model sha256); a retried register finds its version by it. */
  runKey: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: IsoTime,
  modelRef: ArtifactRef,
  lineage: Lineage,
});
export type VersionRecord = z.infer<typeof VersionRecord>;

/**
 * Where a run's walk for its version starts: its version is the first one from `fromVersion` whose
 * record carries its runKey. Written once, before the version record (lib/registry/register.ts says why).
 */
export const RunIndexEntry = z.object({
  format: z.literal('trainyard.registry.run/v1'),
  runKey: z.string().regex(/^[0-9a-f]{64}$/),
  fromVersion: VersionNumber,
});
export type RunIndexEntry = z.infer<typeof RunIndexEntry>;

export const AliasEvent = z.object({
  /** 1, 2, 3… per model, over every alias: the order moves were committed in. */
  seq: z.number().int().min(1),
  alias: AliasName,
  action: z.enum(['promote', 'rollback']),
  /** The version the alias pointed at before; absent when the alias was new. */
  from: VersionNumber.optional(),
  to: VersionNumber,
  by: z.string().min(1),
  reason: z.string().min(1),
  at: IsoTime,
  /** Set by callers that may retry (activities): a repeated request returns this event instead of moving again. */
  requestId: z.string().min(1).optional(),
});
export type AliasEvent = z.infer<typeof AliasEvent>;

export const AliasState = z.object({ version: VersionNumber, since: IsoTime, seq: z.number().int().min(1) });
export type AliasState = z.infer<typeof AliasState>;

/** The current alias → version map and every move that led to it, updated by compare-and-swap. */
export const AliasesDoc = z
  .object({
    format: z.literal('trainyard.registry.aliases/v1'),
    model: ModelName,
    aliases: z.record(AliasName, AliasState),
    history: z.array(AliasEvent),
  })
  .superRefine((doc, ctx) => {
    doc.history.forEach((event, i) => {
      if (event.seq !== i + 1)
        ctx.addIssue({
          code: 'custom',
          path: ['history', i, 'seq'],
          message: `expected seq ${i + 1}, got ${event.seq}`,
        });
    });
  });
export type AliasesDoc = z.infer<typeof AliasesDoc>;
