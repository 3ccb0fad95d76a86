import { parentPort, workerData } from 'node:worker_threads';
import { createArtifactStore } from '../store/create-store';
import { loadTfjs } from '../tfjs-backend';
import { GBDT_BACKEND, trainGbdt } from './gbdt/train-gbdt';
import type { TrainingSourcesModule, ThreadMessage, ThreadRequest } from './train-in-thread';
import { trainModel, type EpochReport } from './trainer';

/**
 * The training thread: opens its own store and batch sources from the refs it was given, runs the
 * epoch loop, and reports to the activity by message, then exits by itself. On cancel the activity
 * asks it to stop (a shared flag it reads between batches) rather than terminating it: a thread terminated while DuckDB
 * works on its behalf tears down the environment that DuckDB's native callback then calls into, and
 * node-addon-api's C++ exception aborts the whole process ("terminate called after throwing an
 * instance of 'Napi::Error'"). Stopped between batches, it closes DuckDB first and exits cleanly.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('train-thread must run as a worker thread');
  const post = (message: ThreadMessage) => port.postMessage(message);
  const request = workerData as ThreadRequest;
  const stop = new Int32Array(request.stop);
  try {
    // Trees need no tensors: a gbdt run skips loading TensorFlow.js.
    const tfjs = request.job.settings.model === 'gbdt' ? undefined : await loadTfjs();
    post({ type: 'ready', backend: tfjs?.backend ?? GBDT_BACKEND, fallbackReasons: tfjs?.fallbackReasons ?? [] });
    const store = createArtifactStore(request.store);
    const sourcesModule = (await import(request.sourcesModule)) as TrainingSourcesModule;
    const sources = await sourcesModule.openTrainingSources(store, request.sources);
    let outcome;
    try {
      const deps = { store, train: sources.train, validation: sources.validation };
      const hooks = {
        onEpoch: (report: EpochReport) => post({ type: 'epoch', report }),
        onProgress: (progress: { epoch: number; rowsDone: number; rowsTotal: number }) =>
          post({ type: 'progress', ...progress }),
        onResume: (info: { epoch: number; source: string }) => post({ type: 'resumed', ...info }),
        shouldStop: () => Atomics.load(stop, 0) === 1,
      };
      outcome = tfjs
        ? await trainModel({ tfjs, ...deps }, request.job, hooks)
        : await trainGbdt(deps, request.job, hooks);
    } finally {
      // Close the native DuckDB handles before reporting: the parent may terminate the thread once it
      // hears the result, and a terminate during a native close aborts the whole process.
      await Promise.allSettled([sources.train.close(), sources.validation.close()]);
    }
    post({ type: 'done', outcome });
  } catch (error) {
    post({ type: 'failed', error: describeError(error) });
  }
}

/** Errors cross the thread boundary as plain data; ApplicationFailure-like fields are kept. */
function describeError(error: unknown): Extract<ThreadMessage, { type: 'failed' }>['error'] {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e = error as Error & { type?: unknown; nonRetryable?: unknown; details?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    ...(typeof e.type === 'string' ? { failureType: e.type } : {}),
    ...(typeof e.nonRetryable === 'boolean' ? { nonRetryable: e.nonRetryable } : {}),
    ...(Array.isArray(e.details) ? { details: safeClone(e.details) } : {}),
  };
}

function safeClone(value: unknown): unknown[] {
  try {
    return JSON.parse(JSON.stringify(value)) as unknown[];
  } catch {
    return [];
  }
}

await main();
