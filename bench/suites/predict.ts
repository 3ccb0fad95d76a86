import { startTestHarness } from '../../test/support/temporal';
import type { Suite, SuiteResult } from '../harness';
import { benchBatch } from '../predict/batch';
import { benchOnline } from '../predict/online';

const PARTS = (process.env.BENCH_PREDICT_PARTS ?? 'online,batch').split(',').map((p) => p.trim());
const numbers = (text: string) => text.split(',').map((n) => Number(n.trim()));
const BATCH_SIZES = numbers(process.env.BENCH_BATCH_SIZES ?? '1000000,3000000');
const BATCH_MODELS = (process.env.BENCH_BATCH_MODELS ?? 'default').split(',').map((m) => m.trim());
const BATCH_RUNS = Number(process.env.BENCH_BATCH_RUNS ?? 1);

const suite: Suite = {
  description: `prediction (${PARTS.join(' and ')}): online = trainyard serve vs a bare node:http handler; batch = batchPredict on flights-3m vs the bare model's predict on encoded features`,
  async run(): Promise<SuiteResult> {
    const result: SuiteResult = { rows: [], tables: [], notes: [], meta: { parts: PARTS } };
    if (PARTS.includes('online')) {
      const online = await benchOnline();
      result.tables?.push({ title: 'online', rows: online.rows });
      result.notes?.push(...online.notes);
      Object.assign(result.meta as object, { online: online.meta });
    }
    if (PARTS.includes('batch')) {
      const h = await startTestHarness();
      try {
        const batch = await benchBatch(h, { sizes: BATCH_SIZES, models: BATCH_MODELS, runs: BATCH_RUNS });
        result.tables?.push({ title: 'batch', rows: batch.rows });
        result.notes?.push(...batch.notes);
        Object.assign(result.meta as object, { batch: { sizes: BATCH_SIZES, models: BATCH_MODELS, runs: BATCH_RUNS } });
      } finally {
        // A failed close must not hide the failure that stopped the bench.
        await h.close().catch((error: unknown) => console.error('closing the bench worker:', error));
      }
    }
    return result;
  },
};

export default suite;
