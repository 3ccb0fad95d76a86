import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig, type Config } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { PinoTemporalLogger } from '../../worker/temporal-logger';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { createTrainyardWorker, WORKFLOWS_PATH } from '../../worker/create-worker';
import { installTemporalRuntime } from '../../worker/runtime';

/**
 * A real worker on a task queue of its own, against the real dev server and the real MinIO that
 * `npm test` starts. Each test file gets one; tests never share a queue with a user's worker.
 */
export interface TestHarness {
  config: Config;
  client: Client;
  store: ArtifactStore;
  taskQueue: string;
  worker: Worker;
  /** The bundle the worker runs, for replay tests. */
  workflowBundle: { code: string };
  /** Key prefix unique to this run, so reruns never see each other's objects. */
  prefix: string;
  close(): Promise<void>;
}

export async function startTestHarness(): Promise<TestHarness> {
  const config = loadConfig();
  if (config.store.kind !== 's3') {
    throw new Error('Integration tests run against the real MinIO: set S3_ENDPOINT (npm test does this).');
  }
  const logger = createLogger({ level: config.log.level, format: 'json' });
  installTemporalRuntime(logger);
  const store = createArtifactStore(config.store);
  await store.ensureReady();
  const taskQueue = `test-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new PinoTemporalLogger(logger.child({ level: 'warn' })),
  });
  const worker = await createTrainyardWorker({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    store,
    storeSettings: config.store,
    logger,
    workflowBundle,
    shutdownGraceTime: '2 seconds',
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return {
    config: { ...config, temporal: { ...config.temporal, taskQueue } },
    client,
    store,
    taskQueue,
    worker,
    workflowBundle,
    prefix: `test/${randomUUID().slice(0, 8)}`,
    async close() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
    },
  };
}
