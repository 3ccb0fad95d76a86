import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { trainSettings } from '../support/train-settings';
import { buildModel } from '../../lib/model/build-model';
import { denseLayersOf, lossAndGradient } from '../../lib/model/dense-backprop';
import { denseOps } from '../../lib/model/dense-ops';
import { createFlatOptimizer } from '../../lib/model/flat-optimizer';
import { loadTfjs } from '../../lib/tfjs-backend';
import { gatherRows, mulberry32 } from '../../lib/model/memory-batch-source';
import type { TaskType } from '../../contracts/pipeline-input';

type Tf = Awaited<ReturnType<typeof loadTfjs>>['tf'];
type Tensor = ReturnType<Tf['tensor']>;
type Variable = ReturnType<Tf['variable']>;

const FEATURES = 5;
const ROWS = 12;

function randomArray(length: number, seed: number, scale = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => (random() * 2 - 1) * scale);
}

function labels(task: TaskType, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: ROWS }, () =>
    task === 'binary' ? (random() > 0.5 ? 1 : 0) : task === 'multiclass' ? Math.floor(random() * 3) : random() * 4 - 2,
  );
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    assert.ok(Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
  }
}

/** The loss the hand-derived gradient claims to differentiate, written with tfjs ops and differentiated by tfjs's tape. */
function referenceLoss(tf: Tf, task: TaskType, logits: Tensor, y: Tensor, weights?: Tensor): Tensor {
  const rows = logits.shape[0] as number;
  let perRow: Tensor;
  if (task === 'binary') {
    const z = tf.reshape(logits, [rows]);
    perRow = tf.sub(tf.add(tf.relu(z), tf.log1p(tf.exp(tf.neg(tf.abs(z))))), tf.mul(y, z));
  } else if (task === 'multiclass') {
    const oneHot = tf.oneHot(tf.cast(y, 'int32') as never, logits.shape[1] as number);
    perRow = tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, oneHot), 1));
  } else {
    perRow = tf.square(tf.sub(tf.reshape(logits, [rows]), y));
  }
  return tf.mean(weights ? tf.mul(perRow, weights) : perRow);
}

describe('hand-derived gradients match tfjs autodiff', () => {
  const cases: Array<{
    task: TaskType;
    activation: 'relu' | 'tanh' | 'sigmoid' | 'elu';
    weighted: boolean;
    model: 'mlp' | 'logistic';
  }> = [];
  for (const task of ['binary', 'multiclass', 'regression'] as const) {
    for (const activation of ['relu', 'tanh', 'sigmoid', 'elu'] as const)
      cases.push({ task, activation, weighted: activation === 'tanh', model: 'mlp' });
    cases.push({ task, activation: 'relu', weighted: false, model: 'logistic' });
  }
  for (const c of cases) {
    it(`${c.task}, ${c.model}${c.model === 'mlp' ? ` (${c.activation})` : ''}${c.weighted ? ', row weights' : ''}`, async () => {
      const { tf, backend } = await loadTfjs();
      const ops = denseOps(tf, backend);
      const settings = trainSettings({ model: c.model, hiddenLayers: [7, 4], activation: c.activation });
      const model = buildModel(tf, { task: c.task, featureCount: FEATURES, classCount: 3 }, settings, 11);
      const variables = model.trainableWeights.map((w) => (w as unknown as { read(): Variable }).read());
      const layers = denseLayersOf(model);
      try {
        const x = tf.tensor2d(randomArray(ROWS * FEATURES, 1, 2), [ROWS, FEATURES]);
        const y = tf.tensor1d(labels(c.task, 2));
        const weights = c.weighted ? tf.tensor1d(randomArray(ROWS, 3).map((v) => v + 1.5)) : undefined;
        const withOps = (opsFor: typeof ops) =>
          tf.tidy(() => {
            const { loss, gradient } = lossAndGradient(tf, opsFor, layers, c.task, {
              x,
              y,
              ...(weights ? { weights } : {}),
            });
            return { loss: loss.dataSync()[0] as number, gradient: gradient.dataSync() };
          });
        const ours = withOps(ops);
        // The portable ops (any backend) agree with the backend's own (native TensorFlow kernels when loaded).
        const portable = withOps(denseOps(tf, 'cpu'));
        assertClose(portable.gradient, ours.gradient, 1e-4, 'portable vs backend ops');
        const reference = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            let h: Tensor = x;
            layers.forEach((layer, i) => {
              const z = tf.add(tf.matMul(h, layer.kernel), layer.bias);
              const activation = c.activation;
              h =
                i === layers.length - 1
                  ? z
                  : activation === 'relu'
                    ? tf.relu(z)
                    : activation === 'tanh'
                      ? tf.tanh(z)
                      : activation === 'sigmoid'
                        ? tf.sigmoid(z)
                        : tf.elu(z);
            });
            return referenceLoss(tf, c.task, h, y, weights) as never;
          }, variables);
          return {
            loss: value.dataSync()[0] as number,
            gradient: tf.concat(variables.map((v) => tf.reshape(grads[v.name] as Tensor, [-1]))).dataSync(),
          };
        });
        assertClose([ours.loss], [reference.loss], 1e-5, 'loss');
        assertClose(ours.gradient, reference.gradient, 1e-4, 'gradient');
        // The training loss is the loss of what the saved model predicts (its output activation applied).
        if (c.task === 'binary' && !weights) {
          const p = (model.predict(x) as Tensor).dataSync();
          const yv = y.dataSync();
          const crossEntropy =
            Array.from(p).reduce(
              (s, pi, i) => s - ((yv[i] as number) * Math.log(pi) + (1 - (yv[i] as number)) * Math.log(1 - pi)),
              0,
            ) / ROWS;
          assertClose([ours.loss], [crossEntropy], 1e-4, 'cross-entropy of the predictions');
        }
      } finally {
        model.dispose();
      }
    });
  }

  it('dropout: one mask per seed, the same for the same seed; rate 0 is no dropout', async () => {
    const { tf, backend } = await loadTfjs();
    const ops = denseOps(tf, backend);
    const settings = trainSettings({ model: 'mlp', hiddenLayers: [16, 16], dropout: 0.5 });
    const model = buildModel(tf, { task: 'binary', featureCount: FEATURES }, settings, 5);
    const layers = denseLayersOf(model);
    assert.deepEqual(
      layers.map((l) => l.dropoutAfter),
      [true, true, false],
    );
    try {
      const x = tf.tensor2d(randomArray(ROWS * FEATURES, 4), [ROWS, FEATURES]);
      const y = tf.tensor1d(labels('binary', 5));
      const gradientWith = (dropout?: { rate: number; stepSeed: number }) =>
        tf.tidy(() => Array.from(lossAndGradient(tf, ops, layers, 'binary', { x, y }, dropout).gradient.dataSync()));
      const plain = gradientWith();
      assert.deepEqual(gradientWith({ rate: 0.5, stepSeed: 9 }), gradientWith({ rate: 0.5, stepSeed: 9 }));
      assert.notDeepEqual(gradientWith({ rate: 0.5, stepSeed: 9 }), gradientWith({ rate: 0.5, stepSeed: 10 }));
      assert.notDeepEqual(gradientWith({ rate: 0.5, stepSeed: 9 }), plain);
      assert.deepEqual(gradientWith({ rate: 0, stepSeed: 9 }), plain);
    } finally {
      model.dispose();
    }
  });
});

describe("flat optimisers follow tfjs's update rules and checkpoint format", () => {
  for (const name of ['adam', 'sgd', 'rmsprop'] as const) {
    it(name, async () => {
      const { tf } = await loadTfjs();
      const shapes: number[][] = [[3, 2], [2], [2, 1], [1]];
      const make = (seed: number) =>
        shapes.map((shape, i) =>
          tf.variable(
            tf.tensor(
              randomArray(
                shape.reduce((a, b) => a * b, 1),
                seed + i,
              ),
              shape,
            ),
          ),
        );
      const ours = make(20);
      const theirs = make(20);
      const settings = { optimizer: name, learningRate: 0.05 } as const;
      const flat = createFlatOptimizer(tf, ours, settings);
      const reference =
        name === 'adam' ? tf.train.adam(0.05) : name === 'sgd' ? tf.train.sgd(0.05) : tf.train.rmsprop(0.05);
      const step = (seed: number) => {
        const gradients = shapes.map((shape, i) =>
          tf.tensor(
            randomArray(
              shape.reduce((a, b) => a * b, 1),
              seed * 10 + i,
            ),
            shape,
          ),
        );
        reference.applyGradients(theirs.map((v, i) => ({ name: v.name, tensor: gradients[i] as Tensor })));
        tf.tidy(() => flat.apply(tf.concat(gradients.map((g) => tf.reshape(g, [-1])))));
        gradients.forEach((g) => g.dispose());
      };
      try {
        for (let s = 1; s <= 4; s++) step(s);
        ours.forEach((v, i) =>
          assertClose(v.dataSync(), (theirs[i] as Variable).dataSync(), 1e-5, `${name} variable ${i} after 4 steps`),
        );

        // The same slots, by position, as tfjs's getWeights(): iteration count first, then each slot per variable.
        const mine = await flat.getWeights();
        const tfjs = await reference.getWeights();
        assert.equal(mine.length, tfjs.length);
        assert.equal(mine[0]!.name, 'iter');
        assert.equal(mine[0]!.tensor.dataSync()[0], 4);
        for (let i = 1; i < mine.length; i++) {
          assert.equal(mine[i]!.name.split('/').at(-1), tfjs[i]!.name.split('/').at(-1));
          assertClose(mine[i]!.tensor.dataSync(), tfjs[i]!.tensor.dataSync(), 1e-5, `${name} slot ${mine[i]!.name}`);
        }

        // A fresh optimiser restored from tfjs's state continues exactly like tfjs.
        const resumed = createFlatOptimizer(tf, ours, settings);
        await resumed.setWeights(tfjs);
        flat.dispose();
        const gradients = shapes.map((shape, i) =>
          tf.tensor(
            randomArray(
              shape.reduce((a, b) => a * b, 1),
              99 + i,
            ),
            shape,
          ),
        );
        reference.applyGradients(theirs.map((v, i) => ({ name: v.name, tensor: gradients[i] as Tensor })));
        tf.tidy(() => resumed.apply(tf.concat(gradients.map((g) => tf.reshape(g, [-1])))));
        ours.forEach((v, i) =>
          assertClose(v.dataSync(), (theirs[i] as Variable).dataSync(), 1e-5, `${name} variable ${i} after resuming`),
        );
        mine.forEach((w) => w.tensor.dispose());
        resumed.dispose();
      } finally {
        reference.dispose();
        [...ours, ...theirs].forEach((v) => v.dispose());
      }
    });
  }

  it('refuses optimizer state for a different number of variables', async () => {
    const { tf } = await loadTfjs();
    const variables = [tf.variable(tf.zeros([2]))];
    const flat = createFlatOptimizer(tf, variables, { optimizer: 'adam', learningRate: 0.1 });
    await assert.rejects(flat.setWeights([{ name: 'iter', tensor: tf.scalar(1, 'int32') }]), /needs 3/);
    flat.dispose();
    variables[0]!.dispose();
  });
});

describe('gatherRows', () => {
  it('copies exactly the chosen rows, in order, for any widths and row lists (4-row groups and the tail)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.nat(), { maxLength: 23 }),
        (width, rowCount, picks) => {
          const source = Float32Array.from({ length: rowCount * width }, (_, i) => i + 0.5);
          const rows = Uint32Array.from(picks.map((p) => p % rowCount));
          const expected = Array.from(rows).flatMap((r) => Array.from(source.subarray(r * width, (r + 1) * width)));
          assert.deepEqual(Array.from(gatherRows(source, width, rows)), expected);
        },
      ),
    );
  });
});
