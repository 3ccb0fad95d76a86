import type { ScheduleOptionsAction } from '@temporalio/client';
import { parseBatchPredictInput } from '../../contracts/batch-predict-input';
import { parseDriftMonitorInput } from '../../contracts/drift-monitor-input';
import type { FieldProblem } from '../../contracts/errors';
import { parsePipelineInput, type ParseResult } from '../../contracts/pipeline-input';
import { TrainyardModel } from '../../workflows/search-attributes';

/** The workflows a trainyard schedule can start. */
export const SCHEDULED_WORKFLOWS = ['trainingPipeline', 'driftMonitor', 'batchPredict'] as const;
export type ScheduledWorkflow = (typeof SCHEDULED_WORKFLOWS)[number];

/** A schedule's validated input: the draft that runs (defaults apply at run time) and what labels it. */
export interface ScheduledInput {
  draft: Record<string, unknown>;
  /** The model's name (batchPredict's `penguins@champion` labels as `penguins`). */
  model: string;
  datasetUri: string;
}

const PARSERS: Record<ScheduledWorkflow, (raw: unknown) => ParseResult<{ model: string; dataset: { uri: string } }>> = {
  trainingPipeline: parsePipelineInput,
  driftMonitor: parseDriftMonitorInput,
  batchPredict: parseBatchPredictInput,
};

const VERBS: Record<ScheduledWorkflow, string> = {
  trainingPipeline: 'train',
  driftMonitor: 'check drift of',
  batchPredict: 'predict with',
};

/**
 * The config file's JSON with `--model` filled in or overriding, validated as the workflow's input
 * before any schedule exists. The draft, not the defaulted value, is stored, so a later trainyard's
 * defaults apply to later runs.
 */
export function prepareScheduledInput(
  workflow: ScheduledWorkflow,
  fileJson: unknown,
  model?: string,
): ParseResult<ScheduledInput> {
  if (typeof fileJson !== 'object' || fileJson === null || Array.isArray(fileJson)) {
    return { ok: false, problems: [{ path: '(root)', message: 'expected a JSON object' } satisfies FieldProblem] };
  }
  const draft: Record<string, unknown> = model === undefined ? { ...fileJson } : { ...fileJson, model };
  const parsed = PARSERS[workflow](draft);
  if (!parsed.ok) {
    const hint = (problem: FieldProblem) =>
      problem.path === 'model' && model === undefined
        ? { ...problem, message: `${problem.message} (set it in the file or pass --model)` }
        : problem;
    return { ok: false, problems: parsed.problems.map(hint) };
  }
  const name = workflow === 'batchPredict' ? (parsed.value.model.split(/[@:]/, 1)[0] as string) : parsed.value.model;
  return { ok: true, value: { draft, model: name, datasetUri: parsed.value.dataset.uri } };
}

/**
 * Start `workflow` with the draft input. The workflow id is the schedule id; Temporal appends each
 * run's scheduled time ("nightly-penguins-2026-11-20T02:00:00Z"), so runs are unique and sort by time.
 */
export function scheduleAction(
  scheduleId: string,
  workflow: ScheduledWorkflow,
  taskQueue: string,
  input: ScheduledInput,
): ScheduleOptionsAction {
  const verb = VERBS[workflow];
  return {
    type: 'startWorkflow',
    workflowType: workflow,
    workflowId: scheduleId,
    taskQueue,
    args: [input.draft],
    typedSearchAttributes: [{ key: TrainyardModel, value: input.model }],
    memo: { model: input.model, dataset: input.datasetUri, schedule: scheduleId },
    staticSummary: `scheduled: ${verb} ${input.model} on ${input.datasetUri} (schedule ${scheduleId})`,
  };
}
