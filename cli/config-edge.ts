import type { Config } from '../lib/config';
import { loadConfigFindingDevServices } from '../lib/dev-services/config-with-dev-services';
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

/** A failure already explained in words (no stack trace helps): printed as is, exit code 1. */
export class CommandFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailedError';
  }
}

/**
 * The configuration every command reads: the environment, and the running dev services for what it leaves
 * unset. An invalid one reaches main's handler as a ConfigError (exit 2).
 */
export async function loadCliConfig(): Promise<Config> {
  return (await loadConfigFindingDevServices()).config;
}

export function cliLogger(config: Config, name = 'trainyard'): Logger {
  return createLogger({ level: config.log.level, format: config.log.format, name });
}

export function workflowUiUrl(config: Config, workflowId: string): string {
  return `${namespaceUiUrl(config)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function scheduleUiUrl(config: Config, scheduleId: string): string {
  return `${namespaceUiUrl(config)}/schedules/${encodeURIComponent(scheduleId)}`;
}

function namespaceUiUrl(config: Config): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}`;
}
