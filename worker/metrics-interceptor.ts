import type { Context } from '@temporalio/activity';
import { CancelledFailure, type MetricMeter } from '@temporalio/common';
import type { ActivityInterceptors } from '@temporalio/worker';
import type { Activities } from '../activities';
import {
  MEASURED_ACTIVITY_TYPES,
  modelLabel,
  resultMetricPoints,
  StageMetric,
  type MetricLabels,
  type ResultMetricPoint,
  type StageOutcome,
} from '../lib/metrics/stage-metrics';

// The result mapping names activity types as strings; this fails to compile if one is renamed.
MEASURED_ACTIVITY_TYPES satisfies readonly (keyof Activities)[];

/**
 * Records every activity execution on the worker's metric meter: its duration and outcome, and the
 * numbers its result carries (rows, a registered version's evaluation metrics). Stage code stays
 * untouched. Without METRICS_ADDRESS the meter is the SDK's no-op meter. A metrics problem is logged,
 * never turned into a failed stage.
 */
export function stageMetricsInterceptors(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const startedAt = performance.now();
        const args = input.args[0];
        const model = modelLabel(args);
        const recordDuration = (outcome: StageOutcome) =>
          safely(ctx, () => {
            const labels: MetricLabels = {
              stage: ctx.info.activityType,
              outcome,
              ...(model === undefined ? {} : { model }),
            };
            const { name, unit, description } = StageMetric.duration;
            ctx.metricMeter
              .createHistogram(name, 'float', unit, description)
              .record((performance.now() - startedAt) / 1000, labels);
          });
        let result: unknown;
        try {
          result = await next(input);
        } catch (error) {
          recordDuration(stageOutcomeOf(error));
          throw error;
        }
        recordDuration('completed');
        safely(ctx, () =>
          resultMetricPoints(ctx.info.activityType, args, result).forEach((point) => emit(ctx.metricMeter, point)),
        );
        return result;
      },
    },
  };
}

function emit(meter: MetricMeter, point: ResultMetricPoint): void {
  const { name, unit, description } = StageMetric[point.metric];
  if (point.metric === 'rows') meter.createCounter(name, unit, description).add(point.value, point.labels);
  else meter.createGauge(name, 'float', unit, description).set(point.value, point.labels);
}

function safely(ctx: Context, record: () => void): void {
  try {
    record();
  } catch (error) {
    ctx.log.warn('could not record stage metrics', { error: error instanceof Error ? error.message : String(error) });
  }
}

export function stageOutcomeOf(error: unknown): StageOutcome {
  return error instanceof CancelledFailure ? 'cancelled' : 'failed';
}
