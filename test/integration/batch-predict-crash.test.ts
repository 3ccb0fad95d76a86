import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchPredictResult } from '../../contracts/batch-predict-input';
import { queryPredictionParts } from '../support/prediction-parts';
import { uniqueModelName } from '../support/registry-fixtures';
import { publicDatasetPath } from '../support/public-data';
import { PENGUINS_SPECIES, trainVersion, uploadPenguins } from '../support/serving-models';
import { startTestHarness, type TestHarness } from '../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

const COPIES = 10;
const CHUNK_ROWS = 12;

/**
 * Crash-resume the way it happens in production: the worker process running predictBatch is SIGKILLed once
 * some parts are in the store; a new worker process takes the retried attempt, which skips the finished
 * parts. The kill is timed by the parts in the store, not by the server's view of the heartbeat.
 */
describe('batchPredict survives a SIGKILLed worker (real worker processes, Temporal, MinIO)', () => {
  let h: TestHarness;
  const workers: WorkerProcess[] = [];
  before(async () => {
    h = await startTestHarness();
  });
  after(async () => {
    for (const worker of workers) await worker.kill('SIGKILL');
    await h?.close();
  });

  it('resumes at the first missing part and writes every row once', async () => {
    const record = await trainVersion(h, await uploadPenguins(h), uniqueModelName('batch-crash'), {
      task: PENGUINS_SPECIES,
    });
    const penguins = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as unknown[];
    const rows = Array.from({ length: COPIES }, () => penguins).flat();
    const datasetKey = `${h.prefix}/datasets/penguins-x${COPIES}.json`;
    await h.store.put(datasetKey, JSON.stringify(rows));
    const outputKey = `${h.prefix}/predictions/crash`;
    const partsPrefix = `${outputKey}/${record.model}/v${record.version}/parts/`;

    const taskQueue = `batch-crash-${randomUUID()}`;
    const first = startWorkerProcess(taskQueue);
    workers.push(first);
    await first.ready;
    const handle = await h.client.workflow.start('batchPredict', {
      taskQueue,
      workflowId: `test-batch-crash-${randomUUID()}`,
      args: [
        {
          model: `${record.model}@champion`,
          dataset: { uri: h.store.uriFor(datasetKey) },
          output: { uri: h.store.uriFor(outputKey) },
          chunkRows: CHUNK_ROWS,
        },
      ],
    });
    let partsAtKill = 0;
    while (partsAtKill < 5) {
      await sleep(50);
      partsAtKill = 0;
      for await (const _object of h.store.list(partsPrefix)) partsAtKill++;
    }
    await first.kill('SIGKILL');

    const second = startWorkerProcess(taskQueue);
    workers.push(second);
    await second.ready;
    const result = (await handle.result()) as BatchPredictResult;

    const chunks = Math.ceil(rows.length / CHUNK_ROWS);
    const evidence = JSON.stringify({ partsAtKill, chunks, written: result.chunksWritten });
    console.log(`batch crash-resume evidence: ${evidence}`);
    assert.equal(result.chunks, chunks);
    assert.ok(partsAtKill < chunks, `the kill landed mid-run: ${evidence}`);
    // The retried attempt wrote only what the killed one had not: at most the parts missing at the kill.
    assert.ok(result.chunksWritten <= chunks - partsAtKill, evidence);
    assert.equal(result.rows, rows.length);

    const [counts] = await queryPredictionParts<{ n: number; indexes: number; ids: number; last: number }>(
      h.store,
      result.predictionsUri,
      (table) =>
        `SELECT count(*) AS n, count(DISTINCT row_index) AS indexes, count(DISTINCT prediction_id) AS ids, max(row_index) AS last FROM ${table}`,
    );
    assert.deepEqual(counts, { n: rows.length, indexes: rows.length, ids: rows.length, last: rows.length - 1 });
  });
});
