import { DRIFT_DEFAULTS } from '../../contracts/stage-config';
import { ArtifactFormatError, readJsonArtifact } from '../data/artifact-files';
import type { DatasetTable } from '../data/dataset';
import { compareDrift, referenceEdges, type ColumnDrift, type DriftComparison } from '../data/drift';
import type { DuckDbSession } from '../data/duckdb';
import { preview, quoteIdentifier } from '../data/identifiers';
import { computeStatistics } from '../data/statistics';
import { DatasetStatisticsSchema } from '../data/statistics-schema';
import type { ArtifactRef } from '../../contracts/artifacts';
import { ObjectNotFoundError, type ArtifactStore } from '../store/artifact-store';

/** The drift table in the summary: the comparison, or why there is none. Drift is a warning, never a failure. */
export type BatchDrift =
  | (DriftComparison & {
      reference: string;
      /** Set past 1M input rows: the input's profile is of every n-th row. */ profiledEveryNthRow?: number;
    })
  | { outcome: 'no-reference'; reference: string; note: string; columns: [] };

/**
 * The input's feature distributions against the version's training statistics (the lineage's `statistics`,
 * the profile validateData wrote), with the drift monitor's test: `compareDrift` on the reference's bins, at the
 * pipeline's default validation.drift settings. A missing or altered reference gives no table, with a note.
 */
export async function driftAgainstTraining(
  store: ArtifactStore,
  session: DuckDbSession,
  table: DatasetTable,
  reference: ArtifactRef,
  seed: number,
): Promise<BatchDrift> {
  let statistics;
  try {
    statistics = await readJsonArtifact(store, reference, DatasetStatisticsSchema);
  } catch (error) {
    if (!(error instanceof ArtifactFormatError || error instanceof ObjectNotFoundError)) throw error;
    const note = `no drift table: the training statistics (${reference.uri}) cannot be read: ${(error as Error).message}`;
    return { outcome: 'no-reference', reference: reference.uri, note, columns: [] };
  }
  const profiled = await everyNthRow(session, table);
  const current = await computeStatistics(session, profiled.table, {
    referenceEdges: referenceEdges(statistics),
    seed,
  });
  if (profiled.every > 1) await session.run(`DROP TABLE ${profiled.table.table}`); // its memory is the batch's
  return {
    ...compareDrift(statistics, current, DRIFT_DEFAULTS),
    reference: reference.uri,
    ...(profiled.every > 1 ? { profiledEveryNthRow: profiled.every } : {}),
  };
}

/**
 * The statistics pass holds exact quantiles and distinct values in memory, which the batch session's small
 * DuckDB limit cannot hold for tens of millions of rows; past 1M rows it profiles every n-th input row (in
 * input order: deterministic, and spread over the whole input). A million rows is ample power for a warning.
 */
const MAX_PROFILED_ROWS = 1_000_000;

async function everyNthRow(
  session: DuckDbSession,
  table: DatasetTable,
): Promise<{ table: DatasetTable; every: number }> {
  const every = Math.ceil(table.rowCount / MAX_PROFILED_ROWS);
  if (every <= 1) return { table, every: 1 };
  const sample = quoteIdentifier('batch_drift_rows');
  await session.run('SET preserve_insertion_order = true');
  await session.run(
    `CREATE OR REPLACE TABLE ${sample} AS SELECT * EXCLUDE (__trainyard_row) FROM (SELECT *, row_number() OVER () AS __trainyard_row FROM ${table.table}) WHERE __trainyard_row % ${every} = 0`,
  );
  const [{ n = 0 } = {}] = await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${sample}`);
  return { table: { ...table, table: sample, relation: 'table', rowCount: n }, every };
}

/** The warnings a drift table gives: one per drifted column, or the note when nothing was judged. */
export function driftWarnings(drift: BatchDrift): string[] {
  if (drift.outcome !== 'judged') return drift.note ? [drift.note] : [];
  return drift.columns.filter((c) => c.drifted).map(describeDrift);
}

function describeDrift(c: ColumnDrift): string {
  return `column "${preview(c.column)}" drifted from the training data: ${c.metric} ${c.value.toFixed(3)} over the floor ${c.floor} (chi-square ${c.statistic.toFixed(1)}, adjusted p ${c.adjustedPValue.toPrecision(2)}): ${c.summary}`;
}
