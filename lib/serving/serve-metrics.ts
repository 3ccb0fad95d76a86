import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds: sub-millisecond resolution where a loopback prediction lands. */
const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** `trainyard serve`'s Prometheus metrics, on a registry of its own (served at GET /metrics). */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'trainyard_serve_request_duration_seconds',
    help: 'Time from request received to response sent, per route and status',
    labelNames: ['route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: 'trainyard_serve_requests_total',
    help: 'HTTP requests answered, per route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'trainyard_serve_errors_total',
    help: 'HTTP requests answered with a status of 400 or more, per route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly predictions = new Counter({
    name: 'trainyard_serve_predictions_total',
    help: 'Rows predicted, per model version',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  readonly modelVersion = new Gauge({
    name: 'trainyard_serve_model_version',
    help: 'The registered version answering requests',
    labelNames: ['model', 'reference'] as const,
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'trainyard_serve_model_reloads_total',
    help: 'Registry polls that found the alias moved, by outcome (loaded, or failed and kept the old version)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly logRecords = new Gauge({
    name: 'trainyard_serve_prediction_log_records',
    help: 'Prediction log records: written to the store, buffered, dropped (store unreachable for too long)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'trainyard_serve_' });
  }

  observe(route: string, status: number, seconds: number): void {
    const labels = { route, status: String(status) };
    this.requestDuration.observe(labels, seconds);
    this.requests.inc(labels);
    if (status >= 400) this.errors.inc(labels);
  }
}
