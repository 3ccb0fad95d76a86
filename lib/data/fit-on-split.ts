import type { PipelineInput } from '../../contracts/pipeline-input';
import type { DuckDbSession } from './duckdb';
import { invalidConfigWith } from './failures';
import { fitPreprocessor, type PreprocessorSpec } from './preprocessor';
import type { SplitManifest } from './split-manifest';

/**
 * Fits the preprocessor on the train split's Parquet file, with what the split's manifest knows: the
 * label, its classes, the column a derived label came from (excluded: it would leak the label) and the
 * time split's column. A config that leaves no feature to train on fails here.
 */
export async function fitPreprocessorOnSplit(
  session: DuckDbSession,
  { file, manifest, input }: { file: string; manifest: SplitManifest; input: PipelineInput },
): Promise<PreprocessorSpec> {
  const train = manifest.splits.train;
  const columns = (
    await session.all<{ column_name: string; column_type: string }>('DESCRIBE SELECT * FROM read_parquet($1)', [file])
  ).map((c) => ({ name: c.column_name, duckdbType: c.column_type }));
  const derivedFrom = manifest.task.labelDerivedFrom;
  const spec = await fitPreprocessor(session, {
    relation: 'read_parquet($1)',
    relationParams: [file],
    columns,
    labelColumn: manifest.task.labelColumn,
    taskType: input.task.type,
    config: input.preprocess,
    model: input.train.model,
    ...(manifest.classes ? { classes: manifest.classes } : {}),
    ...(derivedFrom !== undefined
      ? {
          alsoExclude: [
            {
              column: derivedFrom,
              reason: `the derived label "${manifest.task.labelColumn}" is computed from it (leakage)`,
            },
          ],
        }
      : {}),
    ...(manifest.split.strategy === 'time' && manifest.split.time ? { timeColumn: manifest.split.time.column } : {}),
    fittedOn: { uri: train.uri, sha256: train.sha256 },
  });
  if (spec.featureCount === 0) {
    throw invalidConfigWith(
      `No feature is left to train on: every column is the label or excluded (${spec.excluded.map((e) => e.column).join(', ')}). Remove columns from preprocess.exclude.`,
      [{ path: 'preprocess.exclude', message: 'no feature is left', excluded: spec.excluded }],
    );
  }
  return spec;
}
