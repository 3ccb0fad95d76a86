import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { SplitAndSampleResult, ValidateDataResult } from '../../contracts/stage-results';
import { loadConfig } from '../../lib/config';
import { createArtifactStore } from '../../lib/store/create-store';
import type { PipelineResult } from '../../workflows';
import { runCli, startWorkerProcess } from '../support/cli';
import { parsePrometheusText, samplesOf, type PrometheusSample } from '../support/prometheus-text';
import { publicDatasetPath } from '../support/public-data';

async function listenOnFreePort(): Promise<Server> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function freeLoopbackAddress(): Promise<string> {
  const server = await listenOnFreePort();
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

/** What each activity of a run returned, read back from the run's history. */
async function activityResults(client: Client, workflowId: string): Promise<Map<string, unknown>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const typeByScheduledId = new Map<string, string>();
  const results = new Map<string, unknown>();
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeByScheduledId.set(String(event.eventId), scheduled.activityType?.name ?? '');
    const completed = event.activityTaskCompletedEventAttributes;
    const payload = completed?.result?.payloads?.[0];
    if (completed && payload)
      results.set(
        typeByScheduledId.get(String(completed.scheduledEventId)) ?? '',
        defaultPayloadConverter.fromPayload(payload),
      );
  }
  return results;
}

describe('worker Prometheus endpoint (real worker process, real Temporal, real MinIO)', () => {
  const config = loadConfig();
  const store = createArtifactStore(config.store);
  const taskQueue = `test-metrics-${randomUUID()}`;
  let metricsAddress = '';
  let worker: ReturnType<typeof startWorkerProcess>;
  let connection: Connection;
  let client: Client;

  before(async () => {
    metricsAddress = await freeLoopbackAddress();
    worker = startWorkerProcess({
      TRAINYARD_TASK_QUEUE: taskQueue,
      METRICS_ADDRESS: metricsAddress,
      LOG_LEVEL: 'info',
    });
    await worker.waitForLine(/trainyard worker started/);
    connection = await Connection.connect({ address: config.temporal.address });
    client = new Client({ connection, namespace: config.temporal.namespace });
  });
  after(async () => {
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await once(worker.child, 'exit');
    }
    await connection?.close();
  });

  const scrape = async (): Promise<PrometheusSample[]> => {
    const response = await fetch(`http://${metricsAddress}/metrics`);
    assert.equal(response.status, 200);
    return parsePrometheusText(await response.text());
  };

  it('serves SDK metrics, stage durations, rows processed and the registered model’s metrics after a pipeline run', async () => {
    const key = `test/${randomUUID().slice(0, 8)}/datasets/penguins.json`;
    await store.put(key, await readFile(publicDatasetPath('penguins.json')));
    const model = `metrics-${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start('trainingPipeline', {
      taskQueue,
      workflowId: `${model}-run`,
      args: [
        {
          model,
          dataset: { uri: store.uriFor(key) },
          task: { type: 'multiclass', label: 'Species' },
          train: { model: 'mlp', epochs: 10, hiddenLayers: [8] },
        },
      ],
    });
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.version, 1, `registered: ${result.outcome}`);

    const samples = await scrape();
    const mine = { model };

    // The SDK's own runtime metrics, for this worker's task queue.
    const completedWorkflows = samplesOf(samples, 'temporal_workflow_completed', { task_queue: taskQueue });
    assert.ok(
      completedWorkflows.some((s) => s.value >= 1),
      `temporal_workflow_completed for ${taskQueue}`,
    );
    assert.ok(
      samplesOf(samples, 'temporal_activity_execution_latency_count', { task_queue: taskQueue }).length > 0,
      'SDK activity latency',
    );

    // One completed duration observation per stage of the run, in seconds buckets.
    for (const stage of ['validateData', 'splitAndSample', 'fitPreprocessor', 'train', 'evaluate', 'registerModel']) {
      const [count] = samplesOf(samples, 'trainyard_stage_duration_seconds_count', {
        ...mine,
        stage,
        outcome: 'completed',
      });
      assert.ok(count && count.value >= 1, `duration count for ${stage}`);
    }
    // Our labels, plus the ones the SDK puts on every activity metric (camelCase, unlike its own metrics' task_queue).
    const [validateCount] = samplesOf(samples, 'trainyard_stage_duration_seconds_count', {
      ...mine,
      stage: 'validateData',
    });
    assert.deepEqual(Object.keys(validateCount?.labels ?? {}).sort(), [
      'activityType',
      'model',
      'namespace',
      'outcome',
      'stage',
      'taskQueue',
    ]);
    assert.equal(validateCount?.labels.taskQueue, taskQueue);
    const [trainSum] = samplesOf(samples, 'trainyard_stage_duration_seconds_sum', { ...mine, stage: 'train' });
    const trainMs = result.stages.find((s) => s.name === 'train')?.durationMs ?? 0;
    assert.ok(
      trainSum && trainSum.value > 0 && trainSum.value <= trainMs / 1000 + 1,
      `train took ${trainSum?.value} s; the workflow saw ${trainMs} ms`,
    );
    assert.ok(
      samplesOf(samples, 'trainyard_stage_duration_seconds_bucket', { ...mine, stage: 'train', le: '3600' }).length ===
        1,
      'seconds buckets',
    );

    // Rows: what validateData and splitAndSample reported to the workflow.
    const reported = await activityResults(client, handle.workflowId);
    const validation = reported.get('validateData') as ValidateDataResult;
    const split = reported.get('splitAndSample') as SplitAndSampleResult;
    const penguinRows = (JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as unknown[]).length;
    assert.equal(validation.rows, penguinRows);
    assert.deepEqual(
      samplesOf(samples, 'trainyard_rows_processed_total', { ...mine, stage: 'validateData' }).map((s) => s.value),
      [penguinRows],
    );
    for (const splitName of ['train', 'validation', 'test'] as const) {
      assert.deepEqual(
        samplesOf(samples, 'trainyard_rows_processed_total', {
          ...mine,
          stage: 'splitAndSample',
          split: splitName,
        }).map((s) => s.value),
        [split.rows[splitName]],
        splitName,
      );
    }

    // The registered version's evaluation metrics, exactly as the workflow returned them.
    assert.ok(Object.keys(result.metrics).length > 0);
    for (const [metric, value] of Object.entries(result.metrics)) {
      const gauges = samplesOf(samples, 'trainyard_model_metric', { ...mine, version: '1', metric });
      assert.equal(gauges.length, 1, metric);
      assert.ok(
        Math.abs((gauges[0]?.value ?? Number.NaN) - value) <= 1e-9 * Math.max(1, Math.abs(value)),
        `${metric}: ${gauges[0]?.value} vs ${value}`,
      );
    }

    // No dataset URI ever becomes a label.
    assert.ok(
      samples.every((s) => !Object.values(s.labels).some((v) => v.includes(key))),
      'no dataset URI in labels',
    );
  });

  it('records a failed stage attempt with outcome "failed"', async () => {
    const model = `metrics-failed-${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start('trainingPipeline', {
      taskQueue,
      workflowId: `${model}-run`,
      args: [
        {
          model,
          dataset: { uri: store.uriFor(`test/${randomUUID()}/missing.json`) },
          task: { type: 'multiclass', label: 'Species' },
        },
      ],
    });
    try {
      const failed = { stage: 'fingerprintDataset', outcome: 'failed', taskQueue };
      let counts: PrometheusSample[] = [];
      for (let i = 0; i < 60 && counts.length === 0; i++) {
        counts = samplesOf(await scrape(), 'trainyard_stage_duration_seconds_count', failed);
        if (counts.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.equal(counts.length, 1, 'a failed fingerprintDataset attempt was recorded');
      assert.ok((counts[0]?.value ?? 0) >= 1);
    } finally {
      // The run may wait for an operator after a non-retryable failure; this test is done with it.
      await handle.terminate('metrics test done').catch(() => undefined);
    }
  });

  it('refuses a METRICS_ADDRESS that is not IP:port with exit code 2, naming the variable', async () => {
    const { code, stderr } = await runCli(['worker'], { METRICS_ADDRESS: 'localhost:9464' });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /METRICS_ADDRESS: expected IP:port/);
  });

  it('stops with a clear message when the metrics port is taken', async () => {
    const taken = await listenOnFreePort();
    try {
      const { port } = taken.address() as { port: number };
      const { code, stderr } = await runCli(
        ['worker'],
        { METRICS_ADDRESS: `127.0.0.1:${port}`, TRAINYARD_TASK_QUEUE: `test-${randomUUID()}` },
        60_000,
      );
      assert.equal(code, 1, stderr);
      assert.match(
        stderr,
        new RegExp(`Cannot serve Prometheus metrics on METRICS_ADDRESS=127\\.0\\.0\\.1:${port}: .*in use`),
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
