import { Command } from 'commander';
import { runWorker } from '../../worker/run-worker';
import { loadConfigFindingDevServices } from '../../lib/dev-services/config-with-dev-services';
import { cliLogger } from '../config-edge';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run a trainyard worker (configured from the environment; see README "Configuration")')
    .action(async () => {
      const { config, fromDevServices } = await loadConfigFindingDevServices();
      const logger = cliLogger(config, 'trainyard-worker');
      const taken = Object.keys(fromDevServices);
      if (taken.length > 0)
        logger.info({ variables: taken }, 'settings the environment leaves unset come from the running dev services');
      await runWorker(config, logger);
      // Pooled keep-alive sockets (S3) and the Temporal runtime would keep the process alive after a
      // graceful shutdown; once the logs are flushed there is nothing left to wait for.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      process.exit(0);
    });
}
