import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TrainConfig } from '../../contracts/stage-config';
import { trainGbdt } from '../../lib/model/gbdt/train-gbdt';
import { memoryBatchSource, mulberry32 } from '../../lib/model/memory-batch-source';
import type { TrainJob } from '../../lib/model/trainer';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { median, round, type Suite } from '../harness';

const ROWS = Number(process.env.BENCH_GBDT_ROWS ?? 1_000_000);
const FEATURES = Number(process.env.BENCH_GBDT_FEATURES ?? 20);
const ROUNDS = Number(process.env.BENCH_GBDT_ROUNDS ?? 30);

const suite: Suite = {
  description: `gbdt boosting rounds on ${ROWS.toLocaleString('en')} generated rows × ${FEATURES} features (binary, default settings, ${ROUNDS} rounds, no early stopping), ${process.env.BENCH_GBDT_HELPERS ? `${process.env.BENCH_GBDT_HELPERS} histogram threads` : 'default histogram threads'}`,
  async run() {
    const train = generate(ROWS, 1);
    const validation = generate(Math.round(ROWS / 5), 2);
    const root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-gbdt-'));
    const store = new FsArtifactStore(root);
    await store.ensureReady();
    try {
      const job: TrainJob = {
        task: 'binary',
        settings: TrainConfig.parse({
          model: 'gbdt',
          earlyStopping: { enabled: false },
          gbdt: { maxIterations: ROUNDS },
        }) as TrainJob['settings'],
        seed: 42,
        inputsFingerprint: 'bench',
        keys: { checkpoints: 'gbdt/checkpoints', model: 'gbdt/model', history: 'gbdt/history.json' },
        runId: 'bench',
        attempt: 1,
      };
      const startedMs = performance.now();
      const outcome = await trainGbdt(
        {
          store,
          train,
          validation,
          ...(process.env.BENCH_GBDT_HELPERS ? { histogramThreads: Number(process.env.BENCH_GBDT_HELPERS) } : {}),
        },
        job,
      );
      const totalMs = performance.now() - startedMs;
      const roundMs = outcome.records.map((r) => r.epochMs);
      const last = outcome.records.at(-1);
      return {
        rows: [
          {
            rows: ROWS,
            features: FEATURES,
            rounds: outcome.epochsRun,
            'median round ms': round(median(roundMs), 0),
            'rows/s per round': Math.round((ROWS / median(roundMs)) * 1000),
            'binning + rounds + saving s': round(totalMs / 1000, 1),
            'validation log loss': round(last?.validationLoss ?? Number.NaN, 4),
            'validation accuracy': round(last?.validationAccuracy ?? Number.NaN, 4),
          },
        ],
        notes: [
          'A round grows one tree (31 leaves) on every row: histogram per split (the smaller child; the larger by subtraction), then scores train and validation rows.',
        ],
      };
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
};

/** A binary label from a few features, an interaction and noise: trees need many rounds to fit it. */
function generate(rows: number, seed: number) {
  const random = mulberry32(seed);
  const x = new Float32Array(rows * FEATURES);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let score = 0;
    for (let f = 0; f < FEATURES; f++) {
      const v = random() * 2 - 1;
      x[r * FEATURES + f] = v;
      if (f < 5) score += (f % 2 === 0 ? 1 : -1) * (f + 1) * v;
    }
    score += 4 * (x[r * FEATURES] as number) * (x[r * FEATURES + 1] as number) + (random() - 0.5) * 4;
    y[r] = score > 0 ? 1 : 0;
  }
  return memoryBatchSource({ x, y, featureCount: FEATURES, classes: ['0', '1'] });
}

export default suite;
