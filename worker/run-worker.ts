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
  installTemporalRuntime(logger);
  const startup = new AbortController();
  const abortStartup = () => startup.abort();
  process.once('SIGINT', abortStartup);
  process.once('SIGTERM', abortStartup);

  const store = createArtifactStore(config.store);
  const storeDescription = config.store.kind === 's3' ? `s3 ${config.store.s3.endPoint}:${config.store.s3.port}/${config.store.s3.bucket}` : `fs ${config.store.root}`;
  await retryWithBackoff(() => store.ensureReady(), {
    signal: startup.signal,
    onRetry: (error, attempt, delayMs) =>
      logger.warn({ attempt, retryInMs: delayMs, err: errorMessage(error) }, `artifact store (${storeDescription}) not reachable yet; retrying`),
  });

  const connection = await retryWithBackoff(() => NativeConnection.connect({ address: config.temporal.address }), {
    signal: startup.signal,
    onRetry: (error, attempt, delayMs) =>
      logger.warn({ attempt, retryInMs: delayMs, err: errorMessage(error) }, `Temporal at ${config.temporal.address} not reachable yet; retrying`),
  });
  process.off('SIGINT', abortStartup);
  process.off('SIGTERM', abortStartup);

  try {
    const worker = await createTrainyardWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      store,
      logger,
    });
    logger.info(
      { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, temporal: config.temporal.address, store: storeDescription },
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
