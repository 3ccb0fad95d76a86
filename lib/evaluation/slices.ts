import type { SliceMeasurement } from './gate';
import { evaluatePredictions, type Numbers } from './metrics';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * Slice-based evaluation (DMLS ch. 6): the same metric on each group of test rows that share a value of
 * one raw column. A model can be good on average and bad on a group that matters.
 */

export interface RowGroup {
  value: string;
  indices: Uint32Array;
}

export const MISSING_SLICE = '(missing)';
export const OTHER_SLICE = '(other values)';
/** A numeric column with more distinct values than this is cut into quantile bins instead. */
export const MAX_DISTINCT_NUMERIC = 20;
export const NUMERIC_BINS = 5;
/** A categorical column keeps its largest groups and pools the rest into OTHER_SLICE. */
export const MAX_CATEGORIES = 50;

/** Groups row indices by a raw column's value; numbers with many distinct values go into quantile bins. */
export function groupRowsByValue(values: readonly unknown[]): RowGroup[] {
  const numeric = numericValues(values);
  if (numeric && new Set(numeric.filter((v) => !Number.isNaN(v))).size > MAX_DISTINCT_NUMERIC)
    return quantileGroups(numeric);
  const byValue = new Map<string, number[]>();
  values.forEach((value, row) => {
    const key = sliceLabel(value);
    let rows = byValue.get(key);
    if (!rows) byValue.set(key, (rows = []));
    rows.push(row);
  });
  let groups = [...byValue.entries()].map(([value, rows]) => ({ value, rows }));
  groups.sort((a, b) => b.rows.length - a.rows.length || compareLabels(a.value, b.value));
  if (groups.length > MAX_CATEGORIES) {
    const kept = groups.slice(0, MAX_CATEGORIES - 1);
    const pooled = groups
      .slice(MAX_CATEGORIES - 1)
      .flatMap((g) => g.rows)
      .sort((a, b) => a - b);
    groups = [...kept, { value: OTHER_SLICE, rows: pooled }];
  }
  return groups.map((g) => ({ value: g.value, indices: Uint32Array.from(g.rows) }));
}

/** The metric on every group; the caller's gate decides which groups are large enough to judge. */
export function measureSlices(args: {
  task: TaskType;
  column: string;
  metric: string;
  floor: number;
  minSize: number;
  groups: RowGroup[];
  labels: Numbers;
  outputs: Numbers;
  classes?: string[];
  threshold: number;
}): SliceMeasurement {
  const width = args.task === 'multiclass' ? (args.classes?.length ?? 0) : 1;
  const slices = args.groups.map((group) => {
    const labels = new Float64Array(group.indices.length);
    const outputs = new Float64Array(group.indices.length * width);
    group.indices.forEach((row, i) => {
      labels[i] = args.labels[row] as number;
      for (let c = 0; c < width; c++) outputs[i * width + c] = args.outputs[row * width + c] as number;
    });
    const evaluation = evaluatePredictions(args.task, labels, outputs, {
      threshold: args.threshold,
      classes: args.classes,
    });
    return {
      value: group.value,
      size: group.indices.length,
      metricValue: evaluation.metrics[args.metric] ?? Number.NaN,
    };
  });
  return { column: args.column, metric: args.metric, floor: args.floor, minSize: args.minSize, slices };
}

export function sliceLabel(value: unknown): string {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))) return MISSING_SLICE;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? MISSING_SLICE : value.toISOString();
  if (typeof value === 'object')
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return String(value);
}

/** The values as numbers when every present value is a number or bigint; undefined otherwise. Missing → NaN. */
export function numericValues(values: readonly unknown[]): number[] | undefined {
  const result: number[] = new Array<number>(values.length);
  let present = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) result[i] = Number.NaN;
    else if (typeof v === 'number') result[i] = v;
    else if (typeof v === 'bigint') result[i] = Number(v);
    else return undefined;
    if (!Number.isNaN(result[i])) present++;
  }
  return present > 0 ? result : undefined;
}

/** Equal-frequency bins over the present values, labelled "[a, b)" (the last "[a, b]"); missing values apart. */
function quantileGroups(values: number[]): RowGroup[] {
  const present = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const edges: number[] = [];
  for (let b = 0; b <= NUMERIC_BINS; b++)
    edges.push(present[Math.min(present.length - 1, Math.floor((b * present.length) / NUMERIC_BINS))] as number);
  edges[NUMERIC_BINS] = present[present.length - 1] as number;
  const bounds = [...new Set(edges)];
  const groups: { value: string; rows: number[] }[] = [];
  for (let b = 0; b < bounds.length - 1; b++) {
    const last = b === bounds.length - 2;
    groups.push({
      value: `[${formatEdge(bounds[b] as number)}, ${formatEdge(bounds[b + 1] as number)}${last ? ']' : ')'}`,
      rows: [],
    });
  }
  if (groups.length === 0) groups.push({ value: `[${formatEdge(bounds[0] as number)}]`, rows: [] });
  const missing: number[] = [];
  values.forEach((v, row) => {
    if (Number.isNaN(v)) return missing.push(row);
    let bin = 0;
    while (bin < groups.length - 1 && v >= (bounds[bin + 1] as number)) bin++;
    groups[bin]!.rows.push(row);
  });
  if (missing.length > 0) groups.push({ value: MISSING_SLICE, rows: missing });
  return groups.map((g) => ({ value: g.value, indices: Uint32Array.from(g.rows) }));
}

function formatEdge(value: number): string {
  return String(Number(value.toPrecision(4)));
}

function compareLabels(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
