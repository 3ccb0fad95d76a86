import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { DOUBLE, DuckDBDataChunk, VARCHAR } from '@duckdb/node-api';
import type { DatasetTable } from '../data/dataset';
import { streamChunks } from '../data/column-values';
import type { DuckDbSession, SqlValue } from '../data/duckdb';
import type { RawValue } from '../data/encode-columns';
import { quoteIdentifier, quoteStringLiteral } from '../data/identifiers';
import type { ColumnPredictions, ServingModel } from '../serving/load-model';
import { PreconditionFailedError, type ArtifactStore } from '../store/artifact-store';
import type { InputSelect } from './input-check';
import type { BatchLayout } from './output-layout';

export interface ChunkProgress {
  /** Chunks done (written now or found from an earlier attempt). */
  chunk: number;
  chunks: number;
  /** Input rows covered by the chunks done. */
  rows: number;
}

export interface PredictChunksArgs {
  session: DuckDbSession;
  /** Rows in the scoring table (numberInputRows). */
  rows: number;
  model: ServingModel;
  selects: readonly InputSelect[];
  keyColumns: readonly string[];
  chunkRows: number;
  store: ArtifactStore;
  layout: BatchLayout;
  /** Makes prediction ids distinct across inputs: the model, version and dataset fingerprint. */
  idSeed: string;
  signal?: AbortSignal;
  onProgress?: (progress: ChunkProgress) => void;
}

export interface PredictChunksResult {
  rows: number;
  chunks: number;
  written: number;
  /** Parts an earlier attempt had finished. */
  skipped: number;
}

/** The table the chunks are read from: each input row numbered in input order, model inputs and key columns. */
export const SCORING_TABLE = quoteIdentifier('batch_scoring');
const ROW = quoteIdentifier('__row');
const inputColumn = (i: number) => quoteIdentifier(`__in${i}`);
const keyColumn = (i: number) => quoteIdentifier(`__key${i}`);

/**
 * Numbers the input rows in input order into the scoring table, with the model inputs (as checkInputColumns
 * reads them) and the key columns. DuckDB holds it, spilling to disk past its memory limit. Returns the rows.
 */
export async function numberInputRows(
  session: DuckDbSession,
  dataset: DatasetTable,
  selects: readonly InputSelect[],
  keyColumns: readonly string[],
): Promise<number> {
  const inputs = selects.map((s, i) => `${s.sql} AS ${inputColumn(i)}`);
  const keys = keyColumns.map((k, i) => `${quoteIdentifier(k)} AS ${keyColumn(i)}`);
  // row_number() over the unordered scan numbers rows in input order because DuckDB preserves insertion
  // order (file order for Parquet, CSV and JSON) while this setting is on: it is the default, set here so
  // that no session default can change which row a prediction belongs to.
  await session.run('SET preserve_insertion_order = true');
  await session.run(
    `CREATE OR REPLACE TABLE ${SCORING_TABLE} AS SELECT (row_number() OVER () - 1) AS ${ROW}${[...inputs, ...keys]
      .map((c) => `, ${c}`)
      .join('')} FROM ${dataset.table}`,
  );
  return (await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${SCORING_TABLE}`))[0]?.n ?? 0;
}

/**
 * Scores the numbered input (numberInputRows) chunk by chunk: rows [c × chunkRows, (c+1) × chunkRows) of the
 * input, in input order, read as columns and scored by `model.predictColumns` (the serving library:
 * evaluate's preprocessor and scorer), into one Parquet part per chunk. Only one chunk's columns are in the
 * JS heap at a time; DuckDB holds the numbered input, spilling to disk past its memory limit. A part is
 * uploaded whole (a store put is atomic: a reader sees all of it or nothing) and create-only, while the next
 * chunk is scored; a part that already exists was finished by an earlier attempt and is skipped, so a retry
 * after a crash resumes at the first missing chunk. The same input and version give the same parts.
 */
export async function predictInChunks(args: PredictChunksArgs): Promise<PredictChunksResult> {
  const { session, model, selects, chunkRows, store, layout, rows } = args;
  const chunks = Math.ceil(rows / chunkRows);
  const readInputs = selects.map((s, i) => `${inputColumn(i)} AS ${quoteIdentifier(s.name)}`).join(', ');
  const scoreColumns = scoreColumnsOf(model);
  const idPrefix = predictionIdPrefix(args.idSeed);
  let written = 0;
  let skipped = 0;
  const report = (chunk: number) =>
    args.onProgress?.({ chunk: chunk + 1, chunks, rows: Math.min(rows, (chunk + 1) * chunkRows) });
  /** Uploads one finished part (create-only), then removes the local file and reports the chunk done. */
  const uploadPart = async (chunk: number, file: string) => {
    try {
      await store.putFile(layout.part(chunk), file, {
        contentType: 'application/vnd.apache.parquet',
        condition: { ifNoneMatch: '*' },
      });
      written++;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      skipped++; // another attempt finished this chunk first; its part holds the same rows
    } finally {
      await rm(file, { force: true });
    }
    report(chunk);
  };
  /** Writes a scored chunk's part locally (DuckDB), then starts its upload once the previous one is done. */
  const writeThenUpload = async (scored: ScoredChunk) => {
    const file = path.join(session.workDirectory, `part-${scored.chunk}.parquet`);
    await writePart(session, file, { ...scored, scoreColumns, keyColumns: args.keyColumns, model, idPrefix });
    await upload;
    upload = uploadPart(scored.chunk, file);
  };
  let upload: Promise<void> | undefined;
  let scored: ScoredChunk | undefined;
  try {
    for (let chunk = 0; chunk < chunks; chunk++) {
      args.signal?.throwIfAborted();
      const first = chunk * chunkRows;
      const end = Math.min(rows, first + chunkRows);
      if (await store.exists(layout.part(chunk))) {
        skipped++;
        report(chunk);
        continue;
      }
      const columns = await readColumns(
        session,
        `SELECT ${readInputs} FROM ${SCORING_TABLE} WHERE ${ROW} >= $1 AND ${ROW} < $2 ORDER BY ${ROW}`,
        [first, end],
        selects.map((s) => s.name),
      );
      // DuckDB writes the last chunk's part while this one is scored in JS: one query at a time on the connection.
      const writing = scored && writeThenUpload(scored);
      const predictions = await Promise.all([model.predictColumns(columns, end - first), writing]).then(([p]) => p);
      scored = { chunk, first, count: end - first, predictions };
    }
    if (scored) await writeThenUpload(scored);
    await upload;
  } catch (error) {
    await upload?.catch(() => undefined);
    throw error;
  }
  return { rows, chunks, written, skipped };
}

interface ScoredChunk {
  chunk: number;
  first: number;
  count: number;
  predictions: ColumnPredictions;
}

/** A query's result as one array per column (named `names`, in select order), read chunk by chunk. */
async function readColumns(
  session: DuckDbSession,
  sql: string,
  params: SqlValue[],
  names: readonly string[],
): Promise<Record<string, RawValue[]>> {
  const columns: RawValue[][] = names.map(() => []);
  for await (const chunk of streamChunks(session, sql, params))
    chunk.columns.forEach((values, i) => {
      const target = columns[i] as RawValue[];
      for (const value of values) target.push(value as RawValue);
    });
  return Object.fromEntries(names.map((name, i) => [name, columns[i] as RawValue[]]));
}

/** The score columns a version's predictions fill: a probability per class, or the regression value. */
export interface ScoreColumn {
  name: string;
  /** The class whose probability it holds; absent for the regression value. */
  className?: string;
}

export function scoreColumnsOf(model: Pick<ServingModel, 'task' | 'classes'>): ScoreColumn[] {
  if (model.task === 'regression') return [{ name: 'prediction' }];
  return (model.classes ?? []).map((c) => ({ name: `probability_${c}`, className: c }));
}

/** DuckDB's vector size: the most rows one appended data chunk holds. */
const DATA_CHUNK_ROWS = 2048;
/** Hex digits of the run's hash that start every prediction id: `<hash of model, version, dataset>-<row>`. */
const ID_PREFIX_HEX = 16;

/** What every prediction id of a run starts with, before `-<row_index>`: the hash of `idSeed`. */
export function predictionIdPrefix(idSeed: string): string {
  return createHash('sha256').update(idSeed).digest('hex').slice(0, ID_PREFIX_HEX);
}

/**
 * Writes one chunk's predictions as a Parquet file: scores and classes are appended to a scratch table in
 * row order (DuckDB's appender: no per-value SQL parameters), then copied out with the row indexes, the
 * prediction ids and, joined from the numbered input, the key columns.
 */
async function writePart(
  session: DuckDbSession,
  file: string,
  part: ScoredChunk & {
    scoreColumns: ScoreColumn[];
    keyColumns: readonly string[];
    model: ServingModel;
    idPrefix: string;
  },
): Promise<void> {
  const { first, count, predictions, scoreColumns } = part;
  const classified = predictions.classes !== undefined;
  const types = [...scoreColumns.map(() => DOUBLE), ...(classified ? [VARCHAR] : [])];
  const definitions = [...scoreColumns.map((_, j) => `s${j} DOUBLE`), ...(classified ? ['cls VARCHAR'] : [])];
  await session.run(`CREATE OR REPLACE TABLE batch_chunk (${definitions.join(', ')})`);
  const appender = await session.connection.createAppender('batch_chunk');
  try {
    for (let start = 0; start < count; start += DATA_CHUNK_ROWS) {
      const rows = Math.min(DATA_CHUNK_ROWS, count - start);
      const chunk = DuckDBDataChunk.create(types, rows);
      scoreColumns.forEach((_, j) =>
        chunk.setColumnValues(j, Array.from((predictions.scores[j] as Float64Array).subarray(start, start + rows))),
      );
      if (classified)
        chunk.setColumnValues(scoreColumns.length, (predictions.classes as string[]).slice(start, start + rows));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  // Literals, not parameters (COPY takes none): the prefix is hex, the model name is quoted, the rest integers.
  const keyed = part.keyColumns.length > 0;
  const columns = [
    `${quoteStringLiteral(`${part.idPrefix}-`)} || CAST(s.${ROW} AS VARCHAR) AS prediction_id`,
    `s.${ROW} AS row_index`,
    ...part.keyColumns.map((k, i) => `k.${keyColumn(i)} AS ${quoteIdentifier(k)}`),
    ...scoreColumns.map((c, j) => `s.s${j} AS ${quoteIdentifier(c.name)}`),
    ...(classified ? ['s.cls AS predicted_class'] : []),
    `CAST(${quoteStringLiteral(part.model.model)} AS VARCHAR) AS model`,
    `CAST(${Math.trunc(part.model.version)} AS INTEGER) AS version`,
  ];
  // The appender kept row order, so rowid is the row's place in the chunk.
  const scored = `(SELECT CAST(rowid AS BIGINT) + ${Math.trunc(first)} AS ${ROW}, * FROM batch_chunk) s`;
  const inputRows = `${SCORING_TABLE} WHERE ${ROW} >= ${Math.trunc(first)} AND ${ROW} < ${Math.trunc(first + count)}`;
  const select = keyed
    ? `SELECT ${columns.join(', ')} FROM ${scored} JOIN (SELECT * FROM ${inputRows}) k ON k.${ROW} = s.${ROW} ORDER BY s.${ROW}`
    : `SELECT ${columns.join(', ')} FROM ${scored} ORDER BY s.${ROW}`;
  await session.run(`COPY (${select}) TO ${quoteStringLiteral(file)} (FORMAT parquet)`);
  await session.run('DROP TABLE batch_chunk');
}
