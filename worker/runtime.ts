import { Runtime } from '@temporalio/worker';
import type { Logger } from '../lib/logger';
import { PinoTemporalLogger } from '../lib/temporal-logger';

const CORE_LEVEL: Record<string, 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
};

let installed = false;

/**
 * Installs the process-wide Temporal Runtime once: its logger goes to pino and core (Rust) logs are
 * forwarded into the same stream. Must run before the first NativeConnection.
 */
export function installTemporalRuntime(logger: Logger): void {
  if (installed) return;
  const coreLevel = CORE_LEVEL[logger.level] ?? 'ERROR';
  Runtime.install({
    logger: new PinoTemporalLogger(logger),
    telemetryOptions: { logging: { filter: { core: coreLevel, other: 'ERROR' }, forward: {} } },
  });
  installed = true;
}
