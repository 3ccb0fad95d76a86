import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from '../lib/logger';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Bridges the Temporal Runtime's logger to pino, so SDK, core, workflow and activity logs share one
 * stream. The SDK passes workflow/activity context (workflowId, activityType, …) as metadata.
 */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly logger: Logger) {}

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    const { sdkComponent, error, ...rest } = meta as Record<string, unknown>;
    const fields: Record<string, unknown> = sdkComponent === undefined ? rest : { component: sdkComponent, ...rest };
    // pino's error serializer (message, type, stack, cause) applies to the `err` key only.
    if (error !== undefined) fields.err = error;
    this.logger[PINO_LEVEL[level]](fields, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
