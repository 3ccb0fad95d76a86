/**
 * Peak RSS of a fresh worker process scoring each given Parquet file with batchPredict (its kernel VmHWM),
 * for row counts beyond the predict suite (e.g. flights-3m × 10). Usage, with the dev services up:
 *   npx tsx bench/experiments/batch-rss-scale.ts <model>:<version> <file.parquet>…
 */
import { createReadStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { batchPredictInFreshWorker } from '../predict/fresh-worker-run';
import { startTestHarness } from '../../test/support/temporal';

const h = await startTestHarness();
try {
  for (const file of process.argv.slice(3)) {
    const key = `${h.prefix}/datasets/${randomUUID()}.parquet`;
    await h.store.put(key, createReadStream(file));
    const run = await batchPredictInFreshWorker(h, {
      model: process.argv[2] as string,
      dataset: { uri: h.store.uriFor(key) },
    });
    console.log(
      `${run.result.rows} rows  ${run.seconds.toFixed(1)} s  worker VmHWM ${Math.round(run.peak / 2 ** 20)} MiB`,
    );
  }
} finally {
  await h.close();
}
