import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { trainSettings } from '../support/train-settings';
import { buildModel } from '../../lib/model/build-model';
import { loadTrainedModel } from '../../lib/model/load-model';
import { StoreModelHandler, writeModelMeta } from '../../lib/model/store-io';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { loadTfjs } from '../../lib/tfjs-backend';

describe('store-io and loadTrainedModel', () => {
  let root: string;
  let store: FsArtifactStore;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-store-io-'));
    store = new FsArtifactStore(root);
    await store.ensureReady();
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function saveModel(folder: string, task: 'binary' | 'multiclass' | 'regression', classes?: string[]) {
    const { tf, backend } = await loadTfjs();
    const train = trainSettings({ model: 'mlp', hiddenLayers: [5] });
    const model = buildModel(tf, { task, featureCount: 3, classCount: classes?.length }, train, 7);
    const handler = new StoreModelHandler(store, folder);
    await model.save(handler);
    const { put } = await writeModelMeta(store, handler, {
      task,
      ...(classes ? { classes } : {}),
      featureCount: 3,
      featureNames: ['a', 'b', 'c'],
      backend,
      train,
      seed: 7,
      epochsRun: 0,
      bestEpoch: 0,
    });
    return { tf, model, ref: { kind: 'model' as const, uri: put.uri, sha256: put.sha256, bytes: put.bytes } };
  }

  const x = new Float32Array([0.1, -2, 3, 1, 1, 1, -0.5, 0.25, 4]);

  for (const [task, classes, width] of [
    ['binary', ['no', 'yes'], 1],
    ['multiclass', ['a', 'b', 'c', 'd'], 4],
    ['regression', undefined, 1],
  ] as const) {
    it(`round-trips a ${task} model: the loaded model predicts exactly what the saved one did`, async () => {
      const { tf, model, ref } = await saveModel(`models/${task}`, task, classes ? [...classes] : undefined);
      const expected = tf.tidy(() =>
        (model.predict(tf.tensor2d(x, [3, 3])) as ReturnType<typeof tf.tensor>).dataSync(),
      );
      const loaded = await loadTrainedModel(store, ref);
      const actual = loaded.predict(x, 3);
      assert.equal(actual.length, 3 * width);
      assert.deepEqual(Array.from(actual), Array.from(expected));
      assert.equal(loaded.meta.task, task);
      assert.deepEqual(loaded.meta.featureNames, ['a', 'b', 'c']);
      if (task === 'binary') assert.ok(actual.every((p) => p > 0 && p < 1));
      if (task === 'multiclass') {
        for (let r = 0; r < 3; r++)
          assert.ok(Math.abs(actual.slice(r * 4, r * 4 + 4).reduce((s, v) => s + v, 0) - 1) < 1e-5);
      }
      assert.throws(() => loaded.predict(new Float32Array(4), 2), /rows × featureCount/);
      loaded.dispose();
      model.dispose();
    });
  }

  it('accepts a ref to model.json as well as to model-meta.json', async () => {
    const { ref, model } = await saveModel('models/by-json', 'binary', ['0', '1']);
    const loaded = await loadTrainedModel(store, { ...ref, uri: ref.uri.replace('model-meta.json', 'model.json') });
    assert.equal(loaded.meta.featureCount, 3);
    loaded.dispose();
    model.dispose();
  });

  it('refuses weights changed after the model was saved', async () => {
    const { ref, model } = await saveModel('models/tampered', 'binary', ['0', '1']);
    model.dispose();
    await writeFile(path.join(root, 'models/tampered/weights.bin'), Buffer.alloc(4 * 26));
    await assert.rejects(loadTrainedModel(store, ref), /sha256 .* model was changed/);
  });
});
