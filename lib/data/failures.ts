import { PipelineConfigError, DataError, FailureType, type FieldProblemWithFacts } from '../../contracts/errors';

/** The data plane's bad input and bad data, which no retry can fix: typed domain errors, named by field. */
export function datasetNotFound(uri: string, detail?: string): DataError {
  return new DataError(
    FailureType.DatasetNotFound,
    `No dataset at ${uri}${detail ? ` (${detail})` : ''}. Upload it first, e.g. "trainyard data put ./data.csv ${uri}", or fix dataset.uri.`,
    [{ path: 'dataset.uri', message: detail ?? 'no object at this URI', uri }],
  );
}

export function datasetUnreadable(
  uri: string,
  reason: string,
  hint = 'Check that the file is complete and in the format its name says, or set dataset.format.',
): DataError {
  return new DataError(FailureType.DatasetUnreadable, `The dataset at ${uri} cannot be read: ${reason}. ${hint}`, [
    { path: 'dataset.uri', message: reason, uri, reason },
  ]);
}

export function invalidDatasetUri(uri: string, reason: string): PipelineConfigError {
  return new PipelineConfigError(`dataset.uri ${uri} cannot be read by this worker: ${reason}`, [
    { path: 'dataset.uri', message: reason },
  ]);
}

export function invalidConfig(path: string, message: string): PipelineConfigError {
  return new PipelineConfigError(`${path}: ${message}`, [{ path, message }]);
}

/** A config that does not fit this run, with the message said as a whole and every bad field listed. */
export function invalidConfigWith(message: string, problems: FieldProblemWithFacts[]): PipelineConfigError {
  return new PipelineConfigError(message, problems);
}

export function dataValidationFailed(message: string, problems: FieldProblemWithFacts[]): DataError {
  return new DataError(FailureType.DataValidationFailed, message, problems);
}

export function incompatibleSchema(message: string, problems: FieldProblemWithFacts[]): DataError {
  return new DataError(FailureType.IncompatibleSchema, message, problems);
}
