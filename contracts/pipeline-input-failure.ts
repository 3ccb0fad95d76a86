// Shared by the workflow (its first step) and activities that re-read their input.
import { invalidConfigFailure } from './failures';
import { parsePipelineInput, type ParseResult, type PipelineInput } from './pipeline-input';

/** Parses the pipeline input or fails non-retryably with InvalidPipelineConfig naming every bad field. */
export function parsePipelineInputOrFail(raw: unknown): PipelineInput {
  return valueOrFail(parsePipelineInput(raw), 'pipeline input');
}

/** A parse result's value, or a non-retryable InvalidPipelineConfig naming every bad field of `what`. */
export function valueOrFail<T>(parsed: ParseResult<T>, what: string): T {
  if (parsed.ok) return parsed.value;
  throw invalidConfigFailure(what, parsed.problems);
}
