import { Command } from 'commander';
import { z } from 'zod';
import { ModelReferenceText } from '../../contracts/model-reference';
import { InvalidRowsError, ModelArtifactMissingError, ServingModelNotFoundError } from '../../lib/serving/errors';
import { startServer } from '../../lib/serving/serve';
import { createArtifactStore } from '../../lib/store/create-store';
import { cliLogger, ExitCode, loadCliConfig, UsageError } from '../config-edge';
import { parseOptions } from '../schedules/schedule-options';
import { formatDurationMs, parseDurationMs } from '../schedules/durations';

const duration = (minMs: number) =>
  z.string().transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined || ms < minMs) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration of at least ${formatDurationMs(minMs)}, like 500ms, 5s or 1m, got "${text}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

const wholeNumber = (min: number, max: number, what: string) =>
  z.coerce
    .number({ message: `expected ${what}` })
    .int({ message: `expected ${what}` })
    .min(min, { message: `expected ${what}` })
    .max(max, { message: `expected ${what}` });

export const ServeOptions = z.object({
  model: ModelReferenceText,
  host: z.string().regex(/^[A-Za-z0-9.\-_:[\]]{1,255}$/, {
    message: 'expected a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0',
  }),
  port: wholeNumber(0, 65535, 'a port from 0 (any free port) to 65535'),
  pollInterval: duration(100),
  flushInterval: duration(100),
  bodyLimit: wholeNumber(1024, 256 * 1024 * 1024, 'a size in bytes from 1024 to 268435456'),
  maxBatchRows: wholeNumber(1, 100_000, 'a whole number of rows from 1 to 100000'),
});

/** `trainyard serve --model penguins@champion`: online predictions over HTTP (lib/serving). */
export function serveCommand(): Command {
  return new Command('serve')
    .description('Serve a registered version over HTTP: POST /predict, GET /healthz, /readyz, /metrics')
    .requiredOption(
      '--model <reference>',
      'the version to serve: <model>@<alias> (follows the alias) or <model>:<version>',
    )
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .option('--port <port>', 'the port (0: any free port)', '8080')
    .option('--poll-interval <duration>', 'how often the registry is checked for a moved alias', '5s')
    .option('--flush-interval <duration>', 'how often the prediction log is written to the artifact store', '2s')
    .option('--body-limit <bytes>', 'the largest request body accepted (larger: 413)', '1048576')
    .option('--max-batch-rows <n>', 'the most rows one request may carry', '1000')
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(ServeOptions, raw);
      const config = await loadCliConfig();
      const logger = cliLogger(config, 'trainyard-serve');
      const store = createArtifactStore(config.store);
      let server;
      try {
        server = await startServer(
          store,
          {
            reference: options.model,
            host: options.host,
            port: options.port,
            pollIntervalMs: options.pollInterval,
            flushIntervalMs: options.flushInterval,
            bodyLimitBytes: options.bodyLimit,
            maxBatchRows: options.maxBatchRows,
          },
          logger,
        );
      } catch (error) {
        if (
          error instanceof ServingModelNotFoundError ||
          error instanceof ModelArtifactMissingError ||
          error instanceof InvalidRowsError
        )
          throw new UsageError(error.message);
        throw error;
      }
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      const signal = await stopped;
      logger.info({ signal }, 'shutting down: finishing requests in flight, then writing the prediction log');
      let code: number = ExitCode.ok;
      try {
        await server.close();
      } catch (error) {
        logger.error(
          { err: error instanceof Error ? error.message : String(error) },
          'shutdown failed: the prediction log could not be written',
        );
        code = ExitCode.failed;
      }
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      // Pooled keep-alive sockets (S3) would keep the process alive after a graceful shutdown.
      process.exit(code);
    });
}
