import type { TaskType } from '../../contracts/pipeline-input';
import type { ResolvedTrainSettings } from './training-budget';
import type { LoadedTfjs } from '../tfjs-backend';

type Tf = LoadedTfjs['tf'];
type Tensor = ReturnType<Tf['tensor']>;
type LayersModel = ReturnType<Tf['sequential']>;

/** Settings with every number resolved (lib/model/training-budget.ts): what a model is built and trained with. */
export type TrainSettings = ResolvedTrainSettings;

export interface ModelShape {
  task: TaskType;
  featureCount: number;
  /** Classification: number of classes (binary: 2). Regression: ignored. */
  classCount?: number;
}

/** How many output units a task needs: one probability (binary), one per class, or one value. */
export function outputUnits(shape: ModelShape): number {
  if (shape.task !== 'multiclass') return 1;
  const k = shape.classCount ?? 0;
  if (k < 2) throw new Error(`a multiclass model needs at least 2 classes, got ${k}`);
  return k;
}

/**
 * The model for a task: `logistic` (one dense layer — the baseline the book insists on) or `mlp`.
 * Layer names are fixed (`hidden_1`, …, `output`) and every initialiser and dropout layer gets a seed
 * derived from `seed`, so the same seed, data and backend give the same weights in any process.
 */
export function buildModel(tf: Tf, shape: ModelShape, settings: TrainSettings, seed: number): LayersModel {
  const layers = [];
  let layerIndex = 0;
  const nextSeed = () => deriveSeed(seed, ++layerIndex);
  const hidden = settings.model === 'mlp' ? settings.hiddenLayers : [];
  hidden.forEach((units, i) => {
    layers.push(
      tf.layers.dense({
        ...(i === 0 ? { inputShape: [shape.featureCount] } : {}),
        units,
        activation: settings.activation,
        kernelInitializer: hiddenInitializer(tf, settings.activation, nextSeed()),
        biasInitializer: 'zeros',
        name: `hidden_${i + 1}`,
      }),
    );
    if (settings.dropout > 0)
      layers.push(tf.layers.dropout({ rate: settings.dropout, seed: nextSeed(), name: `dropout_${i + 1}` }));
  });
  layers.push(
    tf.layers.dense({
      ...(hidden.length === 0 ? { inputShape: [shape.featureCount] } : {}),
      units: outputUnits(shape),
      activation: shape.task === 'binary' ? 'sigmoid' : shape.task === 'multiclass' ? 'softmax' : 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
      biasInitializer: 'zeros',
      name: 'output',
    }),
  );
  return tf.sequential({ layers, name: settings.model });
}

/** He init for ReLU-like activations (keeps activations from shrinking layer by layer), Glorot otherwise. */
function hiddenInitializer(tf: Tf, activation: TrainSettings['activation'], seed: number) {
  return activation === 'relu' || activation === 'elu'
    ? tf.initializers.heUniform({ seed })
    : tf.initializers.glorotUniform({ seed });
}

/** A 32-bit seed per purpose, so seeds for layers, dropout and shuffling never collide. */
export function deriveSeed(seed: number, salt: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(salt + 1, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  return h >>> 0;
}

const EPSILON = 1e-7;

/**
 * Per-row loss for predictions of `buildModel`'s output layer: binary cross-entropy on P(positive),
 * sparse categorical cross-entropy on the class index, squared error for regression.
 * `y` holds class indices as floats (classification) or targets (regression), shape [rows].
 */
export function rowLosses(tf: Tf, task: TaskType, predictions: Tensor, y: Tensor): Tensor {
  return tf.tidy(() => {
    if (task === 'binary') {
      const p = tf.clipByValue(predictions.reshape([-1]), EPSILON, 1 - EPSILON);
      return tf.neg(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p)))));
    }
    if (task === 'multiclass') {
      const k = predictions.shape[1] as number;
      const oneHot = tf.oneHot(tf.cast(y, 'int32') as never, k);
      const pTrue = tf.sum(tf.mul(predictions, oneHot), 1);
      return tf.neg(tf.log(tf.clipByValue(pTrue, EPSILON, 1)));
    }
    return tf.square(tf.sub(predictions.reshape([-1]), y));
  });
}
