import { Command, CommanderError } from 'commander';
import { approveCommand, rejectCommand } from './commands/approve';
import { abortCommand, retryCommand } from './commands/retry';
import { dataCommand } from './commands/data';
import { devCommand } from './commands/dev';
import { doctorCommand } from './commands/doctor';
import { modelsCommand } from './commands/models';
import { predictCommand } from './commands/predict';
import { runCommand } from './commands/run';
import { runsCommand } from './commands/runs';
import { scheduleCommand } from './commands/schedule';
import { serveCommand } from './commands/serve';
import { schemaCommand } from './commands/schema';
import { statusCommand } from './commands/status';
import { workerCommand } from './commands/worker';
import { ConfigError } from '../lib/config';
import { CommandFailedError, ExitCode, UsageError } from './config-edge';

const program = new Command('trainyard')
  .description('Durable ML training pipelines on Temporal')
  .showHelpAfterError()
  .exitOverride()
  .addCommand(devCommand())
  .addCommand(workerCommand())
  .addCommand(runCommand())
  .addCommand(statusCommand())
  .addCommand(runsCommand())
  .addCommand(scheduleCommand())
  .addCommand(dataCommand())
  .addCommand(modelsCommand())
  .addCommand(serveCommand())
  .addCommand(predictCommand())
  .addCommand(retryCommand())
  .addCommand(abortCommand())
  .addCommand(approveCommand())
  .addCommand(rejectCommand())
  .addCommand(schemaCommand())
  .addCommand(doctorCommand());

/** addCommand() does not pass these on: every subcommand must throw usage errors rather than exit 1. Set here, for all. */
function applyToAll(command: Command): void {
  command.exitOverride().showHelpAfterError();
  command.commands.forEach(applyToAll);
}
applyToAll(program);

/** The one place a command's error becomes an exit code and a message; commands just throw. */
function exitFor(error: unknown): never {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
  if (error instanceof UsageError || error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(ExitCode.usage);
  }
  if (error instanceof CommandFailedError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(ExitCode.failed);
  }
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(ExitCode.failed);
}

await program.parseAsync(process.argv).catch(exitFor);
