import type { ArtifactRef } from '../../contracts/artifacts';
import type { PipelineInput } from '../../contracts/pipeline-input';
import type { Anomaly } from '../../contracts/stage-results';
import type { DatasetFingerprint } from '../../contracts/stages';
import { detectAnomalies, type AnomalyReport, type SchemaSource } from './anomalies';
import { loadDataset, toDatasetFailure, type DatasetTable } from './dataset';
import { referenceEdges } from './drift';
import type { DuckDbSession } from './duckdb';
import { dataValidationFailed } from './failures';
import type { LocalDataset } from './materialize';
import { inferSchema, type DatasetSchema } from './schema';
import { computeStatistics, type DatasetStatistics } from './statistics';
import { profileTimeLikeColumns } from './time-like-columns';

/** Warnings returned through Temporal; the report holds them all. */
export const MAX_WARNINGS_IN_RESULT = 100;
/** Error sentences in the failure message; the details and the report hold them all. */
const MAX_ERRORS_IN_MESSAGE = 30;
export const ANOMALIES_REPORT_VERSION = 1;

/**
 * The dataset's statistics, histograms also on the reference's bins when there is a reference. The
 * source of a derived label predicts it by construction, so it is never scored as a leaking feature.
 */
export async function profileDataset(
  session: DuckDbSession,
  local: LocalDataset,
  table: DatasetTable,
  input: PipelineInput,
  reference: DatasetStatistics | undefined,
): Promise<DatasetStatistics> {
  const derivedFrom = typeof input.task.label === 'object' ? input.task.label.column : undefined;
  return computeStatistics(session, table, {
    task: input.task.type,
    leakageSkip: derivedFrom !== undefined ? [derivedFrom] : [],
    ...(reference ? { referenceEdges: referenceEdges(reference) } : {}),
    seed: input.seed,
  }).catch((error: unknown) => {
    throw toDatasetFailure(local, error); // a damaged Parquet page surfaces only when scanned
  });
}

export interface DatasetCheck {
  report: AnomalyReport;
  schema: DatasetSchema;
  schemaSource: SchemaSource;
  errors: Anomaly[];
  warnings: Anomaly[];
}

/** The anomalies of a profiled dataset against the expected schema (inferred on a first run) and the reference. */
export async function checkDataset(
  session: DuckDbSession,
  table: DatasetTable,
  statistics: DatasetStatistics,
  input: PipelineInput,
  expected: { schema: DatasetSchema; source: SchemaSource } | undefined,
  reference: DatasetStatistics | undefined,
): Promise<DatasetCheck> {
  const timeSplit =
    input.split.strategy === 'time' || (input.split.strategy === 'auto' && input.split.timeColumn !== undefined);
  const timeColumn = timeSplit ? input.split.timeColumn : undefined;
  const timeLike = await profileTimeLikeColumns(session, table, {
    ...(timeColumn !== undefined ? { timeColumn } : {}),
    skip: [...(table.labelColumn !== undefined ? [table.labelColumn] : []), ...input.preprocess.exclude],
  });
  const schema = expected?.schema ?? inferSchema(statistics);
  const schemaSource: SchemaSource = expected?.source ?? 'inferred';
  const report = detectAnomalies({
    statistics,
    schema,
    schemaSource,
    ...(reference ? { reference } : {}),
    config: input.validation,
    task: input.task,
    modelInputs: {
      ...(timeColumn !== undefined ? { timeColumn } : {}),
      exclude: input.preprocess.exclude,
      rawTimestamps: input.preprocess.rawTimestamps,
    },
    timeLike,
  });
  return {
    report,
    schema,
    schemaSource,
    errors: report.anomalies.filter((a) => a.severity === 'error'),
    warnings: report.anomalies.filter((a) => a.severity === 'warning'),
  };
}

/** The anomalies report: what was checked, against what, and everything found (with the drift table). */
export function anomaliesDocument(request: {
  fingerprint: DatasetFingerprint;
  local: LocalDataset;
  statistics: DatasetStatistics;
  check: DatasetCheck;
  schemaUri: string;
  driftReference: string | undefined;
}) {
  const { fingerprint, statistics, check, driftReference } = request;
  return {
    version: ANOMALIES_REPORT_VERSION,
    dataset: {
      uri: fingerprint.uri,
      sha256: fingerprint.sha256,
      bytes: fingerprint.bytes,
      format: request.local.format,
      ...(fingerprint.partitions ? { partitions: fingerprint.partitions } : {}),
    },
    rows: statistics.rowCount,
    columns: statistics.columnCount,
    schemaSource: check.schemaSource,
    schemaUri: request.schemaUri,
    ...(driftReference ? { driftReference } : {}),
    errors: check.errors.length,
    warnings: check.warnings.length,
    anomalies: check.report.anomalies,
    drift: check.report.drift,
  };
}

/** Error anomalies fail validation, after the report is written: the message lists them, the details carry them. */
export function throwIfValidationFailed(uri: string, check: DatasetCheck, report: ArtifactRef): void {
  const { errors, warnings } = check;
  if (errors.length === 0) return;
  const shown = errors.slice(0, MAX_ERRORS_IN_MESSAGE).map((a) => `  - ${a.message}`);
  if (errors.length > shown.length) shown.push(`  - … and ${errors.length - shown.length} more (see the report)`);
  throw dataValidationFailed(
    `Data validation found ${errors.length} error${errors.length === 1 ? '' : 's'} in ${uri}:\n${shown.join('\n')}\nFull report: ${report.uri}`,
    [
      {
        path: 'dataset',
        message: `${errors.length} error anomalies (see the report)`,
        report: report.uri,
        errors,
        warnings: warnings.slice(0, MAX_WARNINGS_IN_RESULT),
      },
    ],
  );
}

/**
 * A batch's statistics for drift, computed as validation computes them, histograms also on the
 * reference's bins. No label and no task: drift compares every column, the label's included, and skips
 * leakage checks.
 */
export async function profileBatch(
  session: DuckDbSession,
  local: LocalDataset,
  reference: DatasetStatistics,
  seed: number,
): Promise<DatasetStatistics> {
  const table = await loadDataset(session, local);
  return computeStatistics(session, table, { referenceEdges: referenceEdges(reference), seed }).catch(
    (error: unknown) => {
      throw toDatasetFailure(local, error);
    },
  );
}
