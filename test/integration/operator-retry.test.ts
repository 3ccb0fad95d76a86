import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import { listVersionNumbers } from '../../lib/registry';
import type { PipelineResult } from '../../workflows';
import { abortUpdate, retryStageSignal, statusQuery } from '../../workflows/messages';
import { resolveBinary, TEMPORAL_CLI } from '../../scripts/dev/binaries';
import { runCli } from '../support/cli';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';
import { failureOf, scheduledActivityCounts, waitForOutcome } from '../support/pipeline-runs';

const FAST_TRAIN = { model: 'mlp' as const, epochs: 8, batchSize: 32, hiddenLayers: [8] };

describe('operator retry, re-run cache and reset (real Temporal, real MinIO)', () => {
  let h: TestHarness;
  let penguinsUri: string;
  let unlabelledUri: string;
  before(async () => {
    h = await startTestHarness();
    const rows = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as Record<string, unknown>[];
    penguinsUri = await upload('penguins.json', JSON.stringify(rows));
    // The bad batch: the label column is missing, so validateData fails non-retryably.
    unlabelledUri = await upload('unlabelled.json', JSON.stringify(rows.map(({ Species: _species, ...rest }) => rest)));
  });
  after(async () => {
    await h?.close();
  });

  async function upload(name: string, body: string): Promise<string> {
    const key = `${h.prefix}/datasets/${name}`;
    await h.store.put(key, body);
    return h.store.uriFor(key);
  }

  const modelName = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;
  const penguins = (model: string, extra: Partial<PipelineInputDraft> = {}): PipelineInputDraft => ({
    model,
    dataset: { uri: penguinsUri },
    task: { type: 'multiclass', label: 'Species' },
    train: FAST_TRAIN,
    ...extra,
  });
  const start = (input: PipelineInputDraft): Promise<WorkflowHandle> =>
    h.client.workflow.start('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `retry-test-${randomUUID()}`,
      args: [input],
    });

  it('bad data waits for an operator; `trainyard retry --dataset` with fixed data completes without re-running earlier stages', async () => {
    const model = modelName('retry-data');
    const handle = await start(penguins(model, { dataset: { uri: unlabelledUri } }));
    const waiting = await waitForOutcome(handle, 'awaiting-operator');
    assert.equal(waiting.awaitingOperator?.failedStage, 'validateData');
    assert.equal(waiting.stages.at(-1)?.state, 'failed');
    assert.equal(
      waiting.stages.find((s) => s.name === 'validateData')?.retry?.maximumAttempts,
      5,
      'status shows the stage retry policy',
    );
    const attributes = (await handle.describe()).searchAttributes as Record<string, unknown[]>;
    assert.deepEqual(attributes.TrainyardOutcome, ['awaiting-operator']);

    const status = await runCli(['status', handle.workflowId]);
    assert.equal(status.code, 4, status.stdout + status.stderr);
    assert.match(status.stdout, /awaiting an operator .*validateData failed/);

    // An invalid retry is refused by the run and changes nothing.
    const refused = await runCli(['retry', handle.workflowId, '--set', 'model=other']);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /model: cannot change in a retry/);

    const retried = await runCli(['retry', handle.workflowId, '--dataset', penguinsUri, '--reason', 'labels restored']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /Retrying .* from fingerprintDataset/);

    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    assert.equal(result.version, 1);
    const runs = await scheduledActivityCounts(handle);
    assert.equal(runs.getChampion, 1, 'the champion was resolved once');
    assert.equal(runs.fingerprintDataset, 2, 'the new dataset was fingerprinted');
    assert.equal(runs.validateData, 2);
    for (const stage of ['splitAndSample', 'fitPreprocessor', 'train', 'evaluate', 'registerModel', 'promote'])
      assert.equal(runs[stage], 1, stage);
    const final = await handle.query(statusQuery);
    assert.equal(final.retries?.length, 1);
    assert.equal(final.retries?.[0]?.restartFrom, 'fingerprintDataset');
    assert.deepEqual(final.retries?.[0]?.changedPaths, ['dataset.uri']);
    assert.equal(final.retries?.[0]?.failure.type, 'DataValidationFailed');
  });

  it('a stage failing on config after validation is retried from that stage only, by a signal as the Temporal UI sends it', async () => {
    const model = modelName('retry-config');
    // A time split on a column the data lacks: splitAndSample fails with InvalidPipelineConfig after validation.
    // (Evaluate's columns can no longer fail this late: validateData checks them.)
    const handle = await start(penguins(model, { split: { timeColumn: 'no_such_column' } }));
    const waiting = await waitForOutcome(handle, 'awaiting-operator');
    assert.equal(waiting.awaitingOperator?.failedStage, 'splitAndSample');
    await handle.signal(retryStageSignal, { set: { 'split.timeColumn': 'Beak Length (mm)' }, by: 'ui-user' });
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    const runs = await scheduledActivityCounts(handle);
    for (const stage of ['getChampion', 'fingerprintDataset', 'validateData'])
      assert.equal(runs[stage], 1, `${stage} kept`);
    assert.equal(runs.splitAndSample, 2);
    for (const stage of ['fitPreprocessor', 'train', 'evaluate'])
      assert.equal(runs[stage], 1, `${stage} ran once, after the fix`);
  });

  it('abort ends a waiting run as PipelineAborted carrying the stage error; without an answer it fails with the original error', async () => {
    const aborted = await start(penguins(modelName('abort'), { dataset: { uri: unlabelledUri } }));
    await waitForOutcome(aborted, 'awaiting-operator');
    const cli = await runCli(['abort', aborted.workflowId, '--reason', 'bad batch']);
    assert.equal(cli.code, 0, cli.stderr);
    const failure = await failureOf(aborted);
    assert.equal(failure.type, 'PipelineAborted');
    assert.match(failure.message, /bad batch.*validateData failed with DataValidationFailed/);
    await assert.rejects(aborted.executeUpdate(abortUpdate, { args: [{}] }), 'a closed run takes no more updates');

    const timedOut = await start(
      penguins(modelName('timeout'), { dataset: { uri: unlabelledUri }, operator: { timeout: '2s' } }),
    );
    assert.equal((await failureOf(timedOut)).type, 'DataValidationFailed');
  });

  it('an identical re-run is served from the cache for every stage; cache.rerun forces one stage', async () => {
    const model = modelName('cache');
    // Manual promotion that times out: the run registers but the champion stays unset, so the re-run's inputs are identical.
    const input = penguins(model, { promotion: { policy: 'manual', approvalTimeout: '1s' } });
    const first = await start(input);
    const firstResult = (await first.result()) as PipelineResult;
    const cacheable = ['validateData', 'splitAndSample', 'fitPreprocessor', 'train', 'evaluate'];
    for (const stage of firstResult.stages.filter((s) => cacheable.includes(s.name)))
      assert.equal(stage.cache?.hit, false, stage.name);

    const second = (await (await start(input)).result()) as PipelineResult;
    for (const name of cacheable) {
      const stage = second.stages.find((s) => s.name === name);
      assert.equal(stage?.cache?.hit, true, `${name} from the cache`);
      assert.equal(stage?.cache?.fromWorkflowId, first.workflowId);
    }
    assert.deepEqual(second.metrics, firstResult.metrics);
    assert.equal((await fetch(second.reportUrl)).status, 200, 'the cached report link is freshly signed');

    const forced = (await (await start({ ...input, cache: { rerun: ['train'] } })).result()) as PipelineResult;
    const train = forced.stages.find((s) => s.name === 'train');
    assert.equal(train?.cache?.hit, false);
    assert.equal(train?.cache?.bypassed, 'rerun requested');
    assert.equal(forced.stages.find((s) => s.name === 'splitAndSample')?.cache?.hit, true);
  });

  it('`trainyard run --follow` stops at awaiting-operator with exit 4; --no-cache runs every stage', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'trainyard-run-'));
    const env = { TRAINYARD_TASK_QUEUE: h.taskQueue };
    const badConfig = path.join(dir, 'bad.json');
    await writeFile(badConfig, JSON.stringify(penguins(modelName('follow'), { dataset: { uri: unlabelledUri } })));
    const followed = await runCli(['run', '--config', badConfig, '--follow'], env);
    assert.equal(followed.code, 4, followed.stdout + followed.stderr);
    assert.match(followed.stderr, /waiting for an operator[\s\S]*trainyard retry/);
    const workflowId = /workflow id: (\S+)/.exec(followed.stdout)?.[1];
    assert.ok(workflowId);
    assert.equal((await runCli(['abort', workflowId, '--reason', 'test done'], env)).code, 0);

    const config = path.join(dir, 'good.json');
    await writeFile(config, JSON.stringify(penguins(modelName('no-cache'))));
    assert.equal((await runCli(['run', '--config', config, '--follow'], env)).code, 0);
    const uncached = await runCli(['run', '--config', config, '--follow', '--no-cache', '--json'], env);
    assert.equal(uncached.code, 0, uncached.stderr);
    const result = JSON.parse(uncached.stdout.slice(uncached.stdout.indexOf('{'))) as PipelineResult;
    for (const stage of result.stages.filter((s) => s.cache)) {
      assert.deepEqual([stage.name, stage.cache?.hit, stage.cache?.bypassed], [stage.name, false, 'disabled']);
    }
    assert.equal((await runCli(['run', '--config', config, '--rerun', 'sideways'], env)).code, 2);
  });

  it('a Temporal CLI reset re-runs the tail of a finished run without a duplicate registry version', async () => {
    const model = modelName('reset');
    const handle = await start(penguins(model));
    const first = (await handle.result()) as PipelineResult;
    assert.equal(first.version, 1);

    // Reset to the workflow task that followed train's completion: evaluate, register and promote run again.
    const events = (await handle.fetchHistory()).events ?? [];
    const trainScheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'train');
    const trainCompletedAt = events.findIndex(
      (e) =>
        e.activityTaskCompletedEventAttributes &&
        String(e.activityTaskCompletedEventAttributes.scheduledEventId) === String(trainScheduled?.eventId),
    );
    const resetPoint = events.slice(trainCompletedAt).find((e) => e.workflowTaskCompletedEventAttributes);
    assert.ok(resetPoint?.eventId, 'a workflow task after train');

    const temporal = await resolveBinary(TEMPORAL_CLI);
    const { stdout } = await promisify(execFile)(temporal.path, [
      'workflow',
      'reset',
      '--address',
      h.config.temporal.address,
      '--namespace',
      h.config.temporal.namespace,
      '--workflow-id',
      handle.workflowId,
      '--event-id',
      String(resetPoint.eventId),
      '--reason',
      'reset test',
      '--output',
      'json',
    ]);
    const newRunId = (JSON.parse(stdout) as { runId?: string }).runId;
    assert.ok(newRunId, stdout);

    const reset = (await h.client.workflow.getHandle(handle.workflowId, newRunId).result()) as PipelineResult;
    assert.equal(reset.outcome, 'promoted');
    assert.equal(reset.version, 1, 'the same version, not a new one');
    assert.deepEqual(await listVersionNumbers(h.store, model), [1], 'no duplicate version');
    const runs = await scheduledActivityCounts(h.client.workflow.getHandle(handle.workflowId, newRunId));
    assert.equal(runs.train, 1, 'train is not re-run: its completion predates the reset point');
    assert.equal(runs.registerModel, 1);
  });
});
