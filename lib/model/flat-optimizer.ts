import type { LoadedTfjs } from '../tfjs-backend';
import type { TrainSettings } from './build-model';

type Tf = LoadedTfjs['tf'];
type Tensor = ReturnType<Tf['tensor']>;
type Variable = ReturnType<Tf['variable']>;

export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/**
 * Adam, SGD or RMSprop over every trainable variable at once: the gradients arrive as one flat vector
 * (variables in order, each flattened) and the optimiser's slots are flat vectors too, so a step costs
 * about a dozen TensorFlow ops instead of a dozen per variable. On small models the per-op overhead,
 * not arithmetic, is what tfjs's own optimisers spend their time on (~80 µs an op with the native backend).
 *
 * The update rules, defaults and slot layout are tfjs's (Adam: β1 0.9, β2 0.999; RMSprop: decay 0.9,
 * momentum 0; ε the backend's), so getWeights/setWeights read and write the same checkpoint format as
 * `tf.train.adam()` & co.: the iteration count, then each slot per variable in variable order.
 */
export interface FlatOptimizer {
  /** One update from the flat gradient of every variable. */
  apply(flatGradient: Tensor): void;
  /** Fresh tensors (the caller disposes them): `iter`, then each slot per variable. */
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weights: NamedTensor[]): Promise<void>;
  dispose(): void;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const RMSPROP_DECAY = 0.9;

/** Slot names per rule, in tfjs's getWeights order. */
const SLOT_NAMES: Record<TrainSettings['optimizer'], string[]> = {
  adam: ['m', 'v'],
  sgd: [],
  rmsprop: ['rms', 'momentum'],
};

export function createFlatOptimizer(
  tf: Tf,
  variables: Variable[],
  settings: Pick<TrainSettings, 'optimizer' | 'learningRate'>,
): FlatOptimizer {
  const sizes = variables.map((v) => v.size);
  const total = sizes.reduce((sum, n) => sum + n, 0);
  const epsilon = tf.backend().epsilon();
  const learningRate = settings.learningRate;
  const slotNames = SLOT_NAMES[settings.optimizer];
  let slots = slotNames.map(() => tf.variable(tf.zeros([total]), false));
  let iterations = 0;
  const constants = tf.tidy(() => ({
    beta1: tf.keep(tf.scalar(ADAM_BETA1)),
    oneMinusBeta1: tf.keep(tf.scalar(1 - ADAM_BETA1)),
    beta2: tf.keep(tf.scalar(ADAM_BETA2)),
    oneMinusBeta2: tf.keep(tf.scalar(1 - ADAM_BETA2)),
    decay: tf.keep(tf.scalar(RMSPROP_DECAY)),
    oneMinusDecay: tf.keep(tf.scalar(1 - RMSPROP_DECAY)),
    epsilon: tf.keep(tf.scalar(epsilon)),
    learningRate: tf.keep(tf.scalar(learningRate)),
  }));

  /** The amount to subtract from the flat parameters this step. */
  function delta(gradient: Tensor): Tensor {
    const c = constants;
    switch (settings.optimizer) {
      case 'sgd':
        return tf.mul(gradient, c.learningRate);
      case 'adam': {
        const [m, v] = slots as [Variable, Variable];
        const nextM = tf.add(tf.mul(m, c.beta1), tf.mul(gradient, c.oneMinusBeta1));
        const nextV = tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(gradient), c.oneMinusBeta2));
        m.assign(nextM);
        v.assign(nextV);
        // lr·m̂/(√v̂ + ε) with the bias corrections folded into two scalars: lr_t·m/(√v + ε_t).
        const t = iterations + 1;
        const root = Math.sqrt(1 - ADAM_BETA2 ** t);
        return tf.div(
          tf.mul(nextM, tf.scalar((learningRate * root) / (1 - ADAM_BETA1 ** t))),
          tf.add(tf.sqrt(nextV), tf.scalar(epsilon * root)),
        );
      }
      case 'rmsprop': {
        const [meanSquare, moment] = slots as [Variable, Variable];
        const nextMeanSquare = tf.add(tf.mul(meanSquare, c.decay), tf.mul(tf.square(gradient), c.oneMinusDecay));
        const nextMoment = tf.div(tf.mul(gradient, c.learningRate), tf.sqrt(tf.add(nextMeanSquare, c.epsilon)));
        meanSquare.assign(nextMeanSquare);
        moment.assign(nextMoment);
        return nextMoment;
      }
    }
  }

  return {
    apply(flatGradient) {
      tf.tidy(() => {
        const parts = tf.split(delta(flatGradient), sizes);
        variables.forEach((variable, i) => {
          const part = parts[i] as Tensor;
          variable.assign(tf.sub(variable, variable.rank === 1 ? part : tf.reshape(part, variable.shape)));
        });
      });
      iterations++;
    },
    async getWeights() {
      const named: NamedTensor[] = [{ name: 'iter', tensor: tf.scalar(iterations, 'int32') }];
      slotNames.forEach((slotName, s) => {
        const parts = tf.split(slots[s] as Variable, sizes);
        variables.forEach((variable, i) => {
          const part = parts[i] as Tensor;
          named.push({
            name: `${variable.name}/${slotName}`,
            tensor: variable.rank === 1 ? part : tf.tidy(() => tf.reshape(part, variable.shape)),
          });
          if (variable.rank !== 1) part.dispose();
        });
      });
      return named;
    },
    async setWeights(weights) {
      const [iter, ...slotTensors] = weights;
      if (!iter || slotTensors.length !== slotNames.length * variables.length) {
        throw new Error(
          `optimizer state has ${weights.length} tensors; ${settings.optimizer} over ${variables.length} variables needs ${1 + slotNames.length * variables.length}`,
        );
      }
      iterations = (await iter.tensor.data())[0] ?? 0;
      const restored = slotNames.map((_, s) =>
        tf.tidy(() =>
          tf.variable(
            tf.concat(
              slotTensors
                .slice(s * variables.length, (s + 1) * variables.length)
                .map((w) => tf.reshape(w.tensor, [-1])),
            ),
            false,
          ),
        ),
      );
      slots.forEach((slot) => slot.dispose());
      slots = restored;
    },
    dispose() {
      slots.forEach((slot) => slot.dispose());
      Object.values(constants).forEach((t) => t.dispose());
    },
  };
}
