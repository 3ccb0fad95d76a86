import { createHash } from 'node:crypto';
import {
  parseBatchPredictInput,
  type BatchPredictInput,
  type BatchPredictResult,
  type ResolvedPredictionModel,
} from '../contracts/batch-predict-input';
import { DataError, FailureType } from '../contracts/errors';
import { ModelReferenceText } from '../contracts/model-reference';
import { valueOrFail } from '../contracts/pipeline-input-failure';
import type { DatasetFingerprint } from '../contracts/stages';
import { checkInputColumns } from '../lib/batch-predict/input-check';
import { batchLayout, type BatchLayout } from '../lib/batch-predict/output-layout';
import { numberInputRows, predictInChunks, scoreColumnsOf } from '../lib/batch-predict/predict-chunks';
import {
  countUnseenCategories,
  describeUnseen,
  profilePredictions,
  type PredictionsProfile,
} from '../lib/batch-predict/summary';
import { readJsonArtifact } from '../lib/data/artifact-files';
import { loadDataset, toDatasetFailure } from '../lib/data/dataset';
import type { DuckDbSession } from '../lib/data/duckdb';
import { invalidConfig } from '../lib/data/failures';
import { fingerprintSelection } from '../lib/data/fingerprint';
import { DatasetSchema } from '../lib/data/schema';
import { InvalidRowsError, ModelArtifactMissingError, ServingModelNotFoundError } from '../lib/serving/errors';
import { loadVersion, type ServingModel } from '../lib/serving/load-model';
import { resolveVersion } from '../lib/serving/resolve-version';
import { InvalidArtifactKeyError, PreconditionFailedError, type ArtifactStore } from '../lib/store/artifact-store';
import { readObject } from '../lib/store/read-object';
import type { StoreDeps } from './deps';
import { stageActivity, type StageRun, type StageSpec } from './stage-run';

const MAX_WARNINGS_IN_RESULT = 50;
export const PREDICTIONS_SUMMARY_VERSION = 1;

export interface PredictBatchArgs {
  input: unknown;
  /** The version resolvePredictionModel chose: every attempt scores with this one, whatever the alias does. */
  version: number;
  /** ISO time "latest" and partition windows are judged against (the run's scheduled or start time). */
  asOf: string;
}

const RESOLVE: StageSpec<{ model: string }> = { name: 'resolvePredictionModel' };
const PREDICT: StageSpec<PredictBatchArgs> = {
  name: 'predictBatch',
  parse: (raw) => ({ ...raw, input: valueOrFail(parseBatchPredictInput(raw.input), 'batch predict input') }),
  firstStep: 'loading the model',
};

/** batchPredict's activities: thin, on the stage lifecycle; the work is in lib/serving and lib/batch-predict. */
export function batchPredictActivities({ store }: StoreDeps) {
  /** The version `input.model` names now: an alias is read once, so the whole run uses one version. */
  const resolvePredictionModel = stageActivity(RESOLVE, async ({ model }): Promise<ResolvedPredictionModel> => {
    const reference = ModelReferenceText.parse(model);
    const record = await resolveVersion(store, reference).catch(toModelFailure);
    return {
      model: record.model,
      version: record.version,
      ...('alias' in reference ? { alias: reference.alias } : {}),
    };
  });

  /**
   * Checks the dataset against the version's training schema, scores it in chunks into Parquet parts
   * (resuming at the first missing part), then writes a summary read back from the parts. Heartbeats carry
   * `{ step, chunk, chunks, rows }`.
   */
  const predictBatch = stageActivity(PREDICT, async (args, run): Promise<BatchPredictResult> => {
    const input = args.input as BatchPredictInput;
    const reference = ModelReferenceText.parse(input.model);
    const record = await resolveVersion(store, { model: reference.model, version: args.version }).catch(toModelFailure);
    const model = await loadVersion(store, record).catch(toModelFailure);
    try {
      const training = await readJsonArtifact(store, record.lineage.schema, DatasetSchema);

      run.step('fingerprinting the dataset');
      const dataset = await fingerprintSelection(
        store,
        input.dataset.uri,
        input.dataset.partitions,
        new Date(args.asOf),
        { signal: run.signal, onProgress: (file, bytesRead) => run.beat({ file, bytesRead }) },
      );
      const layout = batchLayout(outputPrefix(store, input, dataset), record.model, record.version);

      run.step('downloading the dataset');
      const local = await run.materialize(store, input.dataset.uri, {
        format: input.dataset.format,
        ...(dataset.partitions ? { partitions: dataset.partitions } : {}),
      });
      const session = await run.openDuckDb();
      run.step('checking the dataset against the training schema');
      const table = await loadDataset(session, local);
      const check = checkInputColumns({
        model: `${record.model}:${record.version}`,
        columns: table.columns,
        inputs: model.inputs,
        trainingColumns: training.columns.map((c) => c.name),
        keyColumns: input.keyColumns,
      });
      // Claimed only once the dataset fits: a refused input leaves no trace in the output.
      await claimOutput(store, layout, {
        model: record.model,
        version: record.version,
        dataset: { uri: dataset.uri, sha256: dataset.sha256, partitions: dataset.partitions ?? null },
        chunkRows: input.chunkRows,
        keyColumns: input.keyColumns,
      });
      const rows = await numberInputRows(session, table, check.selects, input.keyColumns).catch((error: unknown) => {
        throw toDatasetFailure(local, error);
      });
      const unseen = await countUnseenCategories(session, model.inputs, check.selects);
      const warnings = [...check.warnings, ...unseen.map(describeUnseen)];

      run.step('scoring');
      const scored = await predictInChunks({
        session,
        rows,
        model,
        selects: check.selects,
        keyColumns: input.keyColumns,
        chunkRows: input.chunkRows,
        store,
        layout,
        idSeed: `${record.model}:${record.version}:${dataset.sha256}`,
        signal: run.signal,
        onProgress: (p) => run.progress({ step: 'scoring', ...p }),
      }).catch((error: unknown) => {
        // The input check and the SQL reads are meant to make every row valid; one that is not is bad data.
        if (!(error instanceof InvalidRowsError)) throw error;
        throw new DataError(FailureType.DataValidationFailed, error.message, error.problems.slice(0, 100));
      });

      run.step('summarising the predictions');
      const predictions = await readBackPredictions(run, session, layout, model, scored.chunks);
      if (predictions.rows !== rows || predictions.distinctPredictionIds !== rows)
        throw new Error(
          `the parts under ${store.uriFor(layout.partsPrefix)} hold ${predictions.rows} predictions (${predictions.distinctPredictionIds} distinct ids) for ${rows} input rows`,
        );
      const summary = {
        version: PREDICTIONS_SUMMARY_VERSION,
        model: record.model,
        modelVersion: record.version,
        ...('alias' in reference ? { alias: reference.alias } : {}),
        task: model.task,
        ...(model.decisionThreshold !== undefined ? { decisionThreshold: model.decisionThreshold } : {}),
        dataset: { uri: dataset.uri, sha256: dataset.sha256, partitions: dataset.partitions ?? null },
        predictionsUri: `${store.uriFor(layout.partsPrefix)}/`,
        rows,
        chunks: scored.chunks,
        chunkRows: input.chunkRows,
        predictions,
        unseenCategories: unseen,
        convertedColumns: check.selects.flatMap((s) =>
          s.convertedFrom ? [{ column: s.name, from: s.convertedFrom }] : [],
        ),
        warnings,
      };
      const put = await store.put(layout.summary, `${JSON.stringify(summary, null, 2)}\n`, {
        contentType: 'application/json',
      });
      run.log.info('batch predicted', {
        model: record.model,
        version: record.version,
        rows,
        chunks: scored.chunks,
        written: scored.written,
      });
      return {
        model: record.model,
        version: record.version,
        ...('alias' in reference ? { alias: reference.alias } : {}),
        dataset: {
          uri: dataset.uri,
          sha256: dataset.sha256,
          ...(dataset.partitions ? { partitions: dataset.partitions } : {}),
        },
        rows,
        chunks: scored.chunks,
        chunksWritten: scored.written,
        predictionsUri: summary.predictionsUri,
        summaryUri: put.uri,
        warnings: warnings.slice(0, MAX_WARNINGS_IN_RESULT),
      };
    } finally {
      model.dispose();
    }
  });

  /** The written parts, read back as one dataset and profiled. */
  async function readBackPredictions(
    run: StageRun,
    session: DuckDbSession,
    layout: BatchLayout,
    model: ServingModel,
    chunks: number,
  ): Promise<PredictionsProfile> {
    const scoreColumns = scoreColumnsOf(model);
    if (chunks === 0) return { rows: 0, distinctPredictionIds: 0, scores: {} };
    const parts = await run.materialize(store, `${store.uriFor(layout.partsPrefix)}/`, { format: 'parquet' });
    const table = await loadDataset(session, parts, { tableName: 'batch_predictions' });
    return await profilePredictions(session, table, scoreColumns, model.task !== 'regression');
  }

  return { resolvePredictionModel, predictBatch };
}

export type BatchPredictActivities = ReturnType<typeof batchPredictActivities>;

/**
 * output.uri as a key prefix of this store; by default batch-predictions/<hash of the dataset fingerprint, the
 * chunk size and the key columns>, so runs that write different parts never share a folder.
 */
function outputPrefix(store: ArtifactStore, input: BatchPredictInput, dataset: DatasetFingerprint): string {
  if (!input.output) {
    const settings = JSON.stringify([dataset.sha256, input.chunkRows, input.keyColumns]);
    return `batch-predictions/${createHash('sha256').update(settings).digest('hex').slice(0, 16)}`;
  }
  try {
    return store.keyFor(input.output.uri);
  } catch (error) {
    if (error instanceof InvalidArtifactKeyError) throw invalidConfig('output.uri', error.message);
    throw error;
  }
}

/**
 * Records what the parts under `layout` are computed from, or checks that an earlier attempt recorded the
 * same: parts from another dataset, version or chunking must never be taken for this run's.
 */
async function claimOutput(store: ArtifactStore, layout: BatchLayout, claim: Record<string, unknown>): Promise<void> {
  const text = `${JSON.stringify(claim, null, 2)}\n`;
  try {
    await store.put(layout.input, text, { contentType: 'application/json', condition: { ifNoneMatch: '*' } });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    const existing = (await readObject(store, layout.input)).toString('utf8');
    if (existing !== text)
      throw invalidConfig(
        'output.uri',
        `${store.uriFor(layout.partsPrefix)}/ already holds predictions of another input (${store.uriFor(layout.input)} records it). Choose another output.uri, or delete that folder to recompute.`,
      );
  }
}

/** A reference that names nothing servable is the caller's to fix: non-retryable, naming what exists. */
function toModelFailure(error: unknown): never {
  if (error instanceof ServingModelNotFoundError || error instanceof ModelArtifactMissingError)
    throw new DataError(FailureType.ModelVersionNotFound, error.message, [{ path: 'model', message: error.message }]);
  throw error;
}
