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

export interface RetryPlan {
  input: PipelineInput;
  /** The first stage that runs again; every stage before it keeps its result. */
  restartFrom: StageName;
  changedPaths: string[];
}

export type RetryPlanResult = { ok: true; plan: RetryPlan } | { ok: false; problems: FieldProblem[] };

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
  for (const path of changedPaths) {
    if (FIXED_PATHS.some((fixed) => path === fixed || path.startsWith(`${fixed}.`))) {
      problems.push({ path, message: 'cannot change in a retry; start a new run for another model' });
    } else if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(path)) {
      problems.push({ path, message: 'expected a dotted path of field names, e.g. dataset.uri' });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const draft = JSON.parse(JSON.stringify(input)) as Record<string, unknown>; // no structuredClone in the workflow sandbox
  for (const [path, value] of Object.entries(request.set ?? {})) setPath(draft, path.split('.'), value);
  const parsed = parsePipelineInput(draft);
  if (!parsed.ok) return { ok: false, problems: parsed.problems };

  const restartFrom = [requested, ...changedPaths.map(firstStageReading)]
    .filter((stage): stage is StageName => stage !== undefined)
    .reduce((earliest, stage) => (stageIndex(stage) < stageIndex(earliest) ? stage : earliest));
  return { ok: true, plan: { input: parsed.value, restartFrom, changedPaths } };
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
