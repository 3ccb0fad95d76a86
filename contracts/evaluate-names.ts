import type { FieldProblem } from './errors';
import type { TaskType } from './pipeline-input';

/** Every scalar metric `evaluate` computes, per task: the names the gate rules may use. */
export const METRIC_NAMES: Record<TaskType, readonly string[]> = {
  binary: ['roc_auc', 'pr_auc', 'log_loss', 'accuracy', 'precision', 'recall', 'f1', 'brier', 'ece'],
  multiclass: ['accuracy', 'macro_f1', 'micro_f1', 'log_loss'],
  regression: ['mae', 'rmse', 'r2'],
};

interface EvaluateNames {
  thresholds: { metric: string }[];
  championChange: { metric: string }[];
  slices: { column: string; metric: string }[];
  invariance: { column: string }[];
  directional: { column: string }[];
}

/** Metric names in the evaluate config that the task does not compute; checked with the pipeline input. */
export function unknownMetricProblems(
  task: TaskType,
  config: Pick<EvaluateNames, 'thresholds' | 'championChange' | 'slices'>,
): FieldProblem[] {
  const known = METRIC_NAMES[task];
  const problems: FieldProblem[] = [];
  const check = (path: string, metric: string) => {
    if (!known.includes(metric))
      problems.push({ path, message: `"${metric}" is not a ${task} metric; use one of ${known.join(', ')}` });
  };
  config.thresholds.forEach((t, i) => check(`evaluate.thresholds.${i}.metric`, t.metric));
  config.championChange.forEach((c, i) => check(`evaluate.championChange.${i}.metric`, c.metric));
  config.slices.forEach((s, i) => check(`evaluate.slices.${i}.metric`, s.metric));
  return problems;
}

/**
 * Columns the evaluate config names (slices, behavioural tests) that the data does not have, or that a
 * behavioural test cannot perturb. Run by validateData on the dataset's columns, so a typo fails the run
 * before training rather than after, and again by evaluate on the test split.
 */
export function evaluateColumnProblems(
  config: Pick<EvaluateNames, 'slices' | 'invariance' | 'directional'>,
  data: { names: string[]; isNumeric(column: string): boolean; labelColumn: string; where: string },
): FieldProblem[] {
  const { names, labelColumn, where } = data;
  const present = new Set(names);
  const missing = (column: string) =>
    `column "${column.slice(0, 80)}" is not in ${where} (its columns: ${names
      .slice(0, 20)
      .map((n) => `"${n.slice(0, 40)}"`)
      .join(', ')}${names.length > 20 ? ', …' : ''})`;
  const problems: FieldProblem[] = [];
  config.slices.forEach((s, i) => {
    if (!present.has(s.column)) problems.push({ path: `evaluate.slices.${i}.column`, message: missing(s.column) });
  });
  const perturbed = (kind: 'invariance' | 'directional', column: string, i: number) => {
    const path = `evaluate.${kind}.${i}.column`;
    if (!present.has(column)) problems.push({ path, message: missing(column) });
    else if (column === labelColumn)
      problems.push({ path, message: 'the label cannot be perturbed by a behavioural test' });
    else if (kind === 'directional' && !data.isNumeric(column))
      problems.push({ path, message: `column "${column.slice(0, 80)}" is not numeric, so it cannot be raised` });
  };
  config.invariance.forEach((t, i) => perturbed('invariance', t.column, i));
  config.directional.forEach((t, i) => perturbed('directional', t.column, i));
  return problems;
}
