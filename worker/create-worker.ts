import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { batchPredictActivities } from '../activities/batch-predict';
import { stageMetricsInterceptors } from './metrics-interceptor';

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

export interface TrainyardWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A pre-built bundle (tests share one); by default the workflows are bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  shutdownGraceTime?: string;
  /**
   * Activity slots. Each running train holds a training thread (~120 MiB measured), so the SDK's
   * default of 100 lets a worker's memory grow with every concurrent run: see `npm run bench -- concurrency`.
   */
  maxConcurrentActivities?: number;
}

export async function createTrainyardWorker(options: TrainyardWorkerOptions): Promise<Worker> {
  const { connection, namespace, taskQueue, workflowBundle, store, storeSettings, logger } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: { ...createActivities({ store, storeSettings, logger }), ...batchPredictActivities({ store, logger }) },
    interceptors: { activity: [stageMetricsInterceptors] },
    shutdownGraceTime: options.shutdownGraceTime ?? '30 seconds',
    ...(options.maxConcurrentActivities
      ? { maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities }
      : {}),
  });
}
