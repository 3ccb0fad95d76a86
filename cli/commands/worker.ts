import { Command } from 'commander';
import { runWorker } from '../../worker/run-worker';
import { cliLogger, loadCliConfig } from '../config-edge';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run a trainyard worker (configured from the environment; see README "Configuration")')
    .action(async () => {
      const config = loadCliConfig();
      const logger = cliLogger(config, 'trainyard-worker');
      await runWorker(config, logger);
      // Pooled keep-alive sockets (S3) and the Temporal runtime would keep the process alive after a
      // graceful shutdown; once the logs are flushed there is nothing left to wait for.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      process.exit(0);
    });
}
