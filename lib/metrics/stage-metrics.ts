import type {
  RegisterModelResult,
  SplitAndSampleResult,
  SplitName,
  ValidateDataResult,
} from '../../contracts/stage-results';

/**
 * trainyard's own metrics, served beside the SDK's on the worker's Prometheus endpoint. Labels stay
 * low-cardinality: activity type, outcome, model name, version, split, metric name — never dataset
 * URIs or run ids.
 */
export const StageMetric = {
  duration: {
    name: 'trainyard_stage_duration_seconds',
    unit: 's',
    description: 'Wall time of one activity execution (one attempt of a stage), by stage, outcome and model',
    /** Stages run from milliseconds (registry reads) to hours (training). */
    bucketsSeconds: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200],
  },
  rows: {
    name: 'trainyard_rows_processed_total',
    unit: 'rows',
    description:
      'Rows a completed stage processed: rows validated (validateData), rows written per split (splitAndSample)',
  },
  modelMetric: {
    name: 'trainyard_model_metric',
    unit: '',
    description: 'Evaluation metric of a registered model version (test split), by model, version and metric',
  },
} as const;

export type StageOutcome = 'completed' | 'failed' | 'cancelled';

export type MetricLabels = Record<string, string | number>;

/** One value to add to a counter or set on a gauge, derived from a stage's result. */
export type ResultMetricPoint =
  | { metric: 'rows'; value: number; labels: MetricLabels }
  | { metric: 'modelMetric'; value: number; labels: MetricLabels };

/** The activity types whose results carry numbers worth exporting. */
export const MEASURED_ACTIVITY_TYPES = ['validateData', 'splitAndSample', 'registerModel'] as const;

const SPLITS: readonly SplitName[] = ['train', 'validation', 'test'];

/**
 * Maps a completed activity's first argument and result to metric points. Unknown activity types
 * and values that are not finite numbers give no points, so a changed result shape never throws here.
 */
export function resultMetricPoints(activityType: string, args: unknown, result: unknown): ResultMetricPoint[] {
  const model = modelLabel(args);
  const withModel = (labels: MetricLabels): MetricLabels => (model === undefined ? labels : { ...labels, model });
  switch (activityType) {
    case 'validateData': {
      const rows = (result as Partial<ValidateDataResult> | undefined)?.rows;
      return isCount(rows) ? [{ metric: 'rows', value: rows, labels: withModel({ stage: activityType }) }] : [];
    }
    case 'splitAndSample': {
      const rows = (result as Partial<SplitAndSampleResult> | undefined)?.rows;
      return SPLITS.flatMap((split) => {
        const value = rows?.[split];
        return isCount(value)
          ? [{ metric: 'rows' as const, value, labels: withModel({ stage: activityType, split }) }]
          : [];
      });
    }
    case 'registerModel': {
      const registered = result as Partial<RegisterModelResult> | undefined;
      const metrics = asRecord(asRecord(args)?.evaluation)?.metrics;
      if (typeof registered?.model !== 'string' || !isCount(registered.version)) return [];
      const labels = { model: registered.model, version: registered.version };
      return Object.entries(asRecord(metrics) ?? {}).flatMap(([metric, value]) =>
        typeof value === 'number' && Number.isFinite(value)
          ? [{ metric: 'modelMetric' as const, value, labels: { ...labels, metric } }]
          : [],
      );
    }
    default:
      return [];
  }
}

/** The model a stage works for: `input.model` of pipeline stages, or `model` of registry calls. */
export function modelLabel(args: unknown): string | undefined {
  const record = asRecord(args);
  const model = asRecord(record?.input)?.model ?? record?.model;
  return typeof model === 'string' && model !== '' ? model : undefined;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
