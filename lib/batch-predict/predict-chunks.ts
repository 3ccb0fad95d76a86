import { rm } from 'node:fs/promises';
import path from 'node:path';
import { listValue } from '@duckdb/node-api';
import type { DatasetTable } from '../data/dataset';
import type { DuckDbSession } from '../data/duckdb';
import { quoteIdentifier, quoteStringLiteral } from '../data/identifiers';
import type { ServingModel } from '../serving/load-model';
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
  // row_number() over the unordered scan numbers rows in input order (DuckDB preserves insertion order).
  await session.run(
    `CREATE OR REPLACE TABLE ${SCORING_TABLE} AS SELECT (row_number() OVER () - 1) AS ${ROW}${[...inputs, ...keys]
      .map((c) => `, ${c}`)
      .join('')} FROM ${dataset.table}`,
  );
  return (await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${SCORING_TABLE}`))[0]?.n ?? 0;
}

/**
 * Scores the numbered input (numberInputRows) chunk by chunk: rows [c × chunkRows, (c+1) × chunkRows) of the input, in input order,
 * through `model.predict` (the serving library: evaluate's preprocessor and scorer), into one Parquet part
 * per chunk. Only one chunk's rows are in the JS heap at a time; DuckDB holds the numbered input, spilling to
 * disk past its memory limit. A part is uploaded whole (a store put is atomic: a reader sees all of it or
 * nothing) and create-only; a part that already exists was finished by an earlier attempt and is skipped,
 * so a retry after a crash resumes at the first missing chunk. The same input and version give the same parts.
 */
export async function predictInChunks(args: PredictChunksArgs): Promise<PredictChunksResult> {
  const { session, model, selects, keyColumns, chunkRows, store, layout, rows } = args;
  const chunks = Math.ceil(rows / chunkRows);
  const readInputs = selects.map((s, i) => `${inputColumn(i)} AS ${quoteIdentifier(s.name)}`).join(', ');
  const scoreColumns = scoreColumnsOf(model);
  let written = 0;
  let skipped = 0;
  for (let chunk = 0; chunk < chunks; chunk++) {
    args.signal?.throwIfAborted();
    const first = chunk * chunkRows;
    const end = Math.min(rows, first + chunkRows);
    const key = layout.part(chunk);
    if (await store.exists(key)) skipped++;
    else {
      const batch = await session.all<Record<string, unknown>>(
        `SELECT ${readInputs} FROM ${SCORING_TABLE} WHERE ${ROW} >= $1 AND ${ROW} < $2 ORDER BY ${ROW}`,
        [first, end],
      );
      const predictions = await model.predict(batch);
      const file = path.join(args.session.workDirectory, `part-${chunk}.parquet`);
      await writePart(session, file, { first, predictions, scoreColumns, keyColumns, model, idSeed: args.idSeed });
      try {
        await store.putFile(key, file, {
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
    }
    args.onProgress?.({ chunk: chunk + 1, chunks, rows: end });
  }
  return { rows, chunks, written, skipped };
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

async function writePart(
  session: DuckDbSession,
  file: string,
  part: {
    first: number;
    predictions: Awaited<ReturnType<ServingModel['predict']>>;
    scoreColumns: ScoreColumn[];
    keyColumns: readonly string[];
    model: ServingModel;
    idSeed: string;
  },
): Promise<void> {
  const { first, predictions, scoreColumns } = part;
  const rowIndexes = predictions.map((_, r) => first + r);
  const scores = scoreColumns.map((column) =>
    predictions.map((p) =>
      'value' in p ? p.value : ((p.probabilities[column.className as string] as number | undefined) ?? null),
    ),
  );
  const classes = predictions.map((p) => ('class' in p ? p.class : null));
  const classified = part.model.task !== 'regression';
  // Values are bound as lists and unnested side by side; names are quoted identifiers.
  const params = [
    listValue(rowIndexes),
    ...scores.map((values) => listValue(values)),
    ...(classified ? [listValue(classes)] : []),
  ];
  const scoreSql = scoreColumns.map((_, j) => `unnest(CAST($${j + 2} AS DOUBLE[])) AS s${j}`);
  const classSql = classified ? [`unnest(CAST($${scoreColumns.length + 2} AS VARCHAR[])) AS cls`] : [];
  await session.run(
    `CREATE OR REPLACE TEMP TABLE batch_chunk AS SELECT unnest(CAST($1 AS BIGINT[])) AS ${ROW}, ${[...scoreSql, ...classSql].join(', ')}`,
    params,
  );
  const columns = [
    `sha256($1 || CAST(s.${ROW} AS VARCHAR)) AS prediction_id`,
    `s.${ROW} AS row_index`,
    ...part.keyColumns.map((k, i) => `k.${keyColumn(i)} AS ${quoteIdentifier(k)}`),
    ...scoreColumns.map((c, j) => `s.s${j} AS ${quoteIdentifier(c.name)}`),
    ...(classified ? ['s.cls AS predicted_class'] : []),
    'CAST($2 AS VARCHAR) AS model',
    'CAST($3 AS INTEGER) AS version',
  ];
  await session.run(
    `CREATE OR REPLACE TEMP TABLE batch_part AS SELECT ${columns.join(', ')} FROM batch_chunk s JOIN ${SCORING_TABLE} k ON k.${ROW} = s.${ROW} ORDER BY s.${ROW}`,
    [`${part.idSeed}:`, part.model.model, part.model.version],
  );
  await session.run(`COPY batch_part TO ${quoteStringLiteral(file)} (FORMAT parquet)`);
  await session.run('DROP TABLE batch_part');
  await session.run('DROP TABLE batch_chunk');
}
