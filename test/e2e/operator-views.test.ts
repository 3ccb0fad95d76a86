import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { publicDatasetPath } from '../support/public-data';
import { runCli } from '../support/cli';
import { startTestHarness, type TestHarness } from '../support/temporal';

describe('trainyard status and runs (real Temporal, real MinIO)', () => {
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

  const start = (model: string, uri: string, operatorTimeout = '0s') =>
    h.client.workflow.start('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `${model}-${randomUUID().slice(0, 8)}`,
      args: [
        {
          model,
          dataset: { uri },
          task: { type: 'multiclass', label: 'Species' },
          train: { model: 'mlp', epochs: 10, hiddenLayers: [8] },
          operator: { timeout: operatorTimeout },
        },
      ],
    });

  it('follows a run to its end, printing each stage, and lists it by model and outcome', async () => {
    const model = `views-${randomUUID().slice(0, 6)}`;
    const handle = await start(model, penguinsUri);
    const followed = await runCli(['status', handle.workflowId, '--follow']);
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, new RegExp(`model ${model}\\s+outcome promoted\\s+version 1`));
    for (const stage of [
      'validateData',
      'splitAndSample',
      'fitPreprocessor',
      'train',
      'evaluate',
      'register',
      'promote',
    ]) {
      assert.match(followed.stdout, new RegExp(`✔ ${stage}\\s+completed`), stage);
    }

    // Visibility is eventually consistent: give the listing a few seconds to catch up.
    let listed: { workflowId: string; outcome: string }[] = [];
    for (
      let i = 0;
      i < 20 && !listed.some((r) => r.workflowId === handle.workflowId && r.outcome === 'promoted');
      i++
    ) {
      const runs = await runCli(['runs', '--model', model, '--outcome', 'promoted', '--json']);
      assert.equal(runs.code, 0, runs.stderr);
      listed = JSON.parse(runs.stdout) as typeof listed;
      if (!listed.length) await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(
      listed.map((r) => r.workflowId),
      [handle.workflowId],
    );
  });

  it('shows a live epoch bar for the training stage, from its heartbeat', async () => {
    const handle = await h.client.workflow.start('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `views-bar-${randomUUID().slice(0, 8)}`,
      args: [
        {
          model: `views-bar-${randomUUID().slice(0, 6)}`,
          dataset: { uri: penguinsUri },
          task: { type: 'multiclass', label: 'Species' },
          // Far more epochs than the bar needs: on a quiet machine 400 finished before a poll saw one (the run is terminated below).
          train: { model: 'mlp', epochs: 4000, batchSize: 8, earlyStopping: { enabled: false } },
          cache: { enabled: false },
        },
      ],
    });
    try {
      let shown = '';
      for (let i = 0; i < 120 && !/epoch [1-9]\d*\/4000/.test(shown); i++) {
        const status = await runCli(['status', handle.workflowId]);
        assert.equal(status.code, 0, status.stderr);
        shown = status.stdout;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.match(shown, /… train\s+running[\s\S]*\[█*░+\] epoch [1-9]\d*\/4000 {2}loss \d/);
    } finally {
      // The run may have ended on its own meanwhile; the bar was seen while it ran.
      await handle.terminate('test done').catch((error: unknown) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      });
    }
  });

  it('exits 1 for a failed run and says why', async () => {
    const handle = await start(
      `views-${randomUUID().slice(0, 6)}`,
      h.store.uriFor(`${h.prefix}/datasets/missing.json`),
    );
    await handle.result().catch(() => undefined);
    const status = await runCli(['status', handle.workflowId]);
    assert.equal(status.code, 1, status.stdout + status.stderr);
    assert.match(status.stdout, /DatasetNotFound/);
  });

  it('rejects bad filters and unknown runs with exit 2', async () => {
    assert.equal((await runCli(['runs', '--outcome', 'sideways'])).code, 2);
    assert.equal((await runCli(['runs', '--model', "x' OR 1=1"])).code, 2);
    const unknown = await runCli(['status', `no-such-run-${randomUUID()}`]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No run with workflow id/);
  });
});
