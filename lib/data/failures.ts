import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../contracts/errors';

/** Non-retryable failures of the data plane: bad input or bad data, which no retry can fix. */
export function datasetNotFound(uri: string, detail?: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.DatasetNotFound,
    nonRetryable: true,
    message: `No dataset at ${uri}${detail ? ` (${detail})` : ''}. Upload it first, e.g. "trainyard data put ./data.csv ${uri}", or fix dataset.uri.`,
    details: [{ uri, ...(detail ? { detail } : {}) }],
  });
}

export function datasetUnreadable(
  uri: string,
  reason: string,
  hint = 'Check that the file is complete and in the format its name says, or set dataset.format.',
): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.DatasetUnreadable,
    nonRetryable: true,
    message: `The dataset at ${uri} cannot be read: ${reason}. ${hint}`,
    details: [{ uri, reason }],
  });
}

export function invalidDatasetUri(uri: string, reason: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.InvalidPipelineConfig,
    nonRetryable: true,
    message: `dataset.uri ${uri} cannot be read by this worker: ${reason}`,
    details: [{ path: 'dataset.uri', message: reason }],
  });
}

export function invalidConfig(path: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.InvalidPipelineConfig,
    nonRetryable: true,
    message: `${path}: ${message}`,
    details: [{ path, message }],
  });
}

export function dataValidationFailed(message: string, details: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.DataValidationFailed, nonRetryable: true, message, details });
}

/** A config that leaves nothing to learn from, say, or names what the data lacks: the caller's to fix. */
export function invalidConfigWith(message: string, details: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.InvalidPipelineConfig, nonRetryable: true, message, details });
}

export function incompatibleSchema(message: string, details: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.IncompatibleSchema, nonRetryable: true, message, details });
}
