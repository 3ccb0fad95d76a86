import { formatFieldProblems, type FieldProblem } from '../../contracts/errors';

/**
 * Serving's typed errors. Plain Error subclasses (lib never imports Temporal): the CLI turns them into
 * exit codes, the HTTP server into status codes, a future activity into non-retryable failures.
 */

/** The reference names nothing the registry can serve: unknown model, unset alias, missing version. */
export class ServingModelNotFoundError extends Error {
  constructor(
    readonly reference: string,
    detail: string,
  ) {
    super(`Cannot serve "${reference}": ${detail}`);
    this.name = 'ServingModelNotFoundError';
  }
}

/** The version exists but its model or preprocessor artifact is gone or unreadable. */
export class ModelArtifactMissingError extends Error {
  constructor(
    readonly reference: string,
    readonly version: number,
    detail: string,
  ) {
    super(`Cannot serve "${reference}" (version ${version}): ${detail}`);
    this.name = 'ModelArtifactMissingError';
  }
}

/** Rows that do not fit the version's training schema; `problems` names each bad field (`0.bill_length_mm`). */
export class InvalidRowsError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(`Rows do not fit the model's training schema:\n${formatFieldProblems(problems)}`);
    this.name = 'InvalidRowsError';
  }
}
