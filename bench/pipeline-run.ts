import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PipelineInputDraft, TaskType } from '../contracts/pipeline-input';
import type { StageStatus } from '../contracts/stages';
import type { ArtifactStore } from '../lib/store/artifact-store';
import type { TestHarness } from '../test/support/temporal';
import type { PipelineResult } from '../workflows/training-pipeline';

/** A dataset file and the task trainyard's default pipeline is asked to learn from it. */
export interface PipelineDataset {
  name: string;
  task: TaskType;
  label: PipelineInputDraft['task']['label'];
  /** A local file to upload. */
  localFile: string;
  exclude?: string[];
  timeColumn?: string;
  /** Sets `train.model`; unset means the default pipeline with no `train` settings. */
  model?: string;
}

/** One pipeline run as the benches read it. */
export interface PipelineRun {
  /** The registered model's name and the version the run registered (undefined when it registered none). */
  model: string;
  version?: number;
  outcome: string;
  metrics: Record<string, number>;
  zeroRule: Record<string, number>;
  testRows: number;
  /** Start to result, upload excluded. */
  wallSeconds: number;
  /** fitPreprocessor + train. */
  fitSeconds: number;
  peakRssBytes: number;
  stages: Array<{ name: string; durationMs?: number; note?: string }>;
  /** Local copies of the train/validation/test Parquet files the split wrote, when asked for. */
  splits: Record<string, string>;
}

/**
 * Uploads `dataset` and runs trainyard's pipeline on it through the real Temporal and MinIO of `h`, with
 * every setting at its default except those the dataset names. `splitsDir` downloads the split files.
 */
export async function runPipeline(h: TestHarness, dataset: PipelineDataset, splitsDir?: string): Promise<PipelineRun> {
  const key = `${h.prefix}/datasets/${dataset.name}${path.extname(dataset.localFile)}`;
  await h.store.put(key, createReadStream(dataset.localFile));
  const input: PipelineInputDraft = {
    model: `bench-${dataset.name}-${randomUUID().slice(0, 6)}`,
    dataset: { uri: h.store.uriFor(key) },
    task: { type: dataset.task, label: dataset.label },
    ...(dataset.timeColumn ? { split: { timeColumn: dataset.timeColumn } } : {}),
    ...(dataset.exclude ? { preprocess: { exclude: dataset.exclude } } : {}),
    ...(dataset.model ? { train: { model: dataset.model } as PipelineInputDraft['train'] } : {}),
  };
  const peak = peakRss();
  const started = performance.now();
  const handle = await h.client.workflow.start('trainingPipeline', {
    taskQueue: h.taskQueue,
    workflowId: input.model,
    args: [input],
  });
  const result = (await handle.result()) as PipelineResult;
  const wallSeconds = (performance.now() - started) / 1000;
  const peakRssBytes = await peak.stop();

  const evaluation = JSON.parse(await readText(h.store, h.store.keyFor(result.evaluationUri))) as {
    baselines: { zeroRule: { metrics: Record<string, number> } };
    testRows: number;
  };
  const stage = (name: string): StageStatus | undefined => result.stages.findLast((s) => s.name === name);
  const splits: Record<string, string> = {};
  if (splitsDir) {
    for (const artifact of stage('splitAndSample')?.artifacts ?? []) {
      const split = artifact.metadata?.split;
      if (artifact.kind !== 'split' || typeof split !== 'string') continue;
      splits[split] = path.join(splitsDir, `${split}.parquet`);
      await pipeline(await h.store.get(h.store.keyFor(artifact.uri)), createWriteStream(splits[split]));
    }
  }
  const fitMs = (stage('fitPreprocessor')?.durationMs ?? 0) + (stage('train')?.durationMs ?? 0);
  return {
    model: input.model,
    ...(result.version !== undefined ? { version: result.version } : {}),
    outcome: result.outcome,
    metrics: result.metrics,
    zeroRule: evaluation.baselines.zeroRule.metrics,
    testRows: evaluation.testRows,
    wallSeconds,
    fitSeconds: fitMs / 1000,
    peakRssBytes,
    stages: result.stages.map((s) => ({ name: s.name, durationMs: s.durationMs, note: s.note })),
    splits,
  };
}

/**
 * This process's peak RSS over a window: the kernel's high-water mark after resetting it (Linux ≥ 4.0),
 * or else a 20 ms sampler (which misses peaks while the event loop is busy).
 */
export function peakRss(): { stop(): Promise<number> } {
  let viaKernel = true;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    viaKernel = false;
  }
  let sampled = process.memoryUsage.rss();
  const timer = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage.rss())), 20);
  return {
    async stop() {
      clearInterval(timer);
      sampled = Math.max(sampled, process.memoryUsage.rss());
      if (!viaKernel) return sampled;
      const status = await readFile('/proc/self/status', 'utf8');
      return Math.max(sampled, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
    },
  };
}

export async function readText(store: ArtifactStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The innermost cause's message: a failed workflow wraps the activity's failure, which holds the reason. */
export function firstLine(error: unknown): string {
  let inner = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  return (
    (inner instanceof Error
      ? `${inner.name === 'Error' ? '' : `${inner.name}: `}${inner.message}`
      : String(inner)
    ).split('\n')[0] ?? ''
  );
}
