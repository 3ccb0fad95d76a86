import { isCancellation, proxyActivities, setHandler, upsertMemo } from '@temporalio/workflow';
import { parseBatchPredictInput, type BatchPredictResult } from '../contracts/batch-predict-input';
import { batchPredictRetryRules } from '../contracts/batch-predict-retry';
import { NON_RETRYABLE_FAILURE_TYPES, rootFailure } from '../contracts/errors';
import { valueOrFail } from '../contracts/pipeline-input-failure';
import type { BatchPredictActivities } from '../activities/batch-predict';
import { batchPredictStatusQuery } from './batch-predict-messages';
import { BatchPredictTracker } from './batch-predict-tracker';
import { OperatorDesk } from './operator-desk';
import { runAsOf } from './run-as-of';

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
 * (resolved once as well) scores the same rows into its own folder, and the two are compared. Bad data waits
 * for an operator.
 */
export async function batchPredict(rawInput: unknown): Promise<BatchPredictResult> {
  const input = valueOrFail(parseBatchPredictInput(rawInput), 'batch predict input');
  const tracker = new BatchPredictTracker(input.model, input.dataset.uri);
  setHandler(batchPredictStatusQuery, () => tracker.status);
  const operator = new OperatorDesk(tracker, batchPredictRetryRules);
  try {
    const { resolved, shadow } = await tracker.run('resolvePredictionModel', async () => {
      const resolved = await resolvePredictionModel({ model: input.model });
      // The shadow is resolved once too, and refused (naming `shadow`) before anything is scored.
      const shadow =
        input.shadow === undefined
          ? undefined
          : await resolveShadowModel({
              primary: { model: resolved.model, version: resolved.version },
              shadow: input.shadow,
            });
      return { resolved, shadow };
    });
    tracker.recordVersion(resolved.version, shadow?.version);
    // Like the pipeline's stages: bad data waits (outcome awaiting-operator) for `trainyard retry [--dataset]` or `abort`.
    const result = await operator.run(input, (current) =>
      tracker.run('predictBatch', () => {
        tracker.recordDataset(current.dataset.uri);
        upsertMemo({
          model: current.model,
          version: resolved.version,
          dataset: current.dataset.uri,
          ...(shadow ? { shadow: current.shadow, shadowVersion: shadow.version } : {}),
        });
        return predictBatch({
          input: current,
          version: resolved.version,
          ...(shadow ? { shadowVersion: shadow.version } : {}),
          asOf: runAsOf(),
        });
      }),
    );
    tracker.succeed(result);
    upsertMemo({
      predictions: result.predictionsUri,
      summary: result.summaryUri,
      report: result.reportUrl,
      rows: result.rows,
      ...(result.comparison ? { comparison: result.comparison.uri } : {}),
    });
    return result;
  } catch (error) {
    tracker.fail(isCancellation(error) ? 'cancelled' : 'failed', rootFailure(error));
    throw error;
  }
}
