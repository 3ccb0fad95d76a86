import {
  PipelineConfigError,
  DomainError,
  FailureType,
  formatFieldProblems,
  type FieldProblem,
} from '../../contracts/errors';

/** A model name, alias or version number that can't name anything in the registry. */
export class RegistryInputError extends PipelineConfigError {
  constructor(problems: FieldProblem[]) {
    super(`Invalid registry request:\n${formatFieldProblems(problems)}`, problems);
    this.name = 'RegistryInputError';
  }
}

export class ModelVersionNotFoundError extends DomainError {
  constructor(
    readonly model: string,
    readonly version: number | undefined,
    /** The versions that do exist, so the message can say what to use instead. */
    readonly existing: number[],
  ) {
    const message =
      version === undefined
        ? `Model "${model}" has no registered versions. Register one by running a pipeline, then try again.`
        : `Model "${model}" has no version ${version}. ${describeExisting(existing)}`;
    super(FailureType.ModelVersionNotFound, message, [
      { path: 'version', message: describeExisting(existing), model, version, existing },
    ]);
    this.name = 'ModelVersionNotFoundError';
  }
}

/** A registry document that does not parse: named by key and field, never silently skipped. */
export class RegistryCorruptError extends DomainError {
  constructor(
    readonly key: string,
    problems: FieldProblem[],
  ) {
    super(
      FailureType.RegistryCorrupt,
      `Registry document "${key}" is corrupt and was not used:\n${formatFieldProblems(problems)}\n` +
        'Restore it from a backup or fix the listed fields by hand; registry documents are never rewritten automatically.',
      problems.map((p) => ({ ...p, key })),
    );
    this.name = 'RegistryCorruptError';
  }
}

export class NothingToRollBackError extends Error {
  constructor(
    readonly model: string,
    readonly alias: string,
    detail: string,
  ) {
    super(`Cannot roll back alias "${alias}" of model "${model}": ${detail}`);
    this.name = 'NothingToRollBackError';
  }
}

/** Too many concurrent writers won the race in a row; retrying later is the right answer. */
export class RegistryContentionError extends Error {
  constructor(
    readonly key: string,
    attempts: number,
  ) {
    super(`Gave up updating "${key}" after ${attempts} conflicting concurrent writes; retry the operation.`);
    this.name = 'RegistryContentionError';
  }
}

function describeExisting(existing: number[]): string {
  if (existing.length === 0) return 'It has no registered versions yet.';
  const first = existing[0] as number;
  const last = existing[existing.length - 1] as number;
  return first === last ? `The only version is ${first}.` : `Versions ${first} to ${last} exist.`;
}
