import { formatFieldProblems, type FieldProblem } from './errors';
import { parsePipelineInput, type PipelineInput } from './pipeline-input';
import { STAGES, type StageName } from './stages';

/**
 * An operator's request to retry a run that stopped on a non-retryable stage failure: from which stage,
 * and with which input fields changed (dotted paths into the pipeline input, e.g. "dataset.uri").
 */
export interface RetryRequest {
  /** Restart from this stage (at or before the failed one); default: the failed stage. */
  stage?: StageName;
  /** Input fields to change, by dotted path; values as JSON. */
  set?: Record<string, unknown>;
  by?: string;
  reason?: string;
}

export interface RetryPlan<Input = PipelineInput, Stage extends string = StageName> {
  input: Input;
  /** The first stage that runs again; every stage before it keeps its result. */
  restartFrom: Stage;
  changedPaths: string[];
}

export type RetryPlanResult<Input = PipelineInput, Stage extends string = StageName> =
  { ok: true; plan: RetryPlan<Input, Stage> } | { ok: false; problems: FieldProblem[] };

/** How a workflow's runs are retried by an operator: its plan for a request, and the stages a restart keeps. */
export interface RetryRules<Input, Stage extends string> {
  plan(input: Input, failedStage: Stage, request: RetryRequest): RetryPlanResult<Input, Stage>;
  kept(restartFrom: Stage): Stage[];
}

/** Stages that can run again: the workflow-side steps before and after them are not retried. */
export const RETRYABLE_STAGES = [
  'fingerprintDataset',
  'validateData',
  'splitAndSample',
  'fitPreprocessor',
  'train',
  'evaluate',
  'register',
  'promote',
] as const satisfies readonly StageName[];

/** The input sections each stage reads: changing one re-runs that stage and everything after it. */
const STAGE_READS: Partial<Record<StageName, readonly string[]>> = {
  fingerprintDataset: ['dataset'],
  validateData: ['dataset', 'task', 'validation'],
  splitAndSample: ['task', 'split', 'sampling', 'seed'],
  fitPreprocessor: ['preprocess'],
  train: ['train'],
  evaluate: ['evaluate'],
  promote: ['promotion'],
};

/** Fields a retry may not change: the run is about one model. */
const FIXED_PATHS = ['model'];

/** Plans a retry: applies `set` to the input, re-validates it, and picks the stage to restart from. */
export function planRetry(input: PipelineInput, failedStage: StageName, request: RetryRequest): RetryPlanResult {
  const problems: FieldProblem[] = [];
  const changedPaths = Object.keys(request.set ?? {});
  const requested = request.stage ?? failedStage;
  if (!(RETRYABLE_STAGES as readonly string[]).includes(requested)) {
    problems.push({
      path: 'stage',
      message: `"${requested}" cannot be retried; one of: ${RETRYABLE_STAGES.join(', ')}`,
    });
  } else if (stageIndex(requested) > stageIndex(failedStage)) {
    problems.push({
      path: 'stage',
      message: `${requested} comes after the failed stage ${failedStage}; retry from ${failedStage} or earlier`,
    });
  }
  problems.push(...settingProblems(changedPaths));
  if (problems.length > 0) return { ok: false, problems };

  const parsed = parsePipelineInput(withSettings(input, request.set));
  if (!parsed.ok) return { ok: false, problems: parsed.problems };

  const restartFrom = [requested, ...changedPaths.map(firstStageReading)]
    .filter((stage): stage is StageName => stage !== undefined)
    .reduce((earliest, stage) => (stageIndex(stage) < stageIndex(earliest) ? stage : earliest));
  return { ok: true, plan: { input: parsed.value, restartFrom, changedPaths } };
}

/** The training pipeline's retry rules, as OperatorDesk takes them. */
export const pipelineRetryRules: RetryRules<PipelineInput, StageName> = { plan: planRetry, kept: stagesBefore };

/** Paths a retry's `set` may not use: fixed fields (the run is about one model) or not a dotted path of names. */
export function settingProblems(paths: string[]): FieldProblem[] {
  return paths.flatMap((path): FieldProblem[] => {
    if (FIXED_PATHS.some((fixed) => path === fixed || path.startsWith(`${fixed}.`)))
      return [{ path, message: 'cannot change in a retry; start a new run for another model' }];
    if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(path))
      return [{ path, message: 'expected a dotted path of field names, e.g. dataset.uri' }];
    return [];
  });
}

/** A copy of `input` with each dotted path of `set` replaced, to be parsed again by the input's own schema. */
export function withSettings(input: object, set: Record<string, unknown> = {}): Record<string, unknown> {
  const draft = JSON.parse(JSON.stringify(input)) as Record<string, unknown>; // no structuredClone in the workflow sandbox
  for (const [path, value] of Object.entries(set)) setPath(draft, path.split('.'), value);
  return draft;
}

export function describeRetryProblems(problems: FieldProblem[]): string {
  return `The retry request is invalid:\n${formatFieldProblems(problems)}`;
}

/** The stages that run before `stage`, in order. */
export function stagesBefore(stage: StageName): StageName[] {
  return STAGES.slice(0, stageIndex(stage));
}

function firstStageReading(path: string): StageName | undefined {
  const section = path.split('.')[0] ?? '';
  return STAGES.find((stage) => STAGE_READS[stage]?.includes(section));
}

function stageIndex(stage: StageName): number {
  return STAGES.indexOf(stage);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const next = target[head];
  const child =
    next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
  target[head] = child;
  setPath(child, rest, value);
}
