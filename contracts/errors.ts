import type { z } from 'zod';

/**
 * Stable failure types. Bad input and bad data are non-retryable with one of these types;
 * everything else (network, store, server) is retried by the stage's retry policy.
 */
export const FailureType = {
  InvalidPipelineConfig: 'InvalidPipelineConfig',
  InvalidArtifactKey: 'InvalidArtifactKey',
  DatasetNotFound: 'DatasetNotFound',
  DatasetUnreadable: 'DatasetUnreadable',
  DataValidationFailed: 'DataValidationFailed',
  IncompatibleSchema: 'IncompatibleSchema',
  /** promote named a version the registry does not have. */
  ModelVersionNotFound: 'ModelVersionNotFound',
  /** A registry document in the store does not parse; a person must repair it. */
  RegistryCorrupt: 'RegistryCorrupt',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURE_TYPES: readonly FailureType[] = Object.values(FailureType);

/** One bad field: where it is and what was expected, in words a person can act on. */
// A type, not an interface, so that a FieldProblem is also a FieldProblemWithFacts.
export type FieldProblem = {
  path: string;
  message: string;
};

/** A FieldProblem with facts a program may read beside the words: the report's URI, the classes found. */
export type FieldProblemWithFacts = FieldProblem & { readonly [fact: string]: unknown };

/** The failure types of bad data, as opposed to bad configuration. */
export type DataFailureType = Exclude<FailureType, 'InvalidPipelineConfig'>;

/**
 * Bad input or bad data, which no retry can fix: what lib/ throws (it never imports Temporal). Each has
 * a stable `type` and the problems a person must fix; contracts/failures.ts turns it into the Temporal
 * failure, non-retryable with the problems as details. `nonRetryable` and `details` mirror that failure,
 * so the error keeps its meaning when it crosses a thread as plain data.
 */
export class DomainError extends Error {
  readonly nonRetryable = true;
  constructor(
    readonly type: FailureType,
    message: string,
    readonly problems: readonly FieldProblemWithFacts[],
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get details(): FieldProblemWithFacts[] {
    return [...this.problems];
  }
}

/** The pipeline input (or a file it names) asks for something this run cannot do: InvalidPipelineConfig. */
export class PipelineConfigError extends DomainError {
  constructor(message: string, problems: readonly FieldProblemWithFacts[]) {
    super(FailureType.InvalidPipelineConfig, message, problems);
    this.name = 'PipelineConfigError';
  }
}

/** The data is missing, unreadable, invalid or incompatible with what it is compared with. */
export class DataError extends DomainError {
  constructor(type: DataFailureType, message: string, problems: readonly FieldProblemWithFacts[]) {
    super(type, message, problems);
    this.name = 'DataError';
  }
}

export function isFailureType(value: unknown): value is FailureType {
  return typeof value === 'string' && (NON_RETRYABLE_FAILURE_TYPES as readonly string[]).includes(value);
}

export function describeZodIssues(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

export function formatFieldProblems(problems: FieldProblem[]): string {
  return problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
}

/** What went wrong, in short: the failure's stable type and its message. */
export interface FailureSummary {
  type: string;
  message: string;
}

/**
 * What went wrong, from a Temporal failure chain: the innermost ApplicationFailure carries the type and
 * message a person can act on; the ActivityFailure / WorkflowFailedError wrappers only say where.
 * Duck-typed so this module stays free of SDK imports.
 */
export function rootFailure(error: unknown): FailureSummary {
  if (error instanceof DomainError) return { type: error.type, message: error.message };
  let current: unknown = error;
  while (current instanceof Error && current.name !== 'ApplicationFailure' && current.cause instanceof Error) {
    current = current.cause;
  }
  if (current instanceof Error && current.name === 'ApplicationFailure') {
    const type = (current as Error & { type?: string | null }).type;
    return { type: type ?? 'ApplicationFailure', message: current.message };
  }
  const outer = error instanceof Error ? error : new Error(String(error));
  return { type: outer.name, message: outer.message };
}
