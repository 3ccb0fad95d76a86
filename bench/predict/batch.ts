import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createReadStream } from 'node:fs';
import type { BatchPredictResult } from '../../contracts/batch-predict-input';
import { streamChunks } from '../../lib/data/column-values';
import { encodeColumns, type RawValue } from '../../lib/data/encode-columns';
import { loadDataset } from '../../lib/data/dataset';
import type { LocalDataset } from '../../lib/data/materialize';
import { checkInputColumns } from '../../lib/batch-predict/input-check';
import { loadVersion } from '../../lib/serving/load-model';
import { quoteIdentifier, quoteStringLiteral } from '../../lib/data/identifiers';
import { openDuckDb } from '../../lib/data/duckdb';
import { loadScorer } from '../../lib/evaluation/scorer';
import { getVersion } from '../../lib/registry';
import { publicDatasetPath } from '../../test/support/public-data';
import type { TestHarness } from '../../test/support/temporal';
import { median, round, type BenchRow } from '../harness';
import { runPipeline } from '../pipeline-run';
import { batchPredictInFreshWorker } from './fresh-worker-run';

const DATA_DIR = path.join(os.homedir(), '.cache', 'trainyard', 'bench-data');
/** Rows per encoded block the floor hands the model: the batch path's chunk size. */
const FLOOR_BLOCK_ROWS = 100_000;
const FLOOR_ROUNDS = 3;
const TARGET_RATIO_TO_FLOOR = 0.5;

export interface BatchBenchOptions {
  /** Row counts scored end to end: prefixes of flights-3m (the last one is usually all of it). */
  sizes: number[];
  /** train.model of each version scored ('default' = no train settings). */
  models: string[];
  /** End-to-end runs per (model, size); the table reports the median. */
  runs: number;
}

interface Measured {
  rows: BenchRow[];
  notes: string[];
}

/**
 * The batch half of `bench predict`: batchPredict scoring flights-3m end to end (Parquet in MinIO → the
 * workflow → Parquet parts in MinIO) against the floor, the bare model's predict on already-encoded
 * feature blocks, measured in the same process on the same rows.
 */
export async function benchBatch(h: TestHarness, options: BatchBenchOptions): Promise<Measured> {
  const source = publicDatasetPath('flights-3m.parquet');
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const uris = new Map<number, string>();
  for (const size of options.sizes) {
    const file = await flightsPrefix(source, size);
    const key = `${h.prefix}/datasets/flights-${size}.parquet`;
    await h.store.put(key, createReadStream(file));
    uris.set(size, h.store.uriFor(key));
  }
  for (const kind of options.models) {
    console.error(`predict/batch: training flights-3m (${kind}) …`);
    const trained = await runPipeline(h, {
      name: `predict-${kind}`,
      task: 'binary',
      label: { column: 'delay', op: '>', value: 15, name: 'delayed' },
      localFile: source,
      timeColumn: 'date',
      ...(kind === 'default' ? {} : { model: kind }),
    });
    if (trained.version === undefined) {
      const why = trained.stages.find((stage) => stage.name === 'evaluate')?.note ?? trained.outcome;
      rows.push({ model: kind, rows: null, 'end-to-end s': `not registered: ${why}` });
      notes.push(`${kind}: the pipeline registered no version to score (${why})`);
      continue;
    }
    const reference = `${trained.model}:${trained.version}`;
    const largest = Math.max(...options.sizes);
    // The floor runs after the end-to-end runs: its encoded blocks (hundreds of MiB) must not sit in their RSS.
    const endToEnd: { size: number; runs: { seconds: number; peak: number; result: BatchPredictResult }[] }[] = [];
    for (const size of options.sizes) {
      const runs: { seconds: number; peak: number; result: BatchPredictResult }[] = [];
      for (let i = 0; i < options.runs; i++) {
        console.error(`predict/batch: ${kind} on ${size} rows, run ${i + 1}/${options.runs} …`);
        runs.push(
          await batchPredictInFreshWorker(h, {
            model: reference,
            dataset: { uri: uris.get(size) as string },
            output: { uri: `${h.store.uriFor(`${h.prefix}/predictions/${kind}-${size}-${i}`)}/` },
          }),
        );
      }
      endToEnd.push({ size, runs });
    }
    const floor = await floorRowsPerSecond(h, trained.model, trained.version, await flightsPrefix(source, largest));
    let ratioAtLargest = Number.NaN;
    const peaks = new Map<number, number>();
    for (const { size, runs } of endToEnd) {
      const seconds = median(runs.map((r) => r.seconds));
      const peakMiB = median(runs.map((r) => r.peak)) / 2 ** 20;
      const rowsPerSecond = size / seconds;
      const ratio = rowsPerSecond / floor.rowsPerSecond;
      if (size === largest) ratioAtLargest = ratio;
      peaks.set(size, peakMiB);
      rows.push({
        model: kind === 'default' ? `default (${floor.format})` : `${kind} (${floor.format})`,
        rows: size,
        'end-to-end s': round(seconds, 1),
        'end-to-end rows/s': Math.round(rowsPerSecond),
        'floor rows/s': Math.round(floor.rowsPerSecond),
        'ratio to floor': round(ratio, 3),
        'peak RSS MiB': Math.round(peakMiB),
        chunks: runs[0]?.result.chunks ?? null,
        runs: runs.length,
      });
    }
    notes.push(
      `${kind}: end to end at ${largest} rows is ${round(ratioAtLargest, 3)}× the floor (target ≥ ${TARGET_RATIO_TO_FLOOR}: ${ratioAtLargest >= TARGET_RATIO_TO_FLOOR ? 'met' : 'missed'})`,
    );
    if (peaks.size >= 2) {
      const sizes = [...peaks.keys()].sort((a, b) => a - b);
      const small = peaks.get(sizes[0] as number) as number;
      const big = peaks.get(sizes[sizes.length - 1] as number) as number;
      notes.push(
        `${kind}: peak RSS ${Math.round(small)} MiB at ${sizes[0]} rows vs ${Math.round(big)} MiB at ${sizes[sizes.length - 1]} rows (${round(big / small, 2)}×)`,
      );
    }
  }
  return { rows, notes };
}

/**
 * The floor: the version's bare model (tfjs or gbdt) scoring feature blocks its own preprocessor already
 * encoded, block by block, with nothing else timed: no reading, no validation, no writing. Median of rounds.
 */
async function floorRowsPerSecond(
  h: TestHarness,
  model: string,
  version: number,
  file: string,
): Promise<{ rowsPerSecond: number; format: string }> {
  const record = await getVersion(h.store, model, version);
  const serving = await loadVersion(h.store, record);
  const scorer = await loadScorer(h.store, record.modelRef, record.lineage.preprocessor);
  const blocks: { x: Float32Array; rows: number }[] = [];
  const session = await openDuckDb({ allowedDirectories: [path.dirname(file), os.tmpdir()] });
  try {
    const local: LocalDataset = {
      uri: file,
      files: [file],
      format: 'parquet',
      compressed: false,
      bytes: 0,
      cleanup: async () => {},
    };
    const table = await loadDataset(session, local);
    // The batch path's own reading of each input (types, timestamps as epoch seconds), untimed here.
    const { selects } = checkInputColumns({
      model: `${model}:${version}`,
      columns: table.columns,
      inputs: serving.inputs,
      trainingColumns: table.columns.map((c) => c.name),
      keyColumns: [],
    });
    const projection = selects.map((s) => `${s.sql} AS ${quoteIdentifier(s.name)}`).join(', ');
    const names = selects.map((s) => s.name);
    let pending: RawValue[][] = names.map(() => []);
    let pendingRows = 0;
    const flush = () => {
      if (pendingRows === 0) return;
      const columns = Object.fromEntries(names.map((name, i) => [name, pending[i] as RawValue[]]));
      blocks.push({ x: encodeColumns(scorer.spec, columns, pendingRows).x, rows: pendingRows });
      pending = names.map(() => []);
      pendingRows = 0;
    };
    for await (const chunk of streamChunks(session, `SELECT ${projection} FROM ${table.table}`)) {
      chunk.columns.forEach((values, i) => {
        const target = pending[i] as RawValue[];
        for (const value of values) target.push(value as RawValue);
      });
      pendingRows += chunk.rows;
      if (pendingRows >= FLOOR_BLOCK_ROWS) flush();
    }
    flush();
  } finally {
    serving.dispose();
    await session.close();
  }
  const total = blocks.reduce((sum, b) => sum + b.rows, 0);
  const seconds: number[] = [];
  try {
    for (let r = 0; r < FLOOR_ROUNDS; r++) {
      const started = performance.now();
      for (const block of blocks) scorer.model.predict(block.x, block.rows);
      seconds.push((performance.now() - started) / 1000);
    }
  } finally {
    scorer.dispose();
  }
  return { rowsPerSecond: total / median(seconds), format: scorer.model.meta.format };
}

/** The first `rows` rows of flights-3m as its own Parquet file (all of it when rows ≥ its size), cached. */
async function flightsPrefix(source: string, rows: number): Promise<string> {
  const out = path.join(DATA_DIR, `flights-3m-first-${rows}.parquet`);
  if (existsSync(out)) return out;
  await mkdir(DATA_DIR, { recursive: true });
  const partial = `${out}.partial`;
  const session = await openDuckDb({ allowedDirectories: [path.dirname(source), DATA_DIR] });
  try {
    await session.run(
      `COPY (SELECT * FROM read_parquet(${quoteStringLiteral(source)}) LIMIT ${Math.trunc(rows)}) TO ${quoteStringLiteral(partial)} (FORMAT parquet)`,
    );
    await rename(partial, out);
  } finally {
    await session.close();
    await rm(partial, { force: true });
  }
  return out;
}
