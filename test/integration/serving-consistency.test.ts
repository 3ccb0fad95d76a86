import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BatchPredictResult } from '../../contracts/batch-predict-input';
import type { VersionRecord } from '../../contracts/registry';
import { readJsonArtifact } from '../../lib/data/artifact-files';
import { SplitManifest } from '../../lib/data/split-manifest';
import { loadScorer } from '../../lib/evaluation/scorer';
import { loadModel, type Prediction } from '../../lib/serving/load-model';
import { readPredictionParts } from '../support/prediction-parts';
import { uniqueModelName } from '../support/registry-fixtures';
import { startServeProcess, type ServeProcess } from '../support/serve-process';
import {
  PENGUINS_IS_MALE,
  PENGUINS_SPECIES,
  testSplitOf,
  trainVersion,
  uploadPenguins,
} from '../support/serving-models';
import { startTestHarness, type TestHarness } from '../support/temporal';

/** One path's answer for the test split: a score per row and class (k per row for multiclass), and a class per row. */
interface PathScores {
  scores: number[][];
  classes: string[];
}

function fromPredictions(predictions: readonly Prediction[], classes: readonly string[]): PathScores {
  return {
    scores: predictions.map((p) => {
      assert.ok('probabilities' in p, 'a classification prediction carries its probabilities');
      return classes.map((c) => p.probabilities[c] as number);
    }),
    classes: predictions.map((p) => ('class' in p ? p.class : '')),
  };
}

/**
 * Train/serve consistency: the test split of a real version is scored by evaluate's scorer, by batchPredict
 * (on the test split's Parquet file), by loadModel().predict and by `trainyard serve`. All four give the same
 * score per class within 1e-6 and the same classes; evaluate's classes are the ones whose accuracy it recorded.
 */
describe('train/serve consistency: evaluate, batchPredict, loadModel, serve (real Temporal, MinIO)', () => {
  let h: TestHarness;
  const versions: Record<string, VersionRecord> = {};

  before(async () => {
    h = await startTestHarness();
    const uri = await uploadPenguins(h);
    versions['gbdt multiclass'] = await trainVersion(h, uri, uniqueModelName('consist-species'), {
      task: PENGUINS_SPECIES,
    });
    versions['mlp binary'] = await trainVersion(h, uri, uniqueModelName('consist-male'), {
      task: PENGUINS_IS_MALE,
      train: { model: 'mlp' },
    });
  });
  after(async () => {
    await h?.close();
  });

  for (const which of ['gbdt multiclass', 'mlp binary'] as const) {
    it(`${which}: the four paths agree on every test row`, async () => {
      const record = versions[which] as VersionRecord;
      const reference = `${record.model}:${record.version}`;
      const split = await testSplitOf(h, record);
      const model = await loadModel(h.store, reference);
      const classes = model.classes ?? [];
      let serve: ServeProcess | undefined;
      try {
        // loadModel().predict
        const library = fromPredictions(await model.predict(split.objects), classes);

        // evaluate's scorer on the split's columns; its classes by evaluate's rules (argmax, the lineage's threshold)
        const scorer = await loadScorer(h.store, record.modelRef, record.lineage.preprocessor);
        const { outputs, labels } = await scorer.score(split.columns, split.rows).finally(() => scorer.dispose());
        const k = classes.length;
        const evaluateScores = Array.from({ length: split.rows }, (_, r) =>
          model.task === 'binary'
            ? [1 - (outputs[r] as number), outputs[r] as number]
            : classes.map((_c, j) => outputs[r * k + j] as number),
        );
        const correct = library.classes.filter((c, r) => c === classes[labels[r] as number]).length;
        assert.ok(
          Math.abs(correct / split.rows - (record.lineage.evaluation.metrics.accuracy as number)) < 1e-9,
          "loadModel's classes have the accuracy evaluate recorded",
        );

        // batchPredict on the test split's own Parquet file
        const manifest = await readJsonArtifact(h.store, record.lineage.splitManifest, SplitManifest);
        const result = (await h.client.workflow.execute('batchPredict', {
          taskQueue: h.taskQueue,
          workflowId: `test-consistency-${randomUUID()}`,
          args: [{ model: reference, dataset: { uri: manifest.splits.test.uri, format: 'parquet' }, chunkRows: 16 }],
        })) as BatchPredictResult;
        assert.equal(result.rows, split.rows);
        const batchRows = await readPredictionParts(h.store, result.predictionsUri);
        const batch: PathScores = {
          scores: batchRows.map((row) => classes.map((c) => row[`probability_${c}`] as number)),
          classes: batchRows.map((row) => row.predicted_class as string),
        };

        // trainyard serve, one batch request
        serve = startServeProcess(['--model', reference, '--port', '0', '--flush-interval', '1h']);
        const url = await serve.url;
        const response = await fetch(`${url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(split.objects),
        });
        assert.equal(response.status, 200);
        const body = (await response.json()) as { version: number; predictions: Prediction[] };
        assert.equal(body.version, record.version);
        const served = fromPredictions(body.predictions, classes);

        const paths: Record<string, number[][]> = {
          batchPredict: batch.scores,
          serve: served.scores,
          evaluate: evaluateScores,
        };
        for (const [name, scores] of Object.entries(paths)) {
          assert.equal(scores.length, split.rows, `${name} scored every row`);
          let maxDifference = 0;
          scores.forEach((row, r) =>
            row.forEach((score, j) => {
              maxDifference = Math.max(maxDifference, Math.abs(score - (library.scores[r]?.[j] as number)));
            }),
          );
          assert.ok(maxDifference <= 1e-6, `${name} vs loadModel: largest score difference ${maxDifference}`);
        }
        assert.deepEqual(batch.classes, library.classes, 'batchPredict classes');
        assert.deepEqual(served.classes, library.classes, 'serve classes');
      } finally {
        model.dispose();
        if (serve && serve.child.exitCode === null) {
          serve.child.kill('SIGTERM');
          await serve.exited;
        }
      }
    });
  }
});
