import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import { getVersion } from '../../lib/registry/versions';
import { readObject } from '../../lib/store/read-object';
import type { PipelineResult } from '../../workflows';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';

/** `train.model: "gbdt"` through the real workflow, worker, Temporal and MinIO: the same gate, registry, report and warm start. */
describe('trainingPipeline with gradient-boosted trees (real Temporal and MinIO)', () => {
  let h: TestHarness;
  let penguinsUri: string;
  before(async () => {
    h = await startTestHarness();
    const key = `${h.prefix}/datasets/penguins.json`;
    await h.store.put(key, await readFile(publicDatasetPath('penguins.json')));
    penguinsUri = h.store.uriFor(key);
  });
  after(async () => {
    await h?.close();
  });

  const run = async (input: PipelineInputDraft): Promise<PipelineResult> =>
    (await h.client.workflow.execute('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `test-gbdt-${randomUUID()}`,
      args: [input],
    })) as PipelineResult;

  async function historyOf(model: string, version: number) {
    const record = await getVersion(h.store, model, version);
    const history = JSON.parse(
      (await readObject(h.store, h.store.keyFor(record.lineage.training.history.uri))).toString('utf8'),
    ) as {
      epochs: Array<{ epoch: number; trainLoss: number; validationLoss: number }>;
      warmStart: { used: boolean; parentVersion?: number; reason: string };
      trees: { fromChampion: number; grown: number; perRound: number };
    };
    return { record, history };
  }

  it(
    "penguins (multiclass): blessed and promoted; a warm-started second run continues from the champion's trees",
    { timeout: 5 * 60_000 },
    async () => {
      const model = `penguins-gbdt-${randomUUID().slice(0, 8)}`;
      const input: PipelineInputDraft = {
        model,
        dataset: { uri: penguinsUri },
        task: { type: 'multiclass', label: 'Species' },
        train: { model: 'gbdt' },
      };
      const first = await run(input);
      assert.equal(first.decision, 'blessed', first.reasons.join('; '));
      assert.equal(first.outcome, 'promoted');
      assert.ok((first.metrics.accuracy ?? 0) >= 0.95, `accuracy ${first.metrics.accuracy}`);
      const report = await fetch(first.reportUrl);
      assert.match(await report.text(), /<svg/, 'the report draws its charts, loss curves included');

      const { record, history } = await historyOf(model, 1);
      assert.equal(record.lineage.backend, 'typescript');
      assert.equal(record.lineage.training.params.model, 'gbdt');
      assert.ok(history.epochs.length >= 2, 'one loss record per boosting round');
      assert.ok(history.epochs.every((e) => Number.isFinite(e.trainLoss) && Number.isFinite(e.validationLoss)));
      assert.equal(history.trees.perRound, 3, 'one tree per class per round');

      const second = await run({ ...input, train: { model: 'gbdt', warmStart: true }, cache: { enabled: false } });
      assert.equal(second.version, 2);
      const continued = await historyOf(model, 2);
      assert.equal(continued.history.warmStart.used, true, continued.history.warmStart.reason);
      assert.equal(continued.history.warmStart.parentVersion, 1);
      assert.equal(continued.history.trees.fromChampion, history.trees.grown, "the champion's trees come first");
    },
  );
});
