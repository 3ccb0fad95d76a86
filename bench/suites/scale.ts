import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { quoteStringLiteral } from '../../lib/data/column-values';
import { openDuckDb } from '../../lib/data/duckdb';
import { publicDatasetPath } from '../../test/support/public-data';
import { startTestHarness } from '../../test/support/temporal';
import { round, type BenchRow, type Suite } from '../harness';
import { firstLine, runPipeline, type PipelineRun } from '../pipeline-run';

/** How many copies of flights-3m each run trains on; the first is the base the others are compared with. */
const FACTORS = (process.env.BENCH_SCALE_FACTORS ?? '1,10').split(',').map(Number);
const DATA_DIR = path.join(os.homedir(), '.cache', 'trainyard', 'bench-data');
const BASE_TARGET_SECONDS = 300;
const AUC_FLOOR = 0.63;

const suite: Suite = {
  description: `trainyard's default pipeline (no train settings) on flights-3m × ${FACTORS.join(', ')}: wall time, stage times, ROC-AUC, peak RSS`,
  async run() {
    const h = await startTestHarness();
    const rows: BenchRow[] = [];
    const runs = new Map<number, PipelineRun>();
    try {
      for (const factor of FACTORS) {
        console.error(`scale: flights-3m × ${factor} …`);
        const localFile = await flightsTimes(factor);
        const run = await runPipeline(h, {
          name: `flights-x${factor}`,
          task: 'binary',
          label: { column: 'delay', op: '>', value: 15, name: 'delayed' },
          localFile,
          timeColumn: 'date',
        }).catch((error: unknown) => ({ error: firstLine(error) }));
        if ('error' in run) {
          rows.push({ data: `flights-3m × ${factor}`, outcome: `failed: ${run.error}` });
          continue;
        }
        runs.set(factor, run);
        const stageSeconds = (name: string) =>
          round(
            (run.stages.filter((s) => s.name === name).reduce((sum, s) => sum + (s.durationMs ?? 0), 0) ?? 0) / 1000,
            1,
          );
        rows.push({
          data: `flights-3m × ${factor}`,
          'test rows': run.testRows,
          outcome: run.outcome,
          'wall s': round(run.wallSeconds, 1),
          'validate s': stageSeconds('validateData'),
          'split s': stageSeconds('splitAndSample'),
          'fit preprocessor s': stageSeconds('fitPreprocessor'),
          'train s': stageSeconds('train'),
          'evaluate s': stageSeconds('evaluate'),
          'ROC-AUC': round(run.metrics.roc_auc ?? Number.NaN, 4),
          'peak RSS MiB': Math.round(run.peakRssBytes / 2 ** 20),
        });
      }
    } finally {
      await h.close();
    }
    return { rows, notes: verdicts(runs), meta: { factors: FACTORS } };
  },
};

export default suite;

/** The targets: the base run within 5 minutes at ROC-AUC ≥ 0.63; k× the data within k× its time. */
function verdicts(runs: Map<number, PipelineRun>): string[] {
  const baseFactor = FACTORS[0] as number;
  const base = runs.get(baseFactor);
  if (!base) return ['the base run failed: no ratios'];
  const notes = [
    `× ${baseFactor}: ${round(base.wallSeconds, 1)} s (target ≤ ${BASE_TARGET_SECONDS} s: ${base.wallSeconds <= BASE_TARGET_SECONDS ? 'met' : 'MISSED'}), ROC-AUC ${round(base.metrics.roc_auc ?? Number.NaN, 4)} (target ≥ ${AUC_FLOOR}: ${(base.metrics.roc_auc ?? 0) >= AUC_FLOOR ? 'met' : 'MISSED'})`,
  ];
  for (const [factor, run] of runs) {
    if (factor === baseFactor) continue;
    const allowed = factor / baseFactor;
    const ratio = run.wallSeconds / base.wallSeconds;
    notes.push(
      `× ${factor}: ${round(run.wallSeconds, 1)} s = ${round(ratio, 2)}× the base run's time for ${allowed}× the rows (target ≤ ${allowed}×: ${ratio <= allowed ? 'met' : 'MISSED'}), ROC-AUC ${round(run.metrics.roc_auc ?? Number.NaN, 4)}`,
    );
  }
  notes.push(
    'Each run is the whole pipeline through the real Temporal and MinIO with an in-process worker: upload excluded, wall = start to result. × k is flights-3m repeated k times; copy i > 0 moves delay by a hash-derived −3…+3 minutes and distance by −10…+10 miles, so no row repeats exactly and the label stays ≈ as frequent.',
  );
  return notes;
}

/** flights-3m itself for 1, else k jittered copies of it, written once into the bench data cache. */
async function flightsTimes(factor: number): Promise<string> {
  const source = publicDatasetPath('flights-3m.parquet');
  if (factor === 1) return source;
  const out = path.join(DATA_DIR, `flights-3m-x${factor}.parquet`);
  if (existsSync(out)) return out;
  await mkdir(DATA_DIR, { recursive: true });
  const partial = `${out}.partial`;
  const session = await openDuckDb({ allowedDirectories: [path.dirname(source), DATA_DIR] });
  try {
    const jitter = (range: number) =>
      `CAST(hash(f.date, f.origin, f.destination, r.i) % ${2 * range + 1} AS INTEGER) - ${range}`;
    await session.run(
      `COPY (
         SELECT f.date,
                CASE WHEN r.i = 0 THEN f.delay ELSE f.delay + ${jitter(3)} END AS delay,
                CASE WHEN r.i = 0 THEN f.distance ELSE greatest(1, f.distance + ${jitter(10)}) END AS distance,
                f.origin, f.destination
         FROM read_parquet(${quoteStringLiteral(source)}) f CROSS JOIN range(${Math.trunc(factor)}) r(i)
       ) TO ${quoteStringLiteral(partial)} (FORMAT parquet)`,
    );
    await rename(partial, out);
  } finally {
    await session.close();
    await rm(partial, { force: true });
  }
  return out;
}
