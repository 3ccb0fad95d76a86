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
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURE_TYPES: readonly FailureType[] = Object.values(FailureType);

/** One bad field: where it is and what was expected, in words a person can act on. */
export interface FieldProblem {
  path: string;
  message: string;
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
