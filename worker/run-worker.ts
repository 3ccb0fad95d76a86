import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { retryWithBackoff } from '../lib/retry';
import { createArtifactStore } from '../lib/store/create-store';
import { createTrainyardWorker } from './create-worker';
import { installTemporalRuntime } from './runtime';

/**
 * Runs a trainyard worker until SIGINT/SIGTERM. Services that are not up yet are waited for with
 * backoff and one log line per attempt, rather than crashing and being restarted in a loop.
 */
export async function runWorker(config: Config, logger: Logger): Promise<void> {
  installTemporalRuntime(logger, { metricsAddress: config.metrics.address });
  const startup = new AbortController();
  const abortStartup = () => startup.abort();
  process.once('SIGINT', abortStartup);
  process.once('SIGTERM', abortStartup);

  const untilReady = <T>(operation: () => Promise<T>, what: string) =>
    retryWithBackoff(operation, {
      signal: startup.signal,
      onRetry: (error, attempt, delayMs) =>
        logger.warn({ attempt, retryInMs: delayMs, err: errorMessage(error) }, `${what} not reachable yet; retrying`),
    });

  const store = createArtifactStore(config.store);
  const storeDescription =
    config.store.kind === 's3'
      ? `s3 ${config.store.s3.endPoint}:${config.store.s3.port}/${config.store.s3.bucket}`
      : `fs ${config.store.root}`;
  let connection: NativeConnection;
  try {
    await untilReady(() => store.ensureReady(), `artifact store (${storeDescription})`);
    connection = await untilReady(
      () => NativeConnection.connect({ address: config.temporal.address }),
      `Temporal at ${config.temporal.address}`,
    );
  } catch (error) {
    if (!startup.signal.aborted) throw error;
    logger.info('trainyard worker stopped before it was ready');
    return;
  }
  process.off('SIGINT', abortStartup);
  process.off('SIGTERM', abortStartup);

  try {
    const worker = await createTrainyardWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      maxConcurrentActivities: config.temporal.maxConcurrentActivities,
      store,
      storeSettings: config.store,
      logger,
    });
    logger.info(
      {
        taskQueue: config.temporal.taskQueue,
        namespace: config.temporal.namespace,
        temporal: config.temporal.address,
        store: storeDescription,
      },
      'trainyard worker started',
    );
    // The Temporal Runtime turns SIGINT/SIGTERM into a graceful shutdown: in-flight activities finish
    // (up to shutdownGraceTime), then run() resolves.
    await worker.run();
    logger.info('trainyard worker stopped');
  } finally {
    await connection.close();
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
