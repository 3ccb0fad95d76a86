import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { aliasHistory, getVersion, listVersionNumbers } from '../../lib/registry';
import { modelPrefix } from '../../lib/registry/keys';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { installTemporalRuntime } from '../../worker/runtime';
import type { registryScenario } from '../support/registry-test-workflows';
import { fakeRunOutputs, uniqueModelName } from '../support/registry-fixtures';

type ScenarioResult = Awaited<ReturnType<typeof registryScenario>>;

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** The CLI as users run it, in a child process. */
async function trainyard(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(repoRoot, 'bin', 'trainyard.mjs'), ...args],
      { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn' } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('registry activities and the approval CLI on the real Temporal dev server and MinIO', () => {
  let store: ArtifactStore;
  let client: Client;
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `test-registry-${randomUUID()}`;
  const model = uniqueModelName('activities');

  before(async () => {
    const config = loadConfig();
    if (config.store.kind !== 's3')
      throw new Error('Integration tests run against the real MinIO: set S3_ENDPOINT and TRAINYARD_STORE=s3.');
    const logger = createLogger({ level: config.log.level, format: 'json' });
    installTemporalRuntime(logger);
    store = createArtifactStore(config.store);
    await store.ensureReady();
    nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    worker = await Worker.create({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: path.join(import.meta.dirname, '..', 'support', 'registry-test-workflows.ts'),
      activities: createActivities({ store, storeSettings: config.store, logger }),
      shutdownGraceTime: '2 seconds',
    });
    running = worker.run();
    connection = await Connection.connect({ address: config.temporal.address });
    client = new Client({ connection, namespace: config.temporal.namespace });
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await nativeConnection?.close();
    if (store) for await (const info of store.list(modelPrefix(model))) await store.delete(info.key);
  });

  async function runScenario(): Promise<{ workflowId: string; runId: string; result: ScenarioResult }> {
    const workflowId = `test-registry-${randomUUID()}`;
    const handle = await client.workflow.start('registryScenario', {
      taskQueue,
      workflowId,
      args: [fakeRunOutputs(model)],
    });
    return { workflowId, runId: handle.firstExecutionRunId, result: (await handle.result()) as ScenarioResult };
  }

  it('registers, re-registers idempotently, promotes, and resolves the champion', async () => {
    const { workflowId, runId, result } = await runScenario();
    assert.equal(result.championBefore, null, 'no champion yet: null, not undefined, crosses the payload boundary');
    assert.deepEqual(result.registered, {
      model,
      version: 1,
      uri: store.uriFor(`${modelPrefix(model)}versions/1.json`),
      existed: false,
    });
    assert.deepEqual(result.registeredAgain, { ...result.registered, existed: true });
    assert.deepEqual(result.promoted, { model, alias: 'champion', version: 1 });
    assert.deepEqual(result.promotedAgain, result.promoted, 'promoting again is a no-op with the same result');
    assert.equal(result.champion?.version, 1);
    assert.deepEqual(result.champion?.metrics, { accuracy: 0.9 });
    assert.equal(result.missingVersion?.type, 'ModelVersionNotFound');
    assert.match(result.missingVersion?.message ?? '', /has no version 999\. The only version is 1\./);

    const record = await getVersion(store, model, 1);
    assert.deepEqual(record.lineage.run, { workflowId, runId });
    assert.match(record.lineage.code.version, /^\d+\.\d+\.\d+/);
    assert.match(record.lineage.code.gitSha ?? '', /^[0-9a-f]{40}$/, 'this checkout has a git sha');
    assert.ok(
      Math.abs(Date.parse(record.createdAt) - Date.now()) < 5 * 60_000,
      'createdAt is the activity’s scheduled time',
    );
    const history = await aliasHistory(store, model);
    assert.equal(history.length, 1);
    assert.match(history[0]?.requestId ?? '', new RegExp(`^${workflowId}/${runId}/`));
  });

  it('trainyard approve | reject deliver the decision to a waiting run, and a second decision is refused (exit 2)', async () => {
    const start = (workflowId: string) =>
      client.workflow.start('approvalScenario', { taskQueue, workflowId, args: [] });
    const approvedId = `test-approve-${randomUUID()}`;
    const rejectedId = `test-reject-${randomUUID()}`;
    const [approved, rejected] = await Promise.all([start(approvedId), start(rejectedId)]);
    const [approve, reject] = await Promise.all([
      trainyard('approve', approvedId, '--by', 'ada', '--reason', 'metrics hold on every slice'),
      trainyard('reject', rejectedId, '--by', 'grace', '--reason', 'fails the fairness review', '--json'),
    ]);
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, new RegExp(`^Approved \\(version 7\\): ${approvedId}\nTemporal UI: http`));
    assert.equal(reject.code, 0, reject.stderr);
    assert.deepEqual(JSON.parse(reject.stdout), {
      workflowId: rejectedId,
      decision: 'reject',
      accepted: true,
      version: 7,
    });

    const second = await trainyard('reject', approvedId, '--by', 'mallory', '--reason', 'changed my mind');
    assert.equal(second.code, 2);
    assert.match(second.stderr, new RegExp(`Run "${approvedId}" did not accept the reject: already approved by ada`));

    await Promise.all([approved.signal('close'), rejected.signal('close')]);
    assert.deepEqual(await approved.result(), {
      decision: 'approve',
      by: 'ada',
      reason: 'metrics hold on every slice',
    });
    assert.deepEqual(await rejected.result(), { decision: 'reject', by: 'grace', reason: 'fails the fairness review' });
  });

  it('concurrent pipeline runs get consecutive versions', async () => {
    const results = await Promise.all([runScenario(), runScenario(), runScenario()]);
    assert.deepEqual(results.map((r) => r.result.registered.version).sort(), [2, 3, 4]);
    assert.deepEqual(await listVersionNumbers(store, model), [1, 2, 3, 4]);
    // Each run promotes twice (two requests). The second is a no-op unless another run moved the
    // champion in between, so 3 to 6 moves; but no request is ever applied twice.
    const moves = (await aliasHistory(store, model)).slice(1);
    assert.ok(moves.length >= 3 && moves.length <= 6, `${moves.length} moves`);
    assert.equal(new Set(moves.map((m) => m.requestId)).size, moves.length, 'no request applied twice');
    for (const r of results)
      assert.ok(moves.some((m) => m.requestId?.startsWith(`${r.workflowId}/`) && m.to === r.result.registered.version));
  });
});
