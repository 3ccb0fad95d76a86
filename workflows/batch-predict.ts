import { isCancellation, proxyActivities, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { parseBatchPredictInput, type BatchPredictResult } from '../contracts/batch-predict-input';
import { NON_RETRYABLE_FAILURE_TYPES, rootFailure } from '../contracts/errors';
import { valueOrFail } from '../contracts/pipeline-input-failure';
import type { BatchPredictActivities } from '../activities/batch-predict';
import { batchPredictStatusQuery, type BatchPredictStatus } from './batch-predict-messages';
import { runAsOf } from './run-as-of';
import { TrainyardModel, TrainyardOutcome, TrainyardStage } from './search-attributes';

/** Reading the registry: small and quick. */
const { resolvePredictionModel, resolveShadowModel } = proxyActivities<BatchPredictActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});
/** Scoring: long; a retry (20 s after a worker dies) resumes at the first chunk whose part is missing. Bad data is not retried. */
const { predictBatch } = proxyActivities<BatchPredictActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry: {
    maximumAttempts: 5,
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
  },
});

/**
 * batchPredict: a registered version scores a dataset from the store into Parquet predictions.
 * The alias is resolved once, so every chunk (and every retry) uses the version recorded in the result,
 * the memo and `status`; then predictBatch checks the dataset against that version's training schema and
 * scores it in chunks, resuming at the first missing chunk after a crash. With `shadow`, a second version
 * (resolved once as well) scores the same rows into its own folder, and the two are compared.
 */
export async function batchPredict(rawInput: unknown): Promise<BatchPredictResult> {
  const input = valueOrFail(parseBatchPredictInput(rawInput), 'batch predict input');
  const model = input.model.split(/[@:]/, 1)[0] as string;
  const status: BatchPredictStatus = {
    model: input.model,
    datasetUri: input.dataset.uri,
    stage: 'resolving the model',
    outcome: 'running',
  };
  setHandler(batchPredictStatusQuery, () => status);
  upsertSearchAttributes([
    { key: TrainyardModel, value: model },
    { key: TrainyardStage, value: 'resolveModel' },
    { key: TrainyardOutcome, value: 'running' },
  ]);
  try {
    const resolved = await resolvePredictionModel({ model: input.model });
    // The shadow is resolved once too, and refused (naming `shadow`) before anything is scored.
    const shadow =
      input.shadow === undefined
        ? undefined
        : await resolveShadowModel({
            primary: { model: resolved.model, version: resolved.version },
            shadow: input.shadow,
          });
    status.version = resolved.version;
    if (shadow) status.shadowVersion = shadow.version;
    status.stage = 'predicting';
    upsertSearchAttributes([{ key: TrainyardStage, value: 'predictBatch' }]);
    upsertMemo({
      model: input.model,
      version: resolved.version,
      dataset: input.dataset.uri,
      ...(shadow ? { shadow: input.shadow, shadowVersion: shadow.version } : {}),
    });
    const result = await predictBatch({
      input: rawInput,
      version: resolved.version,
      ...(shadow ? { shadowVersion: shadow.version } : {}),
      asOf: runAsOf(),
    });
    status.stage = 'done';
    status.outcome = 'succeeded';
    status.result = result;
    upsertSearchAttributes([{ key: TrainyardOutcome, value: 'succeeded' }]);
    upsertMemo({
      predictions: result.predictionsUri,
      summary: result.summaryUri,
      rows: result.rows,
      ...(result.comparison ? { comparison: result.comparison.uri } : {}),
    });
    return result;
  } catch (error) {
    status.outcome = isCancellation(error) ? 'cancelled' : 'failed';
    status.failure = rootFailure(error);
    upsertSearchAttributes([{ key: TrainyardOutcome, value: status.outcome }]);
    throw error;
  }
}
