import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { PipelineResult } from '../../workflows';
import type { PipelineStatus } from '../../workflows/messages';
import { resolveBinary, TEMPORAL_CLI } from '../../scripts/dev/binaries';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';
import { scheduledActivityCounts } from '../support/pipeline-runs';

/**
 * The Temporal CLI is one of the doors the README documents: start a run with a pasted JSON input,
 * read its `status` query, and retry a stage stopped on bad data with the `retryStage` update.
 */
describe('trainingPipeline through the Temporal CLI (real server, worker and MinIO)', () => {
  let h: TestHarness;
  let temporalCli: string;
  let penguinsUri: string;
  let unlabelledUri: string;
  const started: string[] = [];
  before(async () => {
    h = await startTestHarness();
    temporalCli = (await resolveBinary(TEMPORAL_CLI)).path;
    const rows = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as Record<string, unknown>[];
    penguinsUri = await upload('penguins.json', JSON.stringify(rows));
    unlabelledUri = await upload('unlabelled.json', JSON.stringify(rows.map(({ Species: _species, ...rest }) => rest)));
  });
  after(async () => {
    for (const id of started)
      await h.client.workflow
        .getHandle(id)
        .terminate('test done')
        .catch(() => undefined);
    await h?.close();
  });

  async function upload(name: string, body: string): Promise<string> {
    const key = `${h.prefix}/datasets/${name}`;
    await h.store.put(key, body);
    return h.store.uriFor(key);
  }

  async function temporal(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(temporalCli, [
      ...args,
      '--address',
      h.config.temporal.address,
      '--namespace',
      h.config.temporal.namespace,
    ]);
    return stdout;
  }

  async function queryStatus(workflowId: string): Promise<PipelineStatus> {
    const out = JSON.parse(
      await temporal('workflow', 'query', '--workflow-id', workflowId, '--type', 'status', '--output', 'json'),
    ) as { queryResult: PipelineStatus[] };
    return out.queryResult[0] as PipelineStatus;
  }

  it('start with pasted JSON → awaiting-operator on bad data → `temporal workflow update execute --name retryStage` → promoted', async () => {
    const workflowId = `temporal-cli-${randomUUID().slice(0, 8)}`;
    const model = `tcli-${randomUUID().slice(0, 6)}`;
    const input = {
      model,
      dataset: { uri: unlabelledUri },
      task: { type: 'multiclass', label: 'Species' },
      train: { model: 'mlp', epochs: 10 },
    };
    await temporal(
      'workflow',
      'start',
      '--type',
      'trainingPipeline',
      '--task-queue',
      h.taskQueue,
      '--workflow-id',
      workflowId,
      '--input',
      JSON.stringify(input),
    );
    started.push(workflowId);

    let status = await queryStatus(workflowId);
    for (let i = 0; i < 200 && status.outcome !== 'awaiting-operator'; i++) {
      await new Promise((r) => setTimeout(r, 300));
      status = await queryStatus(workflowId);
    }
    assert.equal(status.outcome, 'awaiting-operator');
    assert.equal(status.awaitingOperator?.failedStage, 'validateData');

    const ack = JSON.parse(
      await temporal(
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        workflowId,
        '--name',
        'retryStage',
        '--input',
        JSON.stringify({ set: { 'dataset.uri': penguinsUri }, by: 'temporal-cli' }),
        '--output',
        'json',
      ),
    ) as { result?: { restartFrom?: string } };
    assert.equal(ack.result?.restartFrom, 'fingerprintDataset', JSON.stringify(ack));

    const handle = h.client.workflow.getHandle(workflowId);
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    assert.equal(result.version, 1);
    const counts = await scheduledActivityCounts(handle);
    assert.equal(counts.getChampion, 1);
    assert.equal(counts.splitAndSample, 1);
  });
});
