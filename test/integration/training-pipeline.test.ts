import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { rootFailure } from '../../contracts/errors';
import type { PipelineResult } from '../../workflows';
import { statusQuery } from '../../workflows/messages';
import { startTestHarness, type TestHarness } from '../support/temporal';

const require = createRequire(import.meta.url);
const penguinsPath = require.resolve('vega-datasets/data/penguins.json');

describe('trainingPipeline on the real Temporal dev server and MinIO', () => {
  let h: TestHarness;
  before(async () => {
    h = await startTestHarness();
  });
  after(async () => {
    await h?.close();
  });

  async function runPipeline(input: unknown) {
    const handle = await h.client.workflow.start('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `test-pipeline-${randomUUID()}`,
      args: [input],
    });
    return { handle, result: handle.result() as Promise<PipelineResult> };
  }

  it('fingerprints a real public dataset uploaded to MinIO', async () => {
    const key = `${h.prefix}/datasets/penguins.json`;
    const uploaded = await h.store.putFile(key, penguinsPath);
    const expected = createHash('sha256').update(await readFile(penguinsPath)).digest('hex');
    assert.equal(uploaded.sha256, expected);

    const { handle, result } = await runPipeline({
      model: 'penguins',
      dataset: { uri: h.store.uriFor(key) },
      task: { type: 'multiclass', label: 'Species' },
    });
    const output = await result;
    assert.equal(output.model, 'penguins');
    assert.deepEqual(output.dataset, { uri: h.store.uriFor(key), sha256: expected, bytes: uploaded.bytes });
    assert.deepEqual(
      output.stages.map((s) => [s.name, s.state]),
      [['validateInput', 'completed'], ['fingerprintDataset', 'completed']],
    );

    const status = await handle.query(statusQuery);
    assert.equal(status.outcome, 'registered');
    assert.equal(status.model, 'penguins');

    const description = await handle.describe();
    const attributes = description.searchAttributes as Record<string, unknown[]>;
    assert.deepEqual(attributes.TrainyardModel, ['penguins']);
    assert.deepEqual(attributes.TrainyardStage, ['fingerprintDataset']);
    assert.deepEqual(attributes.TrainyardOutcome, ['registered']);
  });

  it('fails fast with InvalidPipelineConfig naming every bad field, before any activity', async () => {
    const { handle, result } = await runPipeline({
      model: 'Bad Name!',
      dataset: { uri: 'http://example.com/data.csv' },
      task: { type: 'ranking' },
      extra: true,
    });
    const error = await result.then(
      () => assert.fail('the run should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkflowFailedError);
    const failure = rootFailure(error);
    assert.equal(failure.type, 'InvalidPipelineConfig');
    for (const field of ['model', 'dataset.uri', 'task.type', 'task.label', '(root)']) {
      assert.match(failure.message, new RegExp(`- ${field.replace(/[.()]/g, '\\$&')}:`), `message names ${field}`);
    }
    const history = await handle.fetchHistory();
    const scheduled = history.events?.filter((e) => e.activityTaskScheduledEventAttributes) ?? [];
    assert.equal(scheduled.length, 0, 'no activity ran');
  });

  it('fails the stage with non-retryable DatasetNotFound for a missing object, after one attempt', async () => {
    const uri = h.store.uriFor(`${h.prefix}/datasets/missing.csv`);
    const { handle, result } = await runPipeline({ model: 'missing', dataset: { uri }, task: { type: 'binary', label: 'y' } });
    const error = await result.then(
      () => assert.fail('the run should fail'),
      (e: unknown) => e,
    );
    const failure = rootFailure(error);
    assert.equal(failure.type, 'DatasetNotFound');
    assert.match(failure.message, /trainyard data put/);
    const history = await handle.fetchHistory();
    const started = history.events?.filter((e) => e.activityTaskStartedEventAttributes) ?? [];
    assert.equal(started.length, 1);
    assert.equal(started[0]?.activityTaskStartedEventAttributes?.attempt, 1, 'not retried');
    const status = await handle.query(statusQuery);
    assert.equal(status.outcome, 'failed');
    assert.equal(status.stages.at(-1)?.error?.type, 'DatasetNotFound');
  });

  it('refuses a dataset URI in a bucket the worker does not own, as InvalidPipelineConfig', async () => {
    const { result } = await runPipeline({
      model: 'elsewhere',
      dataset: { uri: 's3://some-other-bucket/data.csv' },
      task: { type: 'binary', label: 'y' },
    });
    const failure = rootFailure(await result.then(() => assert.fail('the run should fail'), (e: unknown) => e));
    assert.equal(failure.type, 'InvalidPipelineConfig');
    assert.match(failure.message, /some-other-bucket/);
  });
});
