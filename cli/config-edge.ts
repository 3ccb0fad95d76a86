import { ConfigError, loadConfig, type Config } from '../lib/config';
import { createLogger, type Logger } from '../lib/logger';

/** Exit codes scripts can rely on. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

/** A problem the user can fix: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(ExitCode.usage);
    }
    throw error;
  }
}

export function cliLogger(config: Config, name = 'trainyard'): Logger {
  return createLogger({ level: config.log.level, format: config.log.format, name });
}

export function workflowUiUrl(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
