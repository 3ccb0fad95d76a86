import { proxyActivities, type ActivityFunctionWithOptions, type ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from '../contracts/errors';
import type { Activities } from '../activities';

/**
 * Retry policy, timeouts and heartbeat timeout per stage, next to the proxy that calls it.
 * Bad input and bad data (NON_RETRYABLE_FAILURE_TYPES) are never retried; everything else is.
 */
const retry = (maximumAttempts: number): ActivityOptions['retry'] => ({
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts,
  nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
});

/** Reading, profiling and splitting data: minutes on large datasets, heartbeating as they stream. */
const dataStages = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: retry(5),
});

/** Training: long and crash-prone; a retry resumes from the last checkpoint named in its heartbeat. */
const trainingStage = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry: retry(10),
});

const evaluationStage = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: retry(5),
});

/** Registry reads and conditional writes: small and quick; conflicts are resolved inside the activity. */
const registryStages = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: retry(10),
});

/** Calls a stage's activity with a one-line summary, derived from its argument, on the UI's timeline. */
function labelled<A, R>(activity: ActivityFunctionWithOptions<(arg: A) => Promise<R>>, summarize: (arg: A) => string): (arg: A) => Promise<R> {
  return (arg) => activity.executeWithOptions({ summary: summarize(arg) }, [arg]);
}

/** The pipeline's stages as the workflow calls them. */
export const stages = {
  getChampion: registryStages.getChampion,
  fingerprintDataset: labelled(dataStages.fingerprintDataset, (a) => `fingerprint ${a.uri}`),
  validateData: labelled(dataStages.validateData, (a) =>
    `validate ${a.dataset.uri} against ${a.champion ? `champion v${a.champion.version}` : 'an inferred schema'}`),
  splitAndSample: labelled(dataStages.splitAndSample, (a) => `split (${a.input.split.strategy}), sample (${a.input.sampling.strategy})`),
  fitPreprocessor: labelled(dataStages.fitPreprocessor, (a) => `fit the preprocessor on ${a.split.rows.train} train rows`),
  train: labelled(trainingStage.train, (a) =>
    `train ${a.input.train.model} on ${a.preprocessor.featureCount} features, up to ${a.input.train.epochs} epochs`),
  evaluate: labelled(evaluationStage.evaluate, (a) =>
    `evaluate on ${a.split.rows.test} test rows${a.champion ? ` against champion v${a.champion.version}` : ''}`),
  registerModel: registryStages.registerModel,
  promote: labelled(registryStages.promote, (a) => `move ${a.alias} to ${a.model} v${a.version}`),
};
