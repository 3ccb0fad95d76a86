import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { z } from 'zod';
import type { ArtifactKind, ArtifactRef } from '../contracts/artifacts';
import { describeZodIssues, FailureType, formatFieldProblems } from '../contracts/errors';
import { evaluateColumnProblems } from '../contracts/evaluate-names';
import { PipelineInput } from '../contracts/pipeline-input';
import type { Anomaly, ChampionRefs, ValidateDataResult } from '../contracts/stage-results';
import type { DatasetFingerprint } from '../contracts/stages';
import { detectAnomalies, type SchemaSource } from '../lib/data/anomalies';
import { evaluateConfigFailure } from '../lib/evaluation/evaluate-model';
import { ArtifactChecksumError, readJsonArtifact } from '../lib/data/artifact-files';
import { loadDataset, toDatasetFailure } from '../lib/data/dataset';
import { referenceEdges } from '../lib/data/drift';
import { interruptOnAbort, openDuckDb, type DuckDbSession } from '../lib/data/duckdb';
import { materializeDataset, type LocalDataset } from '../lib/data/materialize';
import { DatasetSchema, inferSchema } from '../lib/data/schema';
import { computeStatistics, type DatasetStatistics } from '../lib/data/statistics';
import { profileTimeLikeColumns } from '../lib/data/time-like-columns';
import { DatasetStatisticsSchema } from '../lib/data/statistics-schema';
import { stageKey } from '../lib/run-keys';
import { InvalidArtifactKeyError, ObjectNotFoundError, type ArtifactStore } from '../lib/store/artifact-store';
import type { ActivityDeps } from './deps';
import { workflowIdOf } from './stage-progress';

const STAGE = 'validateData';
const HEARTBEAT_EVERY_MS = 5_000;
/** A schema or statistics file bigger than this is not one (a dataset named by mistake, say). */
const MAX_JSON_ARTIFACT_BYTES = 64 * 1024 * 1024;
/** Warnings returned through Temporal; the report holds them all. */
const MAX_WARNINGS_IN_RESULT = 100;
/** Error sentences in the failure message; the details and the report hold them all. */
const MAX_ERRORS_IN_MESSAGE = 30;
export const ANOMALIES_REPORT_VERSION = 1;

export interface ValidateDataArgs {
  input: PipelineInput;
  dataset: DatasetFingerprint;
  champion?: ChampionRefs;
}

/**
 * validateData: dataset → statistics, schema and an anomalies report (with the drift table), written
 * in that order under the run's stage key. Any error anomaly fails the stage with a non-retryable
 * DataValidationFailed after the report is written; warnings ride along in the result. A thin wrapper:
 * the checks live in lib/data (statistics.ts, anomalies.ts, drift.ts, schema.ts).
 */
export function validateDataActivity({ store }: ActivityDeps) {
  return async function validateData(args: ValidateDataArgs): Promise<ValidateDataResult> {
    const input = PipelineInput.parse(args.input);
    const ctx = Context.current();
    const workflowId = workflowIdOf(ctx);
    const keyOf = (file: string) => stageKey(input.model, workflowId, STAGE, file);

    // Read what we compare against first: a bad schemaUri should fail before a 10 GB download.
    const expected = await expectedSchema(store, input, args.champion);
    const driftReference = input.validation.referenceStatisticsUri ?? args.champion?.statistics.uri;
    const reference = await referenceStatistics(store, input, args.champion);

    let step = 'downloading the dataset';
    const heartbeat = setInterval(() => ctx.heartbeat({ step }), HEARTBEAT_EVERY_MS);
    let local: LocalDataset | undefined;
    let session: DuckDbSession | undefined;
    let detach = () => {};
    try {
      local = await materializeDataset(store, input.dataset.uri, {
        format: input.dataset.format,
        ...(args.dataset.partitions ? { partitions: args.dataset.partitions } : {}),
        signal: ctx.cancellationSignal,
        onProgress: (bytes) => ctx.heartbeat({ step, bytes }),
      });
      session = await openDuckDb();
      detach = interruptOnAbort(session, ctx.cancellationSignal);

      step = 'loading the dataset';
      const table = await loadDataset(session, local, { label: input.task.label });
      throwIfEvaluateColumnsMissing(input, table.columns, table.labelColumn);
      step = 'computing statistics';
      const derivedFrom = typeof input.task.label === 'object' ? input.task.label.column : undefined;
      const dataset = local;
      const statistics = await computeStatistics(session, table, {
        task: input.task.type,
        // The source of a derived label predicts it by construction; it must never be a feature.
        leakageSkip: derivedFrom !== undefined ? [derivedFrom] : [],
        ...(reference ? { referenceEdges: referenceEdges(reference) } : {}),
        seed: input.seed,
      }).catch((error: unknown) => {
        throw toDatasetFailure(dataset, error); // a damaged Parquet page surfaces only when scanned
      });

      step = 'checking for anomalies';
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

      step = 'writing artifacts';
      const columns = statistics.columnCount;
      const statisticsRef = await putJson(store, keyOf('statistics.json'), 'statistics', statistics, {
        rows: statistics.rowCount,
        columns,
      });
      const schemaRef = await putJson(store, keyOf('schema.json'), 'schema', schema, {
        source: schemaSource,
        version: schema.version,
        columns: schema.columns.length,
      });
      const errors = report.anomalies.filter((a) => a.severity === 'error');
      const warnings = report.anomalies.filter((a) => a.severity === 'warning');
      const anomaliesRef = await putJson(
        store,
        keyOf('anomalies.json'),
        'anomalies',
        {
          version: ANOMALIES_REPORT_VERSION,
          dataset: {
            uri: args.dataset.uri,
            sha256: args.dataset.sha256,
            bytes: args.dataset.bytes,
            format: local.format,
            ...(args.dataset.partitions ? { partitions: args.dataset.partitions } : {}),
          },
          rows: statistics.rowCount,
          columns,
          schemaSource,
          schemaUri: expected?.uri ?? schemaRef.uri,
          ...(driftReference ? { driftReference } : {}),
          errors: errors.length,
          warnings: warnings.length,
          anomalies: report.anomalies,
          drift: report.drift,
        },
        { errors: errors.length, warnings: warnings.length },
      );

      if (errors.length > 0) throw dataValidationFailed(input.dataset.uri, errors, warnings, anomaliesRef);
      ctx.log.info('dataset validated', {
        rows: statistics.rowCount,
        columns,
        warnings: warnings.length,
        schemaSource,
      });
      return {
        rows: statistics.rowCount,
        columns,
        statistics: statisticsRef,
        schema: schemaRef,
        anomalies: anomaliesRef,
        warnings: warnings.slice(0, MAX_WARNINGS_IN_RESULT),
        schemaSource,
        ...(driftReference ? { driftReference } : {}),
      };
    } catch (error) {
      // An interrupted query or aborted download after cancellation is the cancellation, not a failure.
      if (ctx.cancellationSignal.aborted && !(error instanceof ApplicationFailure))
        throw new CancelledFailure('validateData was cancelled');
      throw error;
    } finally {
      clearInterval(heartbeat);
      detach();
      await session?.close();
      await local?.cleanup();
    }
  };
}

/** Columns the evaluate config names must exist: a typo fails here, before hours of training, not in evaluate. */
function throwIfEvaluateColumnsMissing(
  input: PipelineInput,
  columns: { name: string; type: string }[],
  labelColumn: string | undefined,
): void {
  const problems = evaluateColumnProblems(input.evaluate, {
    names: columns.map((c) => c.name),
    isNumeric: (name) => columns.some((c) => c.name === name && c.type === 'numeric'),
    labelColumn: labelColumn ?? '',
    where: 'the dataset',
  });
  if (problems.length > 0) throw evaluateConfigFailure(problems);
}

function dataValidationFailed(
  uri: string,
  errors: Anomaly[],
  warnings: Anomaly[],
  report: ArtifactRef,
): ApplicationFailure {
  const shown = errors.slice(0, MAX_ERRORS_IN_MESSAGE).map((a) => `  - ${a.message}`);
  if (errors.length > shown.length) shown.push(`  - … and ${errors.length - shown.length} more (see the report)`);
  return ApplicationFailure.create({
    type: FailureType.DataValidationFailed,
    nonRetryable: true,
    message: `Data validation found ${errors.length} error${errors.length === 1 ? '' : 's'} in ${uri}:\n${shown.join('\n')}\nFull report: ${report.uri}`,
    details: [{ report: report.uri, errors, warnings: warnings.slice(0, MAX_WARNINGS_IN_RESULT) }],
  });
}

async function putJson(
  store: ArtifactStore,
  key: string,
  kind: ArtifactKind,
  value: unknown,
  metadata: Record<string, string | number | boolean>,
): Promise<ArtifactRef> {
  const body = JSON.stringify(value, null, 2);
  const put = await store.put(key, body, { contentType: 'application/json' });
  return { kind, uri: put.uri, sha256: put.sha256, bytes: put.bytes, metadata };
}

/** The schema to validate against: the user's (validation.schemaUri) over the champion's; none on a first run. */
async function expectedSchema(
  store: ArtifactStore,
  input: PipelineInput,
  champion: ChampionRefs | undefined,
): Promise<{ schema: DatasetSchema; source: SchemaSource; uri: string } | undefined> {
  if (input.validation.schemaUri) {
    const schema = await readProvidedJson(
      store,
      input.validation.schemaUri,
      'validation.schemaUri',
      'dataset schema',
      DatasetSchema,
    );
    return { schema, source: 'provided', uri: input.validation.schemaUri };
  }
  if (champion)
    return {
      schema: await readChampionJson(store, champion, champion.schema, DatasetSchema),
      source: 'champion',
      uri: champion.schema.uri,
    };
  return undefined;
}

async function referenceStatistics(
  store: ArtifactStore,
  input: PipelineInput,
  champion: ChampionRefs | undefined,
): Promise<DatasetStatistics | undefined> {
  if (input.validation.referenceStatisticsUri) {
    return readProvidedJson(
      store,
      input.validation.referenceStatisticsUri,
      'validation.referenceStatisticsUri',
      'statistics artifact',
      DatasetStatisticsSchema,
    );
  }
  if (champion) return readChampionJson(store, champion, champion.statistics, DatasetStatisticsSchema);
  return undefined;
}

/** A JSON file named in the pipeline input: every problem is the caller's to fix, so non-retryable. */
async function readProvidedJson<S extends z.ZodType>(
  store: ArtifactStore,
  uri: string,
  field: string,
  what: string,
  schema: S,
): Promise<z.output<S>> {
  const reject = (message: string, problems = [{ path: field, message }]) =>
    ApplicationFailure.create({
      type: FailureType.InvalidPipelineConfig,
      nonRetryable: true,
      message: `${field}: ${message}`,
      details: problems,
    });
  let key: string;
  try {
    key = store.keyFor(uri);
  } catch (error) {
    if (error instanceof InvalidArtifactKeyError)
      throw reject(`${uri} cannot be read by this worker: ${error.message}`);
    throw error;
  }
  const info = await store.stat(key);
  if (!info) throw reject(`no ${what} at ${uri}; upload it first or fix the URI`);
  if (info.bytes > MAX_JSON_ARTIFACT_BYTES)
    throw reject(
      `${uri} is ${info.bytes} bytes, too big for a ${what} (at most ${MAX_JSON_ARTIFACT_BYTES}); is it the right file?`,
    );
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw reject(`${uri} is not JSON (${(error as Error).message}); a ${what} is a JSON file`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeZodIssues(parsed.error).map((p) => ({ path: `${field} ${p.path}`, message: p.message }));
    throw reject(`${uri} is not a valid ${what}:\n${formatFieldProblems(problems)}`, problems);
  }
  return parsed.data;
}

/** The champion's artifacts were written by trainyard; a checksum or shape mismatch means they were changed since. */
export async function readChampionJson<S extends z.ZodType>(
  store: ArtifactStore,
  champion: ChampionRefs,
  ref: ArtifactRef,
  schema: S,
): Promise<z.output<S>> {
  try {
    return await readJsonArtifact(store, ref, schema);
  } catch (error) {
    if (
      error instanceof ArtifactChecksumError ||
      error instanceof ObjectNotFoundError ||
      (error instanceof Error && /is not a valid/.test(error.message)) ||
      error instanceof SyntaxError
    ) {
      throw ApplicationFailure.create({
        type: FailureType.IncompatibleSchema,
        nonRetryable: true,
        message: `The ${ref.kind} of champion ${champion.model} v${champion.version} (${ref.uri}) cannot be used: ${error.message}. Set validation.schemaUri / validation.referenceStatisticsUri to compare against another artifact.`,
        details: [{ uri: ref.uri, reason: error.message }],
      });
    }
    throw error;
  }
}
