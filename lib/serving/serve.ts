import type { Logger } from 'pino';
import { formatModelReference, type ModelReference } from '../../contracts/model-reference';
import type { ArtifactStore } from '../store/artifact-store';
import { buildHttpApp } from './http-app';
import { LiveModel } from './live-model';
import { PredictionLog } from './prediction-log';
import { ServeMetrics } from './serve-metrics';

export interface ServeSettings {
  reference: ModelReference;
  host: string;
  /** 0 picks a free port (the address is logged and returned). */
  port: number;
  pollIntervalMs: number;
  flushIntervalMs: number;
  bodyLimitBytes: number;
  maxBatchRows: number;
}

export interface RunningServer {
  /** http://host:port */
  url: string;
  /** Graceful shutdown: stop taking requests, finish those in flight, write the prediction log, free the model. */
  close(): Promise<void>;
}

/**
 * Starts online serving: loads the version the reference names, listens, polls the registry every
 * `pollIntervalMs` (an alias that moved is loaded beside the old version and swapped in, no request
 * fails), and writes the prediction log every `flushIntervalMs`.
 */
export async function startServer(
  store: ArtifactStore,
  settings: ServeSettings,
  logger: Logger,
): Promise<RunningServer> {
  const reference = formatModelReference(settings.reference);
  const live = await LiveModel.open(store, settings.reference);
  const metrics = new ServeMetrics();
  const showVersion = () => {
    metrics.modelVersion.reset();
    metrics.modelVersion.set({ model: live.current.model, reference }, live.current.version);
  };
  showVersion();
  const log = new PredictionLog(store, live.current.model, {
    flushIntervalMs: settings.flushIntervalMs,
    onFlushError: (error, buffered) =>
      logger.warn(
        { err: messageOf(error), buffered },
        'prediction log flush failed; the records are kept for the next flush',
      ),
  });
  log.start();
  let ready = true;
  const app = buildHttpApp(live, log, metrics, {
    bodyLimitBytes: settings.bodyLimitBytes,
    maxBatchRows: settings.maxBatchRows,
    isReady: () => ready,
  });

  const poll = async () => {
    try {
      const outcome = await live.refresh();
      if (outcome.kind === 'reloaded') {
        metrics.reloads.inc({ outcome: 'loaded' });
        showVersion();
        logger.info({ reference, from: outcome.from, to: outcome.to }, 'the alias moved: now serving the new version');
      } else if (outcome.kind === 'alias-unset') {
        logger.warn(
          { reference, version: outcome.version },
          'the alias is no longer set; still serving the last version',
        );
      }
    } catch (error) {
      metrics.reloads.inc({ outcome: 'failed' });
      logger.warn({ reference, err: messageOf(error) }, 'registry poll failed; still serving the current version');
    }
  };
  // One poll at a time: the next is scheduled when the last has finished (a slow load never overlaps).
  let polling: Promise<void> = Promise.resolve();
  let pollTimer: NodeJS.Timeout | undefined;
  const schedulePoll = () => {
    pollTimer = setTimeout(() => {
      polling = poll().then(() => {
        if (ready) schedulePoll();
      });
    }, settings.pollIntervalMs);
    pollTimer.unref();
  };
  schedulePoll();

  let url: string;
  try {
    url = await app.listen({ host: settings.host, port: settings.port });
  } catch (error) {
    ready = false;
    clearTimeout(pollTimer);
    await log.close().catch(() => undefined);
    await live.close();
    throw error;
  }
  logger.info(
    { url, model: live.current.model, version: live.current.version, reference },
    `trainyard serve listening on ${url}`,
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        ready = false;
        clearTimeout(pollTimer);
        await app.close();
        await polling;
        await live.close();
        await log.close();
        logger.info(
          { written: log.counts.written, objects: log.counts.objects },
          'trainyard serve stopped; prediction log flushed',
        );
      })();
      return closing;
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
