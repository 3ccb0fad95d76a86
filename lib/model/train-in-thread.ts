import { Worker } from 'node:worker_threads';
import type { ArtifactRef } from '../../contracts/artifacts';
import { DomainError, isFailureType, type FieldProblemWithFacts } from '../../contracts/errors';
import type { StoreSettings } from '../config';
import type { BatchSource } from '../data/batches';
import type { ArtifactStore } from '../store/artifact-store';
import type { TfjsBackendName } from '../tfjs-backend';
import type { GbdtOutcome, GBDT_BACKEND } from './gbdt/train-gbdt';
import type { EpochReport, TrainJob, TrainOutcome } from './trainer';

export interface TrainingSourceRefs {
  train: ArtifactRef;
  validation: ArtifactRef;
  preprocessor: ArtifactRef;
}

/** A module the thread imports to turn refs into batch sources (default: the split artifacts). */
export interface TrainingSourcesModule {
  openTrainingSources(
    store: ArtifactStore,
    refs: TrainingSourceRefs,
  ): Promise<{ train: BatchSource; validation: BatchSource }>;
}

/** Everything the thread needs, as plain data: refs and settings, never rows or weights. */
export interface ThreadRequest {
  job: TrainJob;
  store: StoreSettings;
  sources: TrainingSourceRefs;
  /** URL of a TrainingSourcesModule; tests point it at generated data. */
  sourcesModule: string;
  /** One Int32 the parent sets to 1 to stop training: read between batches without waiting for the event loop. */
  stop: SharedArrayBuffer;
}

export type ThreadMessage =
  | { type: 'ready'; backend: TfjsBackendName | typeof GBDT_BACKEND; fallbackReasons: string[] }
  | { type: 'resumed'; epoch: number; source: string }
  | { type: 'progress'; epoch: number; rowsDone: number; rowsTotal: number }
  | { type: 'epoch'; report: EpochReport }
  | { type: 'done'; outcome: TrainOutcome | GbdtOutcome }
  | {
      type: 'failed';
      error: {
        name: string;
        message: string;
        stack?: string;
        failureType?: string;
        nonRetryable?: boolean;
        details?: unknown[];
      };
    };

export const DEFAULT_SOURCES_MODULE = new URL('./split-sources.ts', import.meta.url).href;
const THREAD_ENTRY = new URL('./train-thread.mjs', import.meta.url);

/** A failure inside the training thread that is not a domain error: retried by the stage's policy. */
export class TrainThreadError extends Error {
  readonly failureType?: string;
  readonly nonRetryable?: boolean;
  readonly details?: unknown[];
  constructor(error: Extract<ThreadMessage, { type: 'failed' }>['error']) {
    super(error.message);
    this.name = error.name === 'Error' ? 'TrainThreadError' : error.name;
    if (error.stack) this.stack = error.stack;
    if (error.failureType !== undefined) this.failureType = error.failureType;
    if (error.nonRetryable !== undefined) this.nonRetryable = error.nonRetryable;
    if (error.details !== undefined) this.details = error.details;
  }
}

/**
 * Runs `trainModel` (`trainGbdt` for gbdt) in a worker thread so the caller's event loop (heartbeats,
 * cancellation) stays free.
 * Aborting `signal` asks the thread to stop at its next batch or round (terminated only after LINGER_MS);
 * the newest checkpoint in the store survives it.
 */
const LINGER_MS = 10_000;

export function trainInThread(
  request: Omit<ThreadRequest, 'sourcesModule' | 'stop'> & { sourcesModule?: string },
  options: { signal?: AbortSignal; onMessage?: (message: ThreadMessage) => void } = {},
): Promise<TrainOutcome | GbdtOutcome> {
  const stop = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const workerData: ThreadRequest = {
    ...request,
    sourcesModule: request.sourcesModule ?? DEFAULT_SOURCES_MODULE,
    stop,
  };
  return new Promise<TrainOutcome | GbdtOutcome>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(options.signal.reason);
      return;
    }
    const worker = new Worker(THREAD_ENTRY, { workerData, stdout: false, stderr: false });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    // Cancel asks the thread to stop at its next batch or round (see train-thread.ts for why it is not
    // terminated); one that does not stop within LINGER_MS is terminated as a last resort.
    const onAbort = () => {
      settle(() => reject(options.signal?.reason ?? new Error('training cancelled')));
      Atomics.store(new Int32Array(stop), 0, 1);
      endSoon();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // After its last message the thread has closed its native handles and exits by itself; terminate
    // only a thread that lingers, never one still inside native code.
    let lingering: NodeJS.Timeout | undefined;
    const endSoon = () => {
      lingering = setTimeout(() => void worker.terminate(), LINGER_MS);
      lingering.unref();
    };
    worker.on('message', (message: ThreadMessage) => {
      options.onMessage?.(message);
      if (message.type === 'done') {
        settle(() => resolve(message.outcome));
        endSoon();
      } else if (message.type === 'failed') {
        settle(() => reject(threadFailure(message.error)));
        endSoon();
      }
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => {
      clearTimeout(lingering);
      settle(() => reject(new Error(`the training thread exited (code ${code}) before reporting a result`)));
    });
  });
}

/** A domain error from the thread (bad config, say) is rebuilt as one; anything else is a TrainThreadError. */
function threadFailure(error: Extract<ThreadMessage, { type: 'failed' }>['error']): Error {
  if (error.nonRetryable && isFailureType(error.failureType)) {
    const problems = Array.isArray(error.details) ? (error.details as FieldProblemWithFacts[]) : [];
    return new DomainError(error.failureType, error.message, problems);
  }
  return new TrainThreadError(error);
}
