import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
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
export const dataStages = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: retry(5),
});

/** Training: long and crash-prone; a retry resumes from the last checkpoint named in its heartbeat. */
export const trainingStage = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry: retry(10),
});

export const evaluationStage = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: retry(5),
});

/** Registry reads and conditional writes: small and quick; conflicts are resolved inside the activity. */
export const registryStages = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: retry(10),
});
