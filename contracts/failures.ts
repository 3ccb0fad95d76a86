// The one place Temporal failures are built from trainyard's own errors. Besides zod it imports
// @temporalio/common: that package is deterministic and safe in the workflow bundle.
import { ApplicationFailure } from '@temporalio/common';
import { PipelineConfigError, DomainError, formatFieldProblems, type FieldProblem } from './errors';

/** The Temporal failure of a domain error: its stable type, non-retryable, its problems as the details. */
export function applicationFailureOf(error: DomainError): ApplicationFailure {
  return ApplicationFailure.create({
    type: error.type,
    nonRetryable: true,
    message: error.message,
    details: error.details,
  });
}

/** A non-retryable InvalidPipelineConfig naming every bad field of `what`. */
export function invalidConfigFailure(what: string, problems: FieldProblem[]): ApplicationFailure {
  return applicationFailureOf(
    new PipelineConfigError(`The ${what} is invalid:\n${formatFieldProblems(problems)}`, problems),
  );
}
