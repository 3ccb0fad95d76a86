/**
 * Peak RSS of a fresh worker process scoring each given Parquet file with batchPredict (its kernel VmHWM),
 * for row counts beyond the predict suite (e.g. flights-3m × 10). Usage, with the dev services up:
 *   npx tsx bench/experiments/batch-rss-scale.ts <model>:<version> <file.parquet>…
 */
import { createReadStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { readProcess } from '../proc-sampler';
import { startTestHarness } from '../../test/support/temporal';
import { startWorkerProcess } from '../../test/support/worker-process';

const h = await startTestHarness();
try {
  for (const file of process.argv.slice(3)) {
    const key = `${h.prefix}/datasets/${randomUUID()}.parquet`;
    await h.store.put(key, createReadStream(file));
    const taskQueue = `rss-${randomUUID()}`;
    const worker = startWorkerProcess(taskQueue);
    try {
      await worker.ready;
      const t = performance.now();
      const result = (await h.client.workflow.execute('batchPredict', {
        taskQueue,
        workflowId: `rss-${randomUUID()}`,
        args: [{ model: process.argv[2], dataset: { uri: h.store.uriFor(key) } }],
      })) as { rows: number };
      const reading = await readProcess(worker.child.pid as number);
      console.log(
        `${result.rows} rows  ${((performance.now() - t) / 1000).toFixed(1)} s  worker VmHWM ${Math.round((reading?.hwmBytes ?? 0) / 2 ** 20)} MiB`,
      );
    } finally {
      await worker.kill('SIGTERM');
    }
  }
} finally {
  await h.close();
}
