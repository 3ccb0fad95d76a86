import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { stageMetricsInterceptors } from './metrics-interceptor';

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

export interface TrainyardWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A pre-built bundle (tests share one); by default the workflows are bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  shutdownGraceTime?: string;
}

export async function createTrainyardWorker(options: TrainyardWorkerOptions): Promise<Worker> {
  const { connection, namespace, taskQueue, workflowBundle, store, logger } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ store, logger }),
    interceptors: { activity: [stageMetricsInterceptors] },
    shutdownGraceTime: options.shutdownGraceTime ?? '30 seconds',
  });
}
