import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { trainSettings } from '../../test/support/train-settings';
import { memoryBatchSource, mulberry32 } from '../../lib/model/memory-batch-source';
import { trainModel } from '../../lib/model/trainer';
import { FsArtifactStore } from '../../lib/store/fs-store';
import type { TfjsBackendName } from '../../lib/tfjs-backend';
import { median, round, type BenchRow, type Suite } from '../harness';

const ROWS = Number(process.env.BENCH_TRAIN_ROWS ?? 1_000_000);
const EPOCHS = Number(process.env.BENCH_TRAIN_EPOCHS ?? 3);
const BATCH = Number(process.env.BENCH_TRAIN_BATCH ?? 1024);
/** The plain-JS backend is ~10× slower: it trains on a slice so the suite ends in minutes. */
const CPU_ROWS = Number(process.env.BENCH_TRAIN_CPU_ROWS ?? 100_000);
const FEATURES = 32;
const TARGET_RATIO = 0.5;
const TORCH_PYTHON =
  process.env.TRAINYARD_TORCH_PYTHON ?? path.join(os.homedir(), '.cache', 'trainyard', 'venv', 'bin', 'python');

const require = createRequire(import.meta.url);
type Tf = typeof import('@tensorflow/tfjs');

const suite: Suite = {
  description: `training samples/s, MLP ${FEATURES}→64→64→1 (binary, Adam, batch ${BATCH}) on ${ROWS.toLocaleString('en')} generated rows, per tfjs backend, with PyTorch CPU as the peer in the same run`,
  async run() {
    const data = generateRows(ROWS, FEATURES, 42);
    const validation = generateRows(10_000, FEATURES, 43);
    const { tf, available, unavailable } = await backends();
    const root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-train-'));
    const store = new FsArtifactStore(root);
    await store.ensureReady();
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    const results: Partial<Record<TfjsBackendName | 'pytorch', number>> = {};
    try {
      for (const backend of available) {
        await tf.setBackend(backend);
        await tf.ready();
        const rowCount = backend === 'cpu' ? Math.min(CPU_ROWS, ROWS) : ROWS;
        const train = memoryBatchSource({
          x: data.x.subarray(0, rowCount * FEATURES),
          y: data.y.subarray(0, rowCount),
          featureCount: FEATURES,
          classes: ['0', '1'],
        });
        const outcome = await trainModel(
          {
            tfjs: { tf, backend },
            store,
            train,
            validation: memoryBatchSource({ ...validation, featureCount: FEATURES, classes: ['0', '1'] }),
          },
          {
            task: 'binary',
            settings: trainSettings({
              model: 'mlp',
              hiddenLayers: [64, 64],
              epochs: EPOCHS,
              batchSize: BATCH,
              learningRate: 0.01,
              earlyStopping: { enabled: false },
            }),
            seed: 42,
            inputsFingerprint: 'bench',
            keys: {
              checkpoints: `bench/${backend}/checkpoints`,
              model: `bench/${backend}/model`,
              history: `bench/${backend}/history.json`,
            },
            runId: `bench-${backend}`,
            attempt: 1,
          },
        );
        const perEpoch = outcome.records.map((r) => r.samplesPerSecond);
        results[backend] = median(perEpoch);
        rows.push({
          implementation: `tfjs ${backend}`,
          rows: rowCount,
          epochs: perEpoch.length,
          'median samples/s': Math.round(median(perEpoch)),
          'per-epoch samples/s': perEpoch.map((v) => Math.round(v)).join(' / '),
          'final val loss': round(outcome.records.at(-1)!.validationLoss, 4),
        });
      }
      const threadCounts = [...new Set([1, os.cpus().length])];
      const peers: number[] = [];
      for (const threads of threadCounts) {
        const torch = await runTorch(threads);
        if (!torch.ok) {
          notes.push(`PyTorch peer (${threads} thread${threads === 1 ? '' : 's'}) not run: ${torch.reason}`);
          continue;
        }
        peers.push(torch.median);
        rows.push({
          implementation: `pytorch ${torch.version} cpu (${torch.threads} thread${torch.threads === 1 ? '' : 's'})`,
          rows: ROWS,
          epochs: torch.perEpoch.length,
          'median samples/s': Math.round(torch.median),
          'per-epoch samples/s': torch.perEpoch.map((v) => Math.round(v)).join(' / '),
          'final val loss': null,
        });
      }
      // The peer is PyTorch at its best thread count here: the strongest reference, not the default.
      if (peers.length > 0) results.pytorch = Math.max(...peers);
    } finally {
      await rm(root, { recursive: true, force: true });
    }

    for (const reason of unavailable) notes.push(reason);
    const tfjsBest = (Object.entries(results) as Array<[string, number]>)
      .filter(([k]) => k !== 'pytorch')
      .sort((a, b) => b[1] - a[1])[0];
    if (tfjsBest && results.pytorch) {
      const ratio = tfjsBest[1] / results.pytorch;
      notes.push(
        `best backend: tfjs ${tfjsBest[0]} at ${round(ratio, 3)}× PyTorch's best thread count (target ≥ ${TARGET_RATIO}×): ${ratio >= TARGET_RATIO ? 'met' : 'missed'}`,
      );
      for (const [name, value] of Object.entries(results)) {
        if (name !== 'pytorch' && name !== tfjsBest[0])
          notes.push(`tfjs ${name}: ${round(value / results.pytorch, 2)}× PyTorch`);
      }
    }
    notes.push(
      `samples/s counts the training pass only (shuffle, batches, forward, backward, Adam); validation and checkpoints are excluded. ${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => round(l, 1))
        .join(' ')} at the end.`,
    );
    return { rows, notes, meta: { rows: ROWS, cpuRows: CPU_ROWS, epochs: EPOCHS, batchSize: BATCH, results } };
  },
};

export default suite;

/** Which tfjs backends load here; tfjs-node registers "tensorflow" on the same engine when its addon loads. */
async function backends(): Promise<{ tf: Tf; available: TfjsBackendName[]; unavailable: string[] }> {
  const unavailable: string[] = [];
  const available: TfjsBackendName[] = [];
  try {
    require('@tensorflow/tfjs-node');
    available.push('tensorflow');
  } catch (error) {
    unavailable.push(`tfjs tensorflow (native) not available: ${firstLine(error)} — see scripts/native-tfjs.sh`);
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(
    `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}${path.sep}`,
  );
  if (await tf.setBackend('wasm')) available.push('wasm');
  else unavailable.push('tfjs wasm backend failed to initialise');
  available.push('cpu');
  return { tf, available, unavailable };
}

function generateRows(rows: number, features: number, seed: number): { x: Float32Array; y: Float32Array } {
  // One labelling function for every split; only the rows differ by seed.
  const labelling = mulberry32(7);
  const weights = Array.from({ length: features }, () => labelling() * 2 - 1);
  const random = mulberry32(seed);
  const x = new Float32Array(rows * features);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let score = 0;
    for (let f = 0; f < features; f++) {
      const value = random() * 2 - 1;
      x[r * features + f] = value;
      score += value * (weights[f] as number);
    }
    y[r] = score + (random() - 0.5) > 0 ? 1 : 0;
  }
  return { x, y };
}

type TorchResult =
  { ok: true; version: string; threads: number; perEpoch: number[]; median: number } | { ok: false; reason: string };

async function runTorch(threads: number): Promise<TorchResult> {
  const python = existsSync(TORCH_PYTHON) ? TORCH_PYTHON : 'python3';
  const script = path.resolve('bench/peers/torch_mlp.py');
  try {
    const { stdout } = await promisify(execFile)(
      python,
      [script, String(ROWS), String(EPOCHS), String(BATCH), String(threads)],
      { maxBuffer: 1 << 20, timeout: 30 * 60_000 },
    );
    const parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      torch: string;
      threads: number;
      samplesPerSecond: number[];
      medianSamplesPerSecond: number;
    };
    return {
      ok: true,
      version: parsed.torch,
      threads: parsed.threads,
      perEpoch: parsed.samplesPerSecond,
      median: parsed.medianSamplesPerSecond,
    };
  } catch (error) {
    return {
      ok: false,
      reason: `${python} could not run bench/peers/torch_mlp.py (${firstLine(error)}); install PyTorch into ~/.cache/trainyard/venv: python3 -m venv ~/.cache/trainyard/venv && ~/.cache/trainyard/venv/bin/pip install torch numpy`,
    };
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
