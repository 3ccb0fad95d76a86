import { parseBatchPredictInput, type BatchPredictInput } from './batch-predict-input';
import { settingProblems, withSettings, type RetryPlanResult, type RetryRules } from './operator-retry';

/** batchPredict's activities; only predictBatch is retried by an operator: the version was resolved once and stays. */
export type BatchPredictStage = 'resolvePredictionModel' | 'predictBatch';

/**
 * An operator's retry of a batchPredict run waiting on bad data: predictBatch runs again, with the input
 * fields `set` changed (e.g. dataset.uri) and checked by the input's own schema; the model is fixed.
 */
export function planBatchRetry(
  input: BatchPredictInput,
  _failedStage: BatchPredictStage,
  request: { stage?: string; set?: Record<string, unknown> },
): RetryPlanResult<BatchPredictInput, BatchPredictStage> {
  const changedPaths = Object.keys(request.set ?? {});
  const problems = settingProblems(changedPaths);
  for (const path of changedPaths)
    if (path === 'shadow' || path.startsWith('shadow.'))
      problems.push({
        path,
        message: 'cannot change in a retry: the shadow version was resolved once; start a new run',
      });
  if (request.stage !== undefined && request.stage !== 'predictBatch')
    problems.unshift({
      path: 'stage',
      message: 'a batchPredict run retries predictBatch only, with the version it resolved; omit --stage',
    });
  if (problems.length > 0) return { ok: false, problems };
  const parsed = parseBatchPredictInput(withSettings(input, request.set));
  if (!parsed.ok) return { ok: false, problems: parsed.problems };
  return { ok: true, plan: { input: parsed.value, restartFrom: 'predictBatch', changedPaths } };
}

export const batchPredictRetryRules: RetryRules<BatchPredictInput, BatchPredictStage> = {
  plan: planBatchRetry,
  /** The resolved version is kept: a retry scores with the version the run recorded. */
  kept: () => ['resolvePredictionModel'],
};
