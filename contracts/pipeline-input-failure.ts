// Shared by the workflow (its first step) and activities that re-read their input. It imports
// @temporalio/common besides zod: that package is deterministic and safe in the workflow bundle.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, formatFieldProblems } from './errors';
import { parsePipelineInput, type PipelineInput } from './pipeline-input';

/** Parses the pipeline input or fails non-retryably with InvalidPipelineConfig naming every bad field. */
export function parsePipelineInputOrFail(raw: unknown): PipelineInput {
  const parsed = parsePipelineInput(raw);
  if (parsed.ok) return parsed.value;
  throw ApplicationFailure.create({
    type: FailureType.InvalidPipelineConfig,
    nonRetryable: true,
    message: `The pipeline input is invalid:\n${formatFieldProblems(parsed.problems)}`,
    details: [parsed.problems],
  });
}
