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

/**
 * What went wrong, from a Temporal failure chain: the innermost ApplicationFailure carries the type and
 * message a person can act on; the ActivityFailure / WorkflowFailedError wrappers only say where.
 * Duck-typed so this module stays free of SDK imports.
 */
export function rootFailure(error: unknown): { type: string; message: string } {
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
