import { z } from 'zod';
import { ArtifactRef, ArtifactUri } from '../../contracts/artifacts';
import { TaskType } from '../../contracts/pipeline-input';
import { TrainConfig } from '../../contracts/stage-config';

/** One stored file of a model: enough to find it and check it was not changed. */
export const StoredFile = z.object({
  uri: ArtifactUri,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});
export type StoredFile = z.infer<typeof StoredFile>;

/** What every model meta records: how to use the model (task, classes, features, preprocessor) and where it came from. */
const ModelMetaCommon = {
  formatVersion: z.literal(1),
  task: TaskType,
  /** Classification: class labels in output order. */
  classes: z.array(z.string()).optional(),
  featureCount: z.number().int().positive(),
  featureNames: z.array(z.string()),
  /** The fitted preprocessor that turns raw rows into this model's features. */
  preprocessor: ArtifactRef.optional(),
  train: TrainConfig,
  seed: z.number().int().nonnegative(),
  /** Epochs (gbdt: boosting rounds) run in total across resumed attempts, and the one whose model this is. */
  epochsRun: z.number().int().nonnegative(),
  bestEpoch: z.number().int().nonnegative(),
};

/**
 * `model-meta.json` of a tfjs model (`logistic`, `mlp`), written beside `model.json` and `weights.bin`
 * and last of the three.
 */
export const TfjsModelMeta = z.object({
  format: z.literal('trainyard-tfjs-layers'),
  ...ModelMetaCommon,
  backend: z.enum(['tensorflow', 'wasm', 'cpu']),
  files: z.object({ modelJson: StoredFile, weights: StoredFile }),
});
export type TfjsModelMeta = z.output<typeof TfjsModelMeta>;

/** `model-meta.json` of gradient-boosted trees (`gbdt`), written after `trees.json`. */
export const GbdtModelMeta = z.object({
  format: z.literal('trainyard-gbdt'),
  ...ModelMetaCommon,
  backend: z.literal('typescript'),
  files: z.object({ trees: StoredFile }),
});
export type GbdtModelMeta = z.output<typeof GbdtModelMeta>;

export const ModelMeta = z.discriminatedUnion('format', [TfjsModelMeta, GbdtModelMeta]);
export type ModelMeta = z.output<typeof ModelMeta>;
export type ModelMetaDraft = Omit<TfjsModelMeta, 'format' | 'formatVersion' | 'files'>;

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const TREES_JSON = 'trees.json';
export const MODEL_META_JSON = 'model-meta.json';
