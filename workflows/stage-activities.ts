import { proxyActivities, type ActivityFunctionWithOptions, type ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from '../contracts/errors';
import type { StageName, StageRetryPolicy, TimeSpan } from '../contracts/stages';
import type { Activities } from '../activities';

/**
 * Retry policy, timeouts and heartbeat timeout per stage, next to the proxy that calls it.
 * Bad input and bad data (NON_RETRYABLE_FAILURE_TYPES) are never retried automatically: the run waits
 * for an operator instead. Everything else is retried with backoff.
 */
function policy(maximumAttempts: number, startToCloseTimeout: TimeSpan, heartbeatTimeout?: TimeSpan): StageRetryPolicy {
  return {
    maximumAttempts,
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    startToCloseTimeout,
    ...(heartbeatTimeout ? { heartbeatTimeout } : {}),
    nonRetryableTypes: NON_RETRYABLE_FAILURE_TYPES,
  };
}

/** Reading, profiling and splitting data: minutes on large datasets, heartbeating as they stream. */
const DATA = policy(5, '1 hour', '1 minute');
/** Training: long and crash-prone; a retry resumes from the last checkpoint named in its heartbeat. */
const TRAINING = policy(10, '6 hours', '20 seconds');
const EVALUATION = policy(5, '1 hour', '1 minute');
/** Registry reads and conditional writes: small and quick; conflicts are resolved inside the activity. */
const REGISTRY = policy(10, '2 minutes');

/** What `status` shows per stage. */
export const STAGE_RETRY_POLICIES: Partial<Record<StageName, StageRetryPolicy>> = {
  fingerprintDataset: DATA,
  validateData: DATA,
  splitAndSample: DATA,
  fitPreprocessor: DATA,
  train: TRAINING,
  evaluate: EVALUATION,
  register: REGISTRY,
  promote: REGISTRY,
};

function proxy(p: StageRetryPolicy) {
  const options: ActivityOptions = {
    startToCloseTimeout: p.startToCloseTimeout,
    ...(p.heartbeatTimeout ? { heartbeatTimeout: p.heartbeatTimeout } : {}),
    retry: {
      initialInterval: p.initialInterval,
      backoffCoefficient: p.backoffCoefficient,
      maximumInterval: p.maximumInterval,
      maximumAttempts: p.maximumAttempts,
      nonRetryableErrorTypes: [...p.nonRetryableTypes],
    },
  };
  return proxyActivities<Activities>(options);
}

/** Data stages' activities; the drift monitor's checkDrift profiles a batch under the same policy. */
export const dataStages = proxy(DATA);
const trainingStage = proxy(TRAINING);
const evaluationStage = proxy(EVALUATION);
const registryStages = proxy(REGISTRY);

/** Calls a stage's activity with a one-line summary, derived from its argument, on the UI's timeline. */
function labelled<A, R>(
  activity: ActivityFunctionWithOptions<(arg: A) => Promise<R>>,
  summarize: (arg: A) => string,
): (arg: A) => Promise<R> {
  return (arg) => activity.executeWithOptions({ summary: summarize(arg) }, [arg]);
}

/** The pipeline's stages as the workflow calls them. */
export const stages = {
  getChampion: registryStages.getChampion,
  fingerprintDataset: labelled(dataStages.fingerprintDataset, (a) => `fingerprint ${a.uri}`),
  validateData: labelled(
    dataStages.validateData,
    (a) => `validate ${a.dataset.uri} against ${a.champion ? `champion v${a.champion.version}` : 'an inferred schema'}`,
  ),
  splitAndSample: labelled(
    dataStages.splitAndSample,
    (a) => `split (${a.input.split.strategy}), sample (${a.input.sampling.strategy})`,
  ),
  fitPreprocessor: labelled(
    dataStages.fitPreprocessor,
    (a) => `fit the preprocessor on ${a.split.rows.train} train rows`,
  ),
  train: labelled(
    trainingStage.train,
    (a) =>
      `train ${a.input.train.model} on ${a.preprocessor.featureCount} features, ${a.input.train.epochs === undefined ? 'epochs sized to the data' : `up to ${a.input.train.epochs} epochs`}`,
  ),
  evaluate: labelled(
    evaluationStage.evaluate,
    (a) => `evaluate on ${a.split.rows.test} test rows${a.champion ? ` against champion v${a.champion.version}` : ''}`,
  ),
  registerModel: registryStages.registerModel,
  promote: labelled(registryStages.promote, (a) => `move ${a.alias} to ${a.model} v${a.version}`),
};
