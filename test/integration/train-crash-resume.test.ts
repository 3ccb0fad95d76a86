import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { loadConfig } from '../../lib/config';
import { mulberry32 } from '../../lib/model/memory-batch-source';
import { readObject, readObjectIfExists } from '../../lib/store/read-object';
import { stageKey } from '../../lib/run-keys';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * Crash-resume, the way it happens in production: the worker process running `train` is SIGKILLed
 * mid-training, once its epoch-2 checkpoint is in the store; a new worker process picks the retried
 * attempt up, which resumes from the last checkpoint, so at most the epoch in progress at the kill is run
 * again. The kill is timed by the checkpoint pointer, not by the server's view of the heartbeat: the SDK
 * sends heartbeat details at most every 24 s, and training is now fast enough to finish in that time.
 */
const pipelineSource = readFileSync(new URL('../../workflows/training-pipeline.ts', import.meta.url), 'utf8');
const trainIsWired = /\btrain\(/.test(pipelineSource);
const EPOCHS = 40;
const ROUNDS = 150;

describe(
  'train survives a SIGKILLed worker (real worker processes, Temporal, MinIO)',
  { skip: trainIsWired ? false : 'trainingPipeline does not call train yet' },
  () => {
    const taskQueue = `crash-resume-${randomUUID()}`;
    const model = `crash-resume-${randomUUID().slice(0, 8)}`;
    const workers: WorkerProcess[] = [];
    let store: ArtifactStore;
    let connection: Connection;
    let client: Client;

    before(async () => {
      const config = loadConfig({
        ...process.env,
        S3_ENDPOINT: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000',
        TRAINYARD_STORE: 's3',
      });
      store = createArtifactStore(config.store);
      await store.ensureReady();
      connection = await Connection.connect({ address: config.temporal.address });
      client = new Client({ connection, namespace: config.temporal.namespace });
    });

    after(async () => {
      for (const worker of workers) await worker.kill('SIGKILL');
      await connection?.close();
    });

    it('resumes from the last checkpoint and re-runs at most one epoch', { timeout: 15 * 60_000 }, async () => {
      const datasetKey = `test/${model}/dataset.csv`;
      await store.put(datasetKey, noisyBinaryCsv(30_000, 6, 7), { contentType: 'text/csv' });

      const first = startWorkerProcess(taskQueue);
      workers.push(first);
      await first.ready;
      const workflowId = `crash-resume-${randomUUID()}`;
      const handle = await client.workflow.start('trainingPipeline', {
        taskQueue,
        workflowId,
        args: [
          {
            model,
            dataset: { uri: store.uriFor(datasetKey) },
            task: { type: 'binary', label: 'label' },
            // Small batches and many epochs keep training going long enough for the kill to land mid-training.
            train: {
              model: 'mlp',
              hiddenLayers: [64, 64],
              epochs: EPOCHS,
              batchSize: 16,
              earlyStopping: { enabled: false },
            },
          },
        ],
      });

      const observed = await waitForCheckpoint(
        store,
        handle,
        `${stageKey(model, workflowId, 'train', 'checkpoints')}/latest.json`,
        2,
        8 * 60_000,
      );
      await first.kill('SIGKILL');

      const second = startWorkerProcess(taskQueue);
      workers.push(second);
      await second.ready;
      await handle.result();

      const history = JSON.parse(
        (await readObject(store, stageKey(model, workflowId, 'train', 'history.json'))).toString('utf8'),
      ) as {
        epochs: Array<{ epoch: number; attempt: number }>;
        attempts: Array<{ attempt: number; resumedFromEpoch: number }>;
      };
      const evidence = {
        checkpointAtKill: observed,
        attempts: history.attempts,
        epochs: history.epochs.map((e) => [e.epoch, e.attempt]),
      };
      console.log(`crash-resume evidence: ${JSON.stringify(evidence)}`);

      const resumedAttempt = history.attempts.at(-1)!;
      assert.ok(history.attempts.length >= 2, `expected a retried attempt: ${JSON.stringify(evidence)}`);
      // The new attempt continued from the newest checkpoint the killed one wrote, not from epoch 0…
      assert.ok(resumedAttempt.resumedFromEpoch >= observed.epoch, JSON.stringify(evidence));
      const killedAttemptEpochs = history.epochs.filter((e) => e.attempt < resumedAttempt.attempt).map((e) => e.epoch);
      assert.equal(
        Math.max(...killedAttemptEpochs),
        resumedAttempt.resumedFromEpoch,
        'every checkpointed epoch was kept',
      );
      // …so the only work lost is the epoch in progress at the kill: each epoch appears exactly once.
      assert.deepEqual(
        history.epochs.map((e) => e.epoch),
        Array.from({ length: history.epochs.length }, (_, i) => i + 1),
      );
      assert.equal(history.epochs.length, EPOCHS);
      assert.ok(
        second.lines.some((line) => line.includes('training resumed from checkpoint')),
        'the new worker logged the resume',
      );
    });

    it(
      'gbdt: resumes from the last boosting round and grows the same trees as a run never killed',
      { timeout: 15 * 60_000 },
      async () => {
        const gbdtModel = `${model}-gbdt`;
        const datasetKey = `test/${gbdtModel}/dataset.csv`;
        await store.put(datasetKey, noisyBinaryCsv(150_000, 8, 11), { contentType: 'text/csv' });
        const input = {
          model: gbdtModel,
          dataset: { uri: store.uriFor(datasetKey) },
          task: { type: 'binary', label: 'label' },
          // Many small-leaved rounds without early stopping keep boosting going long enough for the kill to land mid-training.
          train: {
            model: 'gbdt',
            earlyStopping: { enabled: false },
            gbdt: { maxIterations: ROUNDS, minSamplesLeaf: 5 },
          },
          cache: { enabled: false },
        };

        // A queue of its own: the first test's surviving worker must not pick this run up.
        const gbdtQueue = `${taskQueue}-gbdt`;
        const first = startWorkerProcess(gbdtQueue);
        workers.push(first);
        await first.ready;
        const workflowId = `crash-resume-gbdt-${randomUUID()}`;
        const handle = await client.workflow.start('trainingPipeline', {
          taskQueue: gbdtQueue,
          workflowId,
          args: [input],
        });
        const observed = await waitForCheckpoint(
          store,
          handle,
          `${stageKey(gbdtModel, workflowId, 'train', 'checkpoints')}/latest.json`,
          2,
          8 * 60_000,
        );
        await first.kill('SIGKILL');

        const second = startWorkerProcess(gbdtQueue);
        workers.push(second);
        await second.ready;
        await handle.result();

        const history = JSON.parse(
          (await readObject(store, stageKey(gbdtModel, workflowId, 'train', 'history.json'))).toString('utf8'),
        ) as {
          epochs: Array<{ epoch: number; attempt: number }>;
          attempts: Array<{ attempt: number; resumedFromEpoch: number }>;
        };
        const evidence = {
          checkpointAtKill: observed,
          attempts: history.attempts,
          rounds: history.epochs.map((e) => [e.epoch, e.attempt]),
        };
        console.log(`gbdt crash-resume evidence: ${JSON.stringify(evidence)}`);
        const resumedAttempt = history.attempts.at(-1)!;
        assert.ok(history.attempts.length >= 2, `expected a retried attempt: ${JSON.stringify(evidence)}`);
        assert.ok(resumedAttempt.resumedFromEpoch >= observed.epoch, JSON.stringify(evidence));
        assert.deepEqual(
          history.epochs.map((e) => e.epoch),
          Array.from({ length: ROUNDS }, (_, i) => i + 1),
          'each round once',
        );
        assert.ok(
          second.lines.some((line) => line.includes('training resumed from checkpoint')),
          'the new worker logged the resume',
        );

        // The same input, never killed, on the surviving worker: the very same trees.
        const uninterruptedId = `crash-resume-gbdt-whole-${randomUUID()}`;
        await client.workflow.execute('trainingPipeline', {
          taskQueue: gbdtQueue,
          workflowId: uninterruptedId,
          args: [input],
        });
        const trees = async (id: string) =>
          (await readObject(store, `${stageKey(gbdtModel, id, 'train', 'model')}/trees.json`)).toString('utf8');
        assert.equal(await trees(workflowId), await trees(uninterruptedId));
      },
    );
  },
);

/** Polls the run's newest-checkpoint pointer in the store until it names `minEpoch` or later. */
async function waitForCheckpoint(
  store: ArtifactStore,
  handle: WorkflowHandle,
  pointerKey: string,
  minEpoch: number,
  timeoutMs: number,
): Promise<{ epoch: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pointer = await readObjectIfExists(store, pointerKey);
    const epoch = pointer ? (JSON.parse(pointer.toString('utf8')) as { epoch: number }).epoch : 0;
    if (epoch >= minEpoch) return { epoch };
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING')
      throw new Error(`the run ended (${description.status.name}) before train checkpointed epoch ${minEpoch}`);
    await sleep(100);
  }
  throw new Error(`train did not checkpoint epoch ${minEpoch} within ${timeoutMs} ms`);
}

/** A binary label that depends on several features plus noise: learnable, but no single column leaks it. */
function noisyBinaryCsv(rows: number, features: number, seed: number): string {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const header = [...Array.from({ length: features }, (_, i) => `x${i}`), 'label'].join(',');
  const lines = [header];
  for (let r = 0; r < rows; r++) {
    const x = Array.from({ length: features }, () => gaussian());
    const score = x.reduce((s, v, i) => s + v * (i % 2 === 0 ? 1 : -0.7), 0) + gaussian();
    lines.push([...x.map((v) => v.toFixed(4)), score > 0 ? 'yes' : 'no'].join(','));
  }
  return `${lines.join('\n')}\n`;
}
