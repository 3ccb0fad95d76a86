import { Command } from 'commander';
import { runWorker } from '../../worker/run-worker';
import { cliLogger, loadConfigOrExit } from '../config-edge';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run a trainyard worker (configured from the environment; see README "Configuration")')
    .action(async () => {
      const config = loadConfigOrExit();
      await runWorker(config, cliLogger(config, 'trainyard-worker'));
    });
}
