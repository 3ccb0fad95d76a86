import type { TaskType } from '../../contracts/pipeline-input';
import { invalidConfigWith } from './failures';

/**
 * The one rule on a classifier's label: binary needs exactly two classes, multiclass at least two.
 * Returns what the task needs, in words, when `count` classes do not do; undefined when they do (and
 * always for regression). Validation, splitting and training each say it in their own failure.
 */
export function classCountShortfall(task: TaskType, count: number): string | undefined {
  if (task === 'regression') return undefined;
  if (task === 'binary') {
    return count === 2
      ? undefined
      : 'binary needs exactly two (use task.type "multiclass", or derive a two-valued label)';
  }
  return count >= 2 ? undefined : 'multiclass needs at least two';
}

/** "3 classes (a, b, c)": a class list for a sentence, the first ten named. */
export function describeClasses(classes: readonly string[]): string {
  const named = `${classes.slice(0, 10).join(', ')}${classes.length > 10 ? ', …' : ''}`;
  return `${classes.length} class${classes.length === 1 ? '' : 'es'} (${named})`;
}

/** The preprocessor's classes must fit task.type: a run configured against its own data is the caller's to fix. */
export function requireTaskClasses(task: TaskType, classes: readonly string[] | undefined): void {
  const shortfall = classCountShortfall(task, classes?.length ?? 0);
  if (!shortfall) return;
  throw invalidConfigWith(`task.type is "${task}" but the label has ${describeClasses(classes ?? [])}; ${shortfall}.`, [
    { path: 'task.type', message: shortfall, classes: classes ?? [] },
  ]);
}
