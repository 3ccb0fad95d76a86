import { Runtime, type MetricsExporterConfig } from '@temporalio/worker';
import type { Logger } from '../lib/logger';
import { StageMetric } from '../lib/metrics/stage-metrics';
import { PinoTemporalLogger } from './temporal-logger';

const CORE_LEVEL: Record<string, 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
};

export interface TemporalRuntimeOptions {
  /** IP:port to serve Prometheus metrics on (`/metrics`); unset: no metrics are collected. */
  metricsAddress?: string;
}

/** The metrics endpoint could not be opened (address in use, not an address of this machine). */
export class MetricsEndpointError extends Error {
  constructor(address: string, cause: unknown) {
    super(
      `Cannot serve Prometheus metrics on METRICS_ADDRESS=${address}: ${cause instanceof Error ? cause.message : String(cause)}. Choose a free port or unset METRICS_ADDRESS.`,
      { cause },
    );
    this.name = 'MetricsEndpointError';
  }
}

let installed = false;

/**
 * Installs the process-wide Temporal Runtime once: its logger goes to pino and core (Rust) logs are
 * forwarded into the same stream; with a metrics address, the SDK's Prometheus exporter serves the
 * SDK's metrics and trainyard's (recorded through the same meter). Must run before the first NativeConnection.
 */
export function installTemporalRuntime(logger: Logger, options: TemporalRuntimeOptions = {}): void {
  if (installed) return;
  const coreLevel = CORE_LEVEL[logger.level] ?? 'ERROR';
  const { metricsAddress } = options;
  try {
    Runtime.install({
      logger: new PinoTemporalLogger(logger),
      telemetryOptions: {
        logging: { filter: { core: coreLevel, other: 'ERROR' }, forward: {} },
        ...(metricsAddress ? { metrics: prometheusExporter(metricsAddress) } : {}),
      },
    });
  } catch (error) {
    if (metricsAddress) throw new MetricsEndpointError(metricsAddress, error);
    throw error;
  }
  installed = true;
}

function prometheusExporter(bindAddress: string): MetricsExporterConfig {
  return {
    prometheus: {
      bindAddress,
      // Custom histograms otherwise get the SDK's millisecond buckets.
      histogramBucketOverrides: { [StageMetric.duration.name]: [...StageMetric.duration.bucketsSeconds] },
    },
  };
}
