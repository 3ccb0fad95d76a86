import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ArtifactRef } from '../../contracts/artifacts';
import type { ArtifactStore } from '../store/artifact-store';
import { downloadArtifact, readJsonArtifact } from './artifact-files';
import type { Batch, BatchSource } from './batches';
import { streamChunks, valueExpression, valueSourceOf, type CellValue } from './column-values';
import { openDuckDb, type DuckDbSession } from './duckdb';
import { encodeColumns, type ColumnValues } from './encode-columns';
import { preview } from './identifiers';
import { PreprocessorSpec } from './preprocessor-spec';
import { foldExpression } from './target-encoding';

export interface SplitBatchOptions {
  /** Per-class loss weights (SplitAndSampleResult.classWeights); each batch then carries per-row weights. */
  weightsByClass?: Record<string, number>;
  /** DuckDB threads for reading and shuffling; default: every core. */
  threads?: number;
  /** DuckDB memory limit for this source (a shuffle beyond it spills to disk); default 512MB, as training holds two sources open. */
  memoryLimit?: string;
}

const BATCH_SOURCE_MEMORY_LIMIT = '512MB';

/** Reads a preprocessor artifact, checking its checksum and schema. */
export function readPreprocessorSpec(store: ArtifactStore, ref: ArtifactRef): Promise<PreprocessorSpec> {
  return readJsonArtifact(store, ref, PreprocessorSpec);
}

/**
 * A split artifact (Parquet) as a stream of encoded batches. The file is downloaded once to a temp
 * directory and read through DuckDB chunk by chunk (≤ 2048 rows in JS at a time); each chunk goes
 * through `encodeColumns`, the same function evaluation and inference use. With `shuffleSeed`,
 * rows come in the order of hash(file row number, seed): the same order on every run, a different
 * one per seed (pass the epoch in the seed for a new order each epoch). `close()` removes the files.
 *
 * The one exception to "encoded like every other row": when this split is the very file the
 * preprocessor was fitted on (same sha256) and it target-encodes a column, each row also carries its
 * fold, and its target encoding comes from the other folds (see EncodeOptions.folds).
 */
export async function openSplitBatches(
  store: ArtifactStore,
  split: ArtifactRef,
  preprocessor: ArtifactRef,
  options: SplitBatchOptions = {},
): Promise<BatchSource> {
  const spec = await readPreprocessorSpec(store, preprocessor);
  const local = await openLocalSplit(store, split, {
    threads: options.threads,
    memoryLimit: options.memoryLimit ?? BATCH_SOURCE_MEMORY_LIMIT,
  });
  try {
    const needed = [
      ...new Map([
        ...spec.features.map((f) => [f.column, f.source] as const),
        [spec.label.column, spec.label.source] as const,
      ]).entries(),
    ];
    const missing = needed.filter(([name]) => !local.columnTypes.has(name)).map(([name]) => preview(name));
    if (missing.length > 0)
      throw new Error(`Split ${split.uri} lacks column(s) the preprocessor needs: ${missing.join(', ')}`);
    const outOfFold = await outOfFoldFolds(spec, split, local);
    const projection = [
      ...needed.map(([name, source]) => valueExpression(name, source)),
      ...(outOfFold ? [outOfFold] : []),
    ].join(', ');
    const weights = weightLookup(spec, options.weightsByClass);
    let reading = false;

    return {
      featureCount: spec.featureCount,
      featureNames: spec.featureNames,
      ...(spec.label.classes ? { classes: spec.label.classes } : {}),
      rows: local.rows,
      async *batches(batchSize: number, batchOptions: { shuffleSeed?: number } = {}): AsyncIterable<Batch> {
        if (!Number.isInteger(batchSize) || batchSize < 1)
          throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
        if (reading)
          throw new Error(
            'This BatchSource is already being read: finish (or break out of) one pass before starting the next',
          );
        reading = true;
        try {
          const shuffled = batchOptions.shuffleSeed !== undefined;
          const sql = shuffled
            ? `SELECT ${projection} FROM read_parquet($1, file_row_number = true) ORDER BY hash(file_row_number, CAST($2 AS BIGINT))`
            : `SELECT ${projection} FROM read_parquet($1)`;
          const params = shuffled ? [local.file, batchOptions.shuffleSeed as number] : [local.file];
          const assembler = new BatchAssembler(batchSize, spec.featureCount, weights !== undefined);
          for await (const chunk of streamChunks(local.session, sql, params)) {
            const columns: Record<string, ColumnValues> = {};
            needed.forEach(([name], i) => {
              columns[name] = chunk.columns[i] as CellValue[];
            });
            const encoded = encodeColumns(
              spec,
              columns,
              chunk.rows,
              outOfFold ? { folds: chunk.columns[needed.length] as number[] } : {},
            );
            yield* assembler.add(encoded.x, encoded.y as Float32Array, chunk.rows, weights);
          }
          yield* assembler.flush();
        } finally {
          reading = false;
        }
      },
      close: local.close,
    };
  } catch (error) {
    await local.close();
    throw error;
  }
}

/**
 * Raw columns of a (bounded) split, for evaluation: behavioural tests perturb them before calling
 * `encodeColumns`. Numbers come as numbers, dates and timestamps as epoch seconds, booleans as
 * booleans, everything else as strings; null is missing.
 */
export async function readSplitColumns(
  store: ArtifactStore,
  split: ArtifactRef,
  columns?: string[],
): Promise<{ columns: Record<string, CellValue[]>; rows: number }> {
  const local = await openLocalSplit(store, split);
  try {
    const wanted = columns ?? [...local.columnTypes.keys()];
    const unknown = wanted.filter((c) => !local.columnTypes.has(c));
    if (unknown.length > 0)
      throw new Error(`Split ${split.uri} has no column(s) ${unknown.map((c) => `"${preview(c)}"`).join(', ')}`);
    const result: Record<string, CellValue[]> = Object.fromEntries(wanted.map((c) => [c, []]));
    if (wanted.length === 0) return { columns: result, rows: local.rows };
    const projection = wanted
      .map((c) => valueExpression(c, valueSourceOf(local.columnTypes.get(c) as string)))
      .join(', ');
    let rows = 0;
    for await (const chunk of streamChunks(local.session, `SELECT ${projection} FROM read_parquet($1)`, [local.file])) {
      wanted.forEach((c, i) => {
        const target = result[c] as CellValue[];
        for (const value of chunk.columns[i] ?? []) target.push(value);
      });
      rows += chunk.rows;
    }
    return { columns: result, rows };
  } finally {
    await local.close();
  }
}

/**
 * The fold expression for the train rows the spec was fitted on, or undefined for any other split. The
 * rows per fold must match the fit's: a different count means this DuckDB assigns other folds (an engine
 * upgrade changed hash()), and training on them would leak labels into the encoding.
 */
async function outOfFoldFolds(
  spec: PreprocessorSpec,
  split: ArtifactRef,
  local: LocalSplit,
): Promise<string | undefined> {
  const folds = spec.folds;
  if (!folds || spec.fittedOn.sha256 === undefined || spec.fittedOn.sha256 !== split.sha256) return undefined;
  const fold = foldExpression(folds);
  const counted = await local.session.all<{ f: number; n: number }>(
    `SELECT ${fold} AS f, count(*) AS n FROM read_parquet($1) GROUP BY f`,
    [local.file],
  );
  const rows = new Array<number>(folds.k).fill(0);
  for (const c of counted) rows[Number(c.f)] = Number(c.n);
  if (rows.some((n, f) => n !== folds.rows[f])) {
    throw new Error(
      `The train split's rows fall into other target-encoding folds than when the preprocessor was fitted (${rows.join('/')} vs ${folds.rows.join('/')}): refit the preprocessor (run fitPreprocessor again) with this engine version`,
    );
  }
  return fold;
}

interface LocalSplit {
  session: DuckDbSession;
  file: string;
  rows: number;
  /** Column name → DuckDB type, in file order. */
  columnTypes: Map<string, string>;
  close(): Promise<void>;
}

async function openLocalSplit(
  store: ArtifactStore,
  split: ArtifactRef,
  engine: { threads?: number | undefined; memoryLimit?: string | undefined } = {},
): Promise<LocalSplit> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'trainyard-split-'));
  let session: DuckDbSession | undefined;
  const close = async () => {
    await session?.close();
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const file = path.join(directory, 'split.parquet');
    await downloadArtifact(store, split, file);
    session = await openDuckDb({
      allowedDirectories: [directory],
      ...(engine.threads !== undefined ? { threads: engine.threads } : {}),
      ...(engine.memoryLimit !== undefined ? { memoryLimit: engine.memoryLimit } : {}),
    });
    const described = await session.all<{ column_name: string; column_type: string }>(
      'DESCRIBE SELECT * FROM read_parquet($1)',
      [file],
    );
    const rows = (await session.all<{ n: number }>('SELECT count(*) AS n FROM read_parquet($1)', [file]))[0]?.n ?? 0;
    return { session, file, rows, columnTypes: new Map(described.map((d) => [d.column_name, d.column_type])), close };
  } catch (error) {
    await close();
    throw error;
  }
}

function weightLookup(
  spec: PreprocessorSpec,
  weightsByClass: Record<string, number> | undefined,
): Float32Array | undefined {
  if (!weightsByClass) return undefined;
  const classes = spec.label.classes;
  if (!classes)
    throw new Error('weightsByClass applies to classification, but this preprocessor encodes a regression target');
  return Float32Array.from(classes, (c) => weightsByClass[c] ?? 1);
}

/** Cuts encoded DuckDB chunks (2048 rows) into batches of any size, copying each row once. */
class BatchAssembler {
  private x: Float32Array;
  private y: Float32Array;
  private w: Float32Array | undefined;
  private filled = 0;

  constructor(
    private readonly batchSize: number,
    private readonly featureCount: number,
    withWeights: boolean,
  ) {
    this.x = new Float32Array(batchSize * featureCount);
    this.y = new Float32Array(batchSize);
    this.w = withWeights ? new Float32Array(batchSize) : undefined;
  }

  *add(
    x: Float32Array,
    y: Float32Array,
    rows: number,
    weightsByClassIndex: Float32Array | undefined,
  ): Generator<Batch> {
    let row = 0;
    while (row < rows) {
      const take = Math.min(this.batchSize - this.filled, rows - row);
      this.x.set(
        x.subarray(row * this.featureCount, (row + take) * this.featureCount),
        this.filled * this.featureCount,
      );
      this.y.set(y.subarray(row, row + take), this.filled);
      if (this.w && weightsByClassIndex) {
        for (let i = 0; i < take; i += 1) this.w[this.filled + i] = weightsByClassIndex[y[row + i] as number] ?? 1;
      }
      this.filled += take;
      row += take;
      if (this.filled === this.batchSize) yield this.emit();
    }
  }

  *flush(): Generator<Batch> {
    if (this.filled > 0) yield this.emit();
  }

  private emit(): Batch {
    const rows = this.filled;
    const batch: Batch = {
      x: this.x.subarray(0, rows * this.featureCount),
      y: this.y.subarray(0, rows),
      rows,
      ...(this.w ? { weights: this.w.subarray(0, rows) } : {}),
    };
    // The consumer owns the emitted arrays; the next batch fills fresh ones.
    this.x = new Float32Array(this.batchSize * this.featureCount);
    this.y = new Float32Array(this.batchSize);
    if (this.w) this.w = new Float32Array(this.batchSize);
    this.filled = 0;
    return batch;
  }
}
