import type { PipelineConfigError } from '../../contracts/errors';
import type { TaskType } from '../../contracts/pipeline-input';
import { invalidConfig } from '../data/failures';

/** What decides whether two versions' predictions can be compared row by row. */
export interface ComparableVersion {
  model: string;
  version: number;
  task: TaskType;
  /** Classification: the classes it predicts (unknown for a record that did not list them). */
  classes?: readonly string[];
}

/**
 * Why `shadow` cannot score beside `primary`, or undefined when it can: it must be another version, of the
 * same task and, for classification, the same classes (in any order: scores are matched by class name).
 * The error names the input field `shadow` (InvalidPipelineConfig, so it is not retried).
 */
export function shadowIncompatibility(
  primary: ComparableVersion,
  shadow: ComparableVersion,
): PipelineConfigError | undefined {
  const primaryName = `${primary.model}:${primary.version}`;
  const shadowName = `${shadow.model}:${shadow.version}`;
  if (primary.model === shadow.model && primary.version === shadow.version)
    return invalidConfig(
      'shadow',
      `resolves to ${shadowName}, the version "model" scores with; a shadow must be another version (name one with <model>:<version>)`,
    );
  if (primary.task !== shadow.task)
    return invalidConfig(
      'shadow',
      `${shadowName} is a ${shadow.task} model but ${primaryName} is ${primary.task}; a shadow must predict the same task`,
    );
  if (primary.task === 'regression' || !primary.classes || !shadow.classes) return undefined;
  const missing = primary.classes.filter((c) => !shadow.classes?.includes(c));
  const extra = shadow.classes.filter((c) => !primary.classes?.includes(c));
  if (missing.length === 0 && extra.length === 0) return undefined;
  const list = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ');
  return invalidConfig(
    'shadow',
    `${shadowName} predicts the classes ${list(shadow.classes)} but ${primaryName} predicts ${list(primary.classes)}${
      missing.length > 0 ? ` (the shadow lacks ${list(missing)})` : ''
    }${extra.length > 0 ? ` (the shadow adds ${list(extra)})` : ''}; a shadow must predict the same classes`,
  );
}
