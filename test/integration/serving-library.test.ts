import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { VersionRecord } from '../../contracts/registry';
import { binaryLogLoss } from '../../lib/evaluation/metrics';
import { loadScorer } from '../../lib/evaluation/scorer';
import { registerVersion } from '../../lib/registry';
import { InvalidRowsError, ModelArtifactMissingError, ServingModelNotFoundError } from '../../lib/serving/errors';
import { loadModel, type Prediction } from '../../lib/serving/load-model';
import { fakeDraft, uniqueModelName } from '../support/registry-fixtures';
import {
  PENGUINS_IS_MALE,
  PENGUINS_SPECIES,
  testSplitOf,
  trainVersion,
  uploadPenguins,
} from '../support/serving-models';
import { startTestHarness, type TestHarness } from '../support/temporal';

function probabilitiesOf(prediction: Prediction): Record<string, number> {
  assert.ok('probabilities' in prediction, 'a classification prediction carries its probabilities');
  return prediction.probabilities;
}

/** loadModel() against real versions trained by the real pipeline (Temporal, MinIO). */
describe('serving library: loadModel (real pipeline, real MinIO)', () => {
  let h: TestHarness;
  let species: VersionRecord;
  let isMale: VersionRecord;
  before(async () => {
    h = await startTestHarness();
    const uri = await uploadPenguins(h);
    species = await trainVersion(h, uri, uniqueModelName('serve-species'), { task: PENGUINS_SPECIES });
    isMale = await trainVersion(h, uri, uniqueModelName('serve-male'), {
      task: PENGUINS_IS_MALE,
      train: { model: 'mlp' },
    });
  });
  after(async () => {
    await h?.close();
  });

  for (const which of ['gbdt multiclass', 'mlp binary'] as const) {
    it(`${which}: predict gives evaluate's scores on the test split within 1e-6, and its classes`, async () => {
      const record = which === 'gbdt multiclass' ? species : isMale;
      const model = await loadModel(h.store, `${record.model}@champion`);
      const scorer = await loadScorer(h.store, record.modelRef, record.lineage.preprocessor);
      try {
        assert.equal(model.version, record.version);
        const split = await testSplitOf(h, record);
        const { outputs, labels } = await scorer.score(split.columns, split.rows);
        const predictions = await model.predict(split.objects);
        assert.equal(predictions.length, split.rows);
        const classes = model.classes ?? [];
        assert.deepEqual(classes, scorer.classes);
        const k = model.task === 'multiclass' ? classes.length : 1;
        let correct = 0;
        let maxDifference = 0;
        predictions.forEach((prediction, r) => {
          const probabilities = probabilitiesOf(prediction);
          if (model.task === 'binary') {
            maxDifference = Math.max(
              maxDifference,
              Math.abs((probabilities[classes[1] as string] as number) - (outputs[r] as number)),
            );
          } else {
            classes.forEach((c, j) => {
              maxDifference = Math.max(
                maxDifference,
                Math.abs((probabilities[c] as number) - (outputs[r * k + j] as number)),
              );
            });
          }
          if ('class' in prediction && prediction.class === classes[labels[r] as number]) correct++;
        });
        assert.ok(maxDifference <= 1e-6, `largest score difference ${maxDifference}`);
        // The classes are the ones evaluate judged: the accuracy it recorded in the registry comes back.
        const recorded = record.lineage.evaluation.metrics;
        assert.ok(
          Math.abs(correct / split.rows - (recorded.accuracy as number)) < 1e-9,
          `accuracy ${correct / split.rows} vs ${recorded.accuracy}`,
        );
        if (model.task === 'binary') {
          assert.equal(model.decisionThreshold, record.lineage.evaluation.decisionThreshold);
          const p = Float64Array.from(predictions, (pr) => probabilitiesOf(pr)[classes[1] as string] as number);
          assert.ok(Math.abs(binaryLogLoss(labels, p) - (recorded.log_loss as number)) < 1e-6);
        }
      } finally {
        model.dispose();
        scorer.dispose();
      }
    });
  }

  it('a missing value is imputed and an unseen category encoded as in training, not refused', async () => {
    const model = await loadModel(h.store, `${species.model}:${species.version}`);
    const scorer = await loadScorer(h.store, species.modelRef, species.lineage.preprocessor);
    try {
      const row = {
        Island: 'Atlantis',
        'Beak Length (mm)': 47.5,
        'Beak Depth (mm)': null,
        'Flipper Length (mm)': 215,
        'Body Mass (g)': 5200,
        Sex: null,
      };
      const [prediction] = await model.predict([row]);
      const columns = Object.fromEntries(Object.entries(row).map(([name, value]) => [name, [value]]));
      const expected = await scorer.predictColumns(columns, 1);
      const probabilities = probabilitiesOf(prediction as Prediction);
      (model.classes ?? []).forEach((c, j) =>
        assert.ok(Math.abs((probabilities[c] as number) - (expected[j] as number)) <= 1e-6),
      );
    } finally {
      model.dispose();
      scorer.dispose();
    }
  });

  it('bad rows fail with every bad field named, before anything is scored', async () => {
    const model = await loadModel(h.store, `${species.model}@champion`);
    try {
      const good = {
        Island: 'Biscoe',
        'Beak Length (mm)': 45,
        'Beak Depth (mm)': 15,
        'Flipper Length (mm)': 215,
        'Body Mass (g)': 5000,
        Sex: 'MALE',
      };
      const { Island: _island, ...withoutIsland } = good;
      const error = await model
        .predict([good, { ...good, 'Beak Length (mm)': 'long', Island: 7 }, { ...withoutIsland, Islnd: 'Biscoe' }])
        .then(
          () => assert.fail('bad rows must be refused'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof InvalidRowsError);
      const paths = error.problems.map((p) => p.path).sort();
      assert.deepEqual(paths, ['1.Beak Length (mm)', '1.Island', '2.Island', '2.Islnd']);
      assert.match(error.message, /1\.Beak Length \(mm\): expected a number or null, got the string "long"/);
      assert.match(error.message, /2\.Island: required: send null for a missing value/);
      assert.match(error.message, /2\.Islnd: not a column of this model's training data/);
    } finally {
      model.dispose();
    }
  });

  it('an unknown model, alias or version, or a version without its model artifact, is an error naming what exists', async () => {
    const unknownModel = await loadModel(h.store, `${uniqueModelName('nobody')}@champion`).catch((e: unknown) => e);
    assert.ok(unknownModel instanceof ServingModelNotFoundError);
    assert.match(unknownModel.message, /is not registered\. Registered models: /);

    const unknownAlias = await loadModel(h.store, `${species.model}@staging`).catch((e: unknown) => e);
    assert.ok(unknownAlias instanceof ServingModelNotFoundError);
    assert.match(unknownAlias.message, /has no alias "staging"\. Its aliases: champion → 1\. Its only version is 1/);

    const unknownVersion = await loadModel(h.store, `${species.model}:9`).catch((e: unknown) => e);
    assert.ok(unknownVersion instanceof ServingModelNotFoundError);
    assert.match(unknownVersion.message, /has no version 9\. The only version is 1\./);

    const badReference = await loadModel(h.store, 'Penguins').catch((e: unknown) => e);
    assert.ok(badReference instanceof ServingModelNotFoundError);
    assert.match(badReference.message, /expected <model>@<alias>/);

    const hollow = uniqueModelName('hollow');
    await registerVersion(h.store, fakeDraft(hollow));
    const missing = await loadModel(h.store, `${hollow}:1`).catch((e: unknown) => e);
    assert.ok(missing instanceof ModelArtifactMissingError);
    assert.match(missing.message, /does not exist\. No version of "hollow-[0-9a-f]+" has its model artifact\./);
  });
});
