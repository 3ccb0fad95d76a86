import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { openDuckDb } from '../../lib/data/duckdb';
import { quoteStringLiteral } from '../../lib/data/identifiers';
import { rocAuc } from '../../lib/evaluation/metrics';
import type { PipelineResult } from '../../workflows';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';

/** Every SAMPLE_EVERY-th flight of flights-3m in time order: ~50,000 real flights, January to June 2001. */
const SAMPLE_EVERY = 60;

/**
 * The default pipeline on real flights (label: delayed more than 15 minutes, split by time on `date`)
 * against the baseline the issue names: per-hour-of-day delay rates from the train split. The raw epoch
 * of `date` can only extrapolate under a time split; a model that does not learn the time of day (or
 * better) from it loses to this one-line baseline.
 */
describe('default pipeline on a flights sample vs the hour-of-day baseline (real Temporal, MinIO)', () => {
  let h: TestHarness;
  let dir: string;
  before(async () => {
    h = await startTestHarness();
    dir = await mkdtemp(path.join(os.tmpdir(), 'trainyard-flights-'));
  });
  after(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('beats the hour-of-day delay rates on the June test rows', async () => {
    const sample = path.join(dir, 'flights.parquet');
    const file = publicDatasetPath('flights-3m.parquet');
    const session = await openDuckDb({ allowedDirectories: [path.dirname(file), dir] });
    try {
      await session.run(
        `COPY (SELECT * EXCLUDE (n) FROM (SELECT *, row_number() OVER (ORDER BY date, origin, destination, delay, distance) AS n
           FROM read_parquet(${quoteStringLiteral(file)})) WHERE n % ${SAMPLE_EVERY} = 0) TO ${quoteStringLiteral(sample)} (FORMAT parquet)`,
      );
      const key = `${h.prefix}/datasets/flights-sample.parquet`;
      await h.store.put(key, await readFile(sample));
      const handle = await h.client.workflow.start('trainingPipeline', {
        taskQueue: h.taskQueue,
        workflowId: `flights-${h.prefix.split('/').at(-1)}`,
        args: [
          {
            model: 'flights-delay',
            dataset: { uri: h.store.uriFor(key) },
            task: { type: 'binary', label: { column: 'delay', op: '>', value: 15, name: 'delayed' } },
            split: { timeColumn: 'date' },
          },
        ],
      });
      const result = (await handle.result()) as PipelineResult;
      assert.equal(result.decision, 'blessed', result.reasons.join(' | '));

      // The baseline, fitted on the very train split the pipeline wrote and scored on its test split.
      const splits: Record<string, string> = {};
      for (const artifact of result.stages.find((s) => s.name === 'splitAndSample')?.artifacts ?? []) {
        const name = artifact.metadata?.split;
        if (artifact.kind !== 'split' || typeof name !== 'string') continue;
        splits[name] = path.join(dir, `${name}.parquet`);
        await pipeline(await h.store.get(h.store.keyFor(artifact.uri)), createWriteStream(splits[name]));
      }
      assert.ok(splits.train && splits.test, 'the split stage wrote train and test files');
      const scored = await session.all<{ delayed: boolean; rate: number }>(
        `WITH rates AS (SELECT hour(date) AS h, avg(CASE WHEN delayed THEN 1.0 ELSE 0.0 END) AS rate FROM read_parquet(${quoteStringLiteral(splits.train)}) GROUP BY h)
         SELECT t.delayed, coalesce(r.rate, 0) AS rate FROM read_parquet(${quoteStringLiteral(splits.test)}) t LEFT JOIN rates r ON hour(t.date) = r.h`,
      );
      const baseline = rocAuc(
        Float32Array.from(scored, (r) => (r.delayed ? 1 : 0)),
        Float32Array.from(scored, (r) => r.rate),
      );
      const model = result.metrics.roc_auc ?? Number.NaN;
      assert.ok(baseline > 0.55, `the hour of day carries signal (${baseline})`);
      assert.ok(model > baseline, `model ROC-AUC ${model} should beat the hour-of-day baseline's ${baseline}`);
    } finally {
      await session.close();
    }
  });
});
