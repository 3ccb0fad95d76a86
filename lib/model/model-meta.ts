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

/**
 * `model-meta.json`, written beside `model.json` and `weights.bin` and last of the three: what a reader
 * needs to use the model (task, classes, features, preprocessor) and where it came from (backend, config).
 */
export const ModelMeta = z.object({
  format: z.literal('trainyard-tfjs-layers'),
  formatVersion: z.literal(1),
  task: TaskType,
  /** Classification: class labels in output order. */
  classes: z.array(z.string()).optional(),
  featureCount: z.number().int().positive(),
  featureNames: z.array(z.string()),
  /** The fitted preprocessor that turns raw rows into this model's features. */
  preprocessor: ArtifactRef.optional(),
  backend: z.enum(['tensorflow', 'wasm', 'cpu']),
  train: TrainConfig,
  seed: z.number().int().nonnegative(),
  /** Epochs run in total (across resumed attempts) and the epoch whose weights these are. */
  epochsRun: z.number().int().nonnegative(),
  bestEpoch: z.number().int().nonnegative(),
  files: z.object({ modelJson: StoredFile, weights: StoredFile }),
});
export type ModelMeta = z.output<typeof ModelMeta>;
export type ModelMetaDraft = Omit<ModelMeta, 'format' | 'formatVersion' | 'files'>;

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const MODEL_META_JSON = 'model-meta.json';
