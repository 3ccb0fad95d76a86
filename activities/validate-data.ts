import type { ArtifactKind, ArtifactRef } from '../contracts/artifacts';
import type { PipelineInput } from '../contracts/pipeline-input';
import type { ChampionRefs, ValidateDataResult } from '../contracts/stage-results';
import type { DatasetFingerprint } from '../contracts/stages';
import { putJsonArtifact } from '../lib/data/artifact-files';
import { loadDataset } from '../lib/data/dataset';
import { expectedSchema, referenceStatistics } from '../lib/data/reference-documents';
import {
  anomaliesDocument,
  checkDataset,
  MAX_WARNINGS_IN_RESULT,
  profileDataset,
  throwIfValidationFailed,
} from '../lib/data/validation';
import { requireEvaluateColumns } from '../lib/evaluation/evaluate-model';
import type { StoreDeps } from './deps';
import { pipelineActivity } from './stage-run';

export interface ValidateDataArgs {
  input: PipelineInput;
  dataset: DatasetFingerprint;
  champion?: ChampionRefs;
}

/**
 * validateData: dataset → statistics, schema and an anomalies report (with the drift table), written
 * in that order under the run's stage key. Any error anomaly fails the stage with a non-retryable
 * DataValidationFailed after the report is written; warnings ride along in the result. The checks live
 * in lib/data (validation.ts, statistics.ts, anomalies.ts, drift.ts, schema.ts); this activity reads,
 * profiles, checks and writes, in that order.
 */
export function validateDataActivity({ store }: StoreDeps) {
  return pipelineActivity(
    'validateData',
    'downloading the dataset',
    async ({ input, dataset: fingerprint, champion }: ValidateDataArgs, run): Promise<ValidateDataResult> => {
      // Read what we compare against first: a bad schemaUri should fail before a 10 GB download.
      const expected = await expectedSchema(store, input, champion);
      const driftReference = input.validation.referenceStatisticsUri ?? champion?.statistics.uri;
      const reference = await referenceStatistics(store, input, champion);

      const local = await run.materialize(store, input.dataset.uri, {
        format: input.dataset.format,
        ...(fingerprint.partitions ? { partitions: fingerprint.partitions } : {}),
      });
      const session = await run.openDuckDb();
      run.step('loading the dataset');
      const table = await loadDataset(session, local, { label: input.task.label });
      requireEvaluateColumns(input.evaluate, table.columns, table.labelColumn);
      run.step('computing statistics');
      const statistics = await profileDataset(session, local, table, input, reference);
      run.step('checking for anomalies');
      const check = await checkDataset(session, table, statistics, input, expected, reference);

      run.step('writing artifacts');
      const { schema, schemaSource, errors, warnings } = check;
      const columns = statistics.columnCount;
      const put = (file: string, kind: ArtifactKind, value: unknown, metadata: ArtifactRef['metadata']) =>
        putJsonArtifact(store, run.keyOf(file), kind, value, metadata);
      const statisticsRef = await put('statistics.json', 'statistics', statistics, {
        rows: statistics.rowCount,
        columns,
      });
      const schemaRef = await put('schema.json', 'schema', schema, {
        source: schemaSource,
        version: schema.version,
        columns: schema.columns.length,
      });
      const anomaliesRef = await put(
        'anomalies.json',
        'anomalies',
        anomaliesDocument({
          fingerprint,
          local,
          statistics,
          check,
          schemaUri: expected?.uri ?? schemaRef.uri,
          driftReference,
        }),
        { errors: errors.length, warnings: warnings.length },
      );
      throwIfValidationFailed(input.dataset.uri, check, anomaliesRef);

      run.log.info('dataset validated', {
        rows: statistics.rowCount,
        columns,
        warnings: warnings.length,
        schemaSource,
      });
      return {
        rows: statistics.rowCount,
        columns,
        statistics: statisticsRef,
        schema: schemaRef,
        anomalies: anomaliesRef,
        warnings: warnings.slice(0, MAX_WARNINGS_IN_RESULT),
        schemaSource,
        ...(driftReference ? { driftReference } : {}),
      };
    },
  );
}
