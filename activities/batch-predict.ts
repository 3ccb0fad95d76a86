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
import type { VersionRecord } from '../contracts/registry';
import { checkInputColumns, type InputCheck } from '../lib/batch-predict/input-check';
import { batchLayout, type BatchLayout } from '../lib/batch-predict/output-layout';
import {
  numberInputRows,
  predictInChunks,
  predictionIdPrefix,
  scoreColumnsOf,
} from '../lib/batch-predict/predict-chunks';
import { shadowIncompatibility, type ComparableVersion } from '../lib/batch-predict/shadow-check';
import {
  compareShadowPredictions,
  comparedScoresOf,
  emptyComparison,
  SHADOW_COMPARISON_VERSION,
} from '../lib/batch-predict/shadow-comparison';
import {
  countUnseenCategories,
  describeUnseen,
  profilePredictions,
  type PredictionsProfile,
} from '../lib/batch-predict/summary';
import { driftAgainstTraining, driftWarnings } from '../lib/batch-predict/drift-table';
import { renderSummaryPage } from '../lib/batch-predict/summary-page';
import { readJsonArtifact } from '../lib/data/artifact-files';
import { loadDataset, toDatasetFailure, type DatasetTable } from '../lib/data/dataset';
import { quoteIdentifier, quoteStringLiteral } from '../lib/data/identifiers';
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
import { signReportLink } from './evaluate';
import { stageActivity, type StageRun, type StageSpec } from './stage-run';

const MAX_WARNINGS_IN_RESULT = 50;
/**
 * DuckDB's share of a batch run's memory: the numbered input, the statistics pass and the read-back spill to
 * disk past it, so the worker's memory is bounded (3M rows: 1,044 MiB peak; 30M: 1,125 MiB). 128 MB ran out in the
 * read-back at 30M rows.
 */
const BATCH_DUCKDB_MEMORY = '256MB';
export const PREDICTIONS_SUMMARY_VERSION = 1;

export interface PredictBatchArgs {
  input: unknown;
  /** The version resolvePredictionModel chose: every attempt scores with this one, whatever the alias does. */
  version: number;
  /** The shadow's version, as resolveShadowModel chose it; set exactly when the input names a shadow. */
  shadowVersion?: number;
  /** ISO time "latest" and partition windows are judged against (the run's scheduled or start time). */
  asOf: string;
}

export interface ResolveShadowArgs {
  /** The version the run scores with (resolvePredictionModel's). */
  primary: { model: string; version: number };
  /** The input's `shadow` reference. */
  shadow: string;
}

const RESOLVE: StageSpec<{ model: string }> = { name: 'resolvePredictionModel' };
const RESOLVE_SHADOW: StageSpec<ResolveShadowArgs> = { name: 'resolveShadowModel' };
const PREDICT: StageSpec<PredictBatchArgs> = {
  name: 'predictBatch',
  parse: (raw) => ({ ...raw, input: valueOrFail(parseBatchPredictInput(raw.input), 'batch predict input') }),
  firstStep: 'loading the model',
};

/** One version scoring the run's dataset: its record, its loaded model, and what its input check found. */
interface Scorer {
  record: VersionRecord;
  model: ServingModel;
  layout: BatchLayout;
  check: InputCheck;
  alias?: string;
}

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
   * The version `input.shadow` names now, once, like the primary's; refused (naming `shadow`) when it is the
   * primary's own version or predicts another task or other classes, before anything is scored.
   */
  const resolveShadowModel = stageActivity(
    RESOLVE_SHADOW,
    async ({ primary, shadow }): Promise<ResolvedPredictionModel> => {
      const reference = ModelReferenceText.parse(shadow);
      const record = await resolveVersion(store, reference).catch((error: unknown) => toModelFailure(error, 'shadow'));
      const primaryRecord = await resolveVersion(store, primary).catch(toModelFailure);
      const problem = shadowIncompatibility(comparableOf(primaryRecord), comparableOf(record));
      if (problem) throw problem;
      return {
        model: record.model,
        version: record.version,
        ...('alias' in reference ? { alias: reference.alias } : {}),
      };
    },
  );

  /**
   * Checks the dataset against the version's training schema, scores it in chunks into Parquet parts
   * (resuming at the first missing part), then writes a summary read back from the parts. With a shadow,
   * the shadow's version is checked too before anything is written, scores the same rows into its own
   * folder (resuming likewise), and the two sets are compared into comparison-<shadow>-v<n>.json. Heartbeats
   * carry `{ step, chunk, chunks, rows }`.
   */
  const predictBatch = stageActivity(PREDICT, async (args, run): Promise<BatchPredictResult> => {
    const input = args.input as BatchPredictInput;
    const reference = ModelReferenceText.parse(input.model);
    const record = await resolveVersion(store, { model: reference.model, version: args.version }).catch(toModelFailure);
    const shadowReference = input.shadow === undefined ? undefined : ModelReferenceText.parse(input.shadow);
    if ((shadowReference === undefined) !== (args.shadowVersion === undefined))
      throw new Error('predictBatch needs shadowVersion exactly when the input names a shadow');
    const shadowRecord =
      shadowReference && args.shadowVersion !== undefined
        ? await resolveVersion(store, { model: shadowReference.model, version: args.shadowVersion }).catch(
            (error: unknown) => toModelFailure(error, 'shadow'),
          )
        : undefined;
    const model = await loadVersion(store, record).catch(toModelFailure);
    let shadowModel: ServingModel | undefined;
    try {
      shadowModel = shadowRecord
        ? await loadVersion(store, shadowRecord).catch((error: unknown) => toModelFailure(error, 'shadow'))
        : undefined;
      if (shadowModel) {
        const problem = shadowIncompatibility(model, shadowModel);
        if (problem) throw problem;
      }

      run.step('fingerprinting the dataset');
      const dataset = await fingerprintSelection(
        store,
        input.dataset.uri,
        input.dataset.partitions,
        new Date(args.asOf),
        { signal: run.signal, onProgress: (file, bytesRead) => run.beat({ file, bytesRead }) },
      );
      const prefix = outputPrefix(store, input, dataset);

      run.step('downloading the dataset');
      const local = await run.materialize(store, input.dataset.uri, {
        format: input.dataset.format,
        ...(dataset.partitions ? { partitions: dataset.partitions } : {}),
      });
      const session = await run.openDuckDb({ memoryLimit: BATCH_DUCKDB_MEMORY });
      run.step('checking the dataset against the training schema');
      const table = await loadDataset(session, local);
      const checkAgainst = async (version: VersionRecord, served: ServingModel): Promise<InputCheck> => {
        const training = await readJsonArtifact(store, version.lineage.schema, DatasetSchema);
        return checkInputColumns({
          model: `${version.model}:${version.version}`,
          columns: table.columns,
          inputs: served.inputs,
          trainingColumns: training.columns.map((c) => c.name),
          keyColumns: input.keyColumns,
        });
      };
      const primary: Scorer = {
        record,
        model,
        layout: batchLayout(prefix, record.model, record.version),
        check: await checkAgainst(record, model),
        ...('alias' in reference ? { alias: reference.alias } : {}),
      };
      const shadow: Scorer | undefined =
        shadowRecord && shadowModel
          ? {
              record: shadowRecord,
              model: shadowModel,
              layout: batchLayout(prefix, shadowRecord.model, shadowRecord.version),
              check: await checkAgainst(shadowRecord, shadowModel),
              ...(shadowReference && 'alias' in shadowReference ? { alias: shadowReference.alias } : {}),
            }
          : undefined;
      // Claimed only once the dataset fits both versions: a refused input leaves no trace in the output.
      for (const scorer of shadow ? [primary, shadow] : [primary])
        await claimOutput(store, scorer.layout, {
          model: scorer.record.model,
          version: scorer.record.version,
          dataset: { uri: dataset.uri, sha256: dataset.sha256, partitions: dataset.partitions ?? null },
          chunkRows: input.chunkRows,
          keyColumns: input.keyColumns,
        });

      /** Scores the dataset with one version into its folder and writes its summary. */
      const scoreWith = async (scorer: Scorer, step: string, tableName: string) => {
        const { record: version, model: served, check, layout } = scorer;
        const rows = await numberInputRows(session, table, check.selects, input.keyColumns).catch((error: unknown) => {
          throw toDatasetFailure(local, error);
        });
        const unseen = await countUnseenCategories(session, served.inputs, check.selects);
        run.step(`comparing with the training statistics of ${version.model}:${version.version}`);
        const { lineage } = version;
        const drift = await driftAgainstTraining(store, session, table, lineage.statistics, lineage.training.seed);
        const warnings = [...check.warnings, ...unseen.map(describeUnseen), ...driftWarnings(drift)];

        run.step(step);
        const scored = await predictInChunks({
          session,
          rows,
          model: served,
          selects: check.selects,
          keyColumns: input.keyColumns,
          chunkRows: input.chunkRows,
          store,
          layout,
          idSeed: idSeedOf(version.model, version.version, dataset.sha256),
          signal: run.signal,
          onProgress: (p) => run.progress({ step, ...p }),
        }).catch((error: unknown) => {
          // The input check and the SQL reads are meant to make every row valid; one that is not is bad data.
          if (!(error instanceof InvalidRowsError)) throw error;
          throw new DataError(FailureType.DataValidationFailed, error.message, error.problems.slice(0, 100));
        });

        run.step(`summarising the predictions of ${version.model}:${version.version}`);
        const idPrefix = predictionIdPrefix(idSeedOf(version.model, version.version, dataset.sha256));
        const read = await readBackPredictions(run, session, layout, served, scored.chunks, tableName, idPrefix);
        const predictions = read.profile;
        if (predictions.rows !== rows || predictions.distinctPredictionIds !== rows)
          throw new Error(
            `the parts under ${store.uriFor(layout.partsPrefix)} hold ${predictions.rows} predictions (${predictions.distinctPredictionIds} distinct ids) for ${rows} input rows`,
          );
        const summary = {
          version: PREDICTIONS_SUMMARY_VERSION,
          model: version.model,
          modelVersion: version.version,
          ...(scorer.alias !== undefined ? { alias: scorer.alias } : {}),
          task: served.task,
          ...(served.decisionThreshold !== undefined ? { decisionThreshold: served.decisionThreshold } : {}),
          dataset: { uri: dataset.uri, sha256: dataset.sha256, partitions: dataset.partitions ?? null },
          predictionsUri: `${store.uriFor(layout.partsPrefix)}/`,
          rows,
          chunks: scored.chunks,
          chunkRows: input.chunkRows,
          predictions,
          unseenCategories: unseen,
          drift,
          convertedColumns: check.selects.flatMap((s) =>
            s.convertedFrom ? [{ column: s.name, from: s.convertedFrom }] : [],
          ),
          warnings,
        };
        // The page first, summary.json last: a reader that finds the summary finds its page.
        const page = await store.put(layout.summaryPage, renderSummaryPage(summary), { contentType: 'text/html' });
        const put = await store.put(layout.summary, `${JSON.stringify(summary, null, 2)}\n`, {
          contentType: 'application/json',
        });
        run.log.info('batch predicted', {
          model: version.model,
          version: version.version,
          rows,
          chunks: scored.chunks,
          written: scored.written,
        });
        return { rows, scored, warnings, summary, summaryUri: put.uri, page, table: read.table };
      };

      const main = await scoreWith(primary, 'scoring', 'batch_predictions');
      const result: BatchPredictResult = {
        model: record.model,
        version: record.version,
        ...('alias' in reference ? { alias: reference.alias } : {}),
        dataset: {
          uri: dataset.uri,
          sha256: dataset.sha256,
          ...(dataset.partitions ? { partitions: dataset.partitions } : {}),
        },
        rows: main.rows,
        chunks: main.scored.chunks,
        chunksWritten: main.scored.written,
        predictionsUri: main.summary.predictionsUri,
        summaryUri: main.summaryUri,
        summaryPageUri: main.page.uri,
        reportUrl: await signReportLink(store, { kind: 'report', ...main.page }),
        warnings: main.warnings.slice(0, MAX_WARNINGS_IN_RESULT),
      };
      if (!shadow) return result;

      const second = await scoreWith(shadow, 'scoring with the shadow', 'shadow_predictions');
      run.step('comparing the shadow with the primary');
      const comparison = await compareVersions(session, primary, shadow, main, second, input.keyColumns);
      const put = await store.put(
        primary.layout.comparison(shadow.record.model, shadow.record.version),
        `${JSON.stringify(comparison, null, 2)}\n`,
        { contentType: 'application/json' },
      );
      return {
        ...result,
        shadow: {
          model: shadow.record.model,
          version: shadow.record.version,
          ...(shadow.alias !== undefined ? { alias: shadow.alias } : {}),
          predictionsUri: second.summary.predictionsUri,
          summaryUri: second.summaryUri,
          chunksWritten: second.scored.written,
        },
        comparison: {
          uri: put.uri,
          rowsCompared: comparison.rowsCompared,
          ...(comparison.agreement
            ? {
                agreement: {
                  rate: comparison.agreement.rate,
                  lower: comparison.agreement.interval.lower,
                  upper: comparison.agreement.interval.upper,
                },
              }
            : {}),
          ks: comparison.headline.ks,
          psi: comparison.headline.psi,
        },
      };
    } finally {
      model.dispose();
      shadowModel?.dispose();
    }
  });

  /** The two sets joined row by row in DuckDB (lib/batch-predict/shadow-comparison.ts), with who was compared. */
  async function compareVersions(
    session: DuckDbSession,
    primary: Scorer,
    shadow: Scorer,
    main: { rows: number; summaryUri: string; table?: DatasetTable },
    second: { summaryUri: string; table?: DatasetTable },
    keyColumns: readonly string[],
  ) {
    const side = (scorer: Scorer, summaryUri: string) => ({
      model: scorer.record.model,
      version: scorer.record.version,
      ...(scorer.alias !== undefined ? { alias: scorer.alias } : {}),
      predictionsUri: `${store.uriFor(scorer.layout.partsPrefix)}/`,
      summaryUri,
    });
    const compared =
      main.table && second.table
        ? await compareShadowPredictions({
            session,
            primary: main.table.table,
            shadow: second.table.table,
            rows: main.rows,
            task: primary.model.task,
            scores: comparedScoresOf(primary.model),
            ...(primary.model.classes ? { classes: primary.model.classes } : {}),
            keyColumns,
          })
        : emptyComparison(primary.model.task);
    return {
      version: SHADOW_COMPARISON_VERSION,
      primary: side(primary, main.summaryUri),
      shadow: side(shadow, second.summaryUri),
      ...compared,
    };
  }

  /** The written parts, read back as one dataset (`tableName`) and profiled. */
  async function readBackPredictions(
    run: StageRun,
    session: DuckDbSession,
    layout: BatchLayout,
    model: ServingModel,
    chunks: number,
    tableName: string,
    idPrefix: string,
  ): Promise<{ profile: PredictionsProfile; table?: DatasetTable }> {
    const scoreColumns = scoreColumnsOf(model);
    if (chunks === 0) return { profile: { rows: 0, distinctPredictionIds: 0, scores: {} } };
    const parts = await run.materialize(store, `${store.uriFor(layout.partsPrefix)}/`, { format: 'parquet' });
    // A plain view: the parts' schema is known, and loadDataset's column classification counts distinct scores.
    const table = quoteIdentifier(tableName);
    const files = parts.files.map((file) => quoteStringLiteral(file)).join(', ');
    await session.run(`CREATE OR REPLACE VIEW ${table} AS SELECT * FROM read_parquet([${files}])`);
    const view: DatasetTable = { table, relation: 'view', columns: [], rowCount: 0 };
    const profile = await profilePredictions(session, view, scoreColumns, model.task !== 'regression', idPrefix);
    return { profile, table: view };
  }

  return { resolvePredictionModel, resolveShadowModel, predictBatch };
}

export type BatchPredictActivities = ReturnType<typeof batchPredictActivities>;

/**
 * output.uri as a key prefix of this store; by default batch-predictions/<hash of the dataset's URI and fingerprint,
 * the chunk size and the key columns>, so runs that write different parts, or claim another input, never share a folder.
 */
function outputPrefix(store: ArtifactStore, input: BatchPredictInput, dataset: DatasetFingerprint): string {
  if (!input.output) {
    const settings = JSON.stringify([dataset.sha256, input.chunkRows, input.keyColumns, dataset.uri]);
    return `batch-predictions/${createHash('sha256').update(settings).digest('hex').slice(0, 16)}`;
  }
  try {
    return store.keyFor(input.output.uri.replace(/\/+$/, '')); // a folder: the trailing "/" is optional
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

/** What a version's prediction ids on a dataset derive from: distinct across models, versions and datasets. */
function idSeedOf(model: string, version: number, datasetSha256: string): string {
  return `${model}:${version}:${datasetSha256}`;
}

/** A reference that names nothing servable is the caller's to fix: non-retryable, naming what exists and the field. */
function toModelFailure(error: unknown, field: 'model' | 'shadow' = 'model'): never {
  if (error instanceof ServingModelNotFoundError || error instanceof ModelArtifactMissingError)
    throw new DataError(FailureType.ModelVersionNotFound, error.message, [{ path: field, message: error.message }]);
  throw error;
}

/** What shadowIncompatibility reads from a registry record. */
function comparableOf(record: VersionRecord): ComparableVersion {
  return {
    model: record.model,
    version: record.version,
    task: record.lineage.training.task.type,
    ...(record.lineage.training.classes ? { classes: record.lineage.training.classes } : {}),
  };
}
