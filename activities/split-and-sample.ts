import type { PipelineInput } from '../contracts/pipeline-input';
import type { SplitAndSampleResult } from '../contracts/stage-results';
import type { DatasetFingerprint } from '../contracts/stages';
import { valueSourceOf } from '../lib/data/column-values';
import { loadDataset, releaseDataset } from '../lib/data/dataset';
import { invalidConfig } from '../lib/data/failures';
import { sampleTrainRows } from '../lib/data/sampling';
import { splitRows } from '../lib/data/split';
import { SPLIT_MANIFEST_VERSION, splitInputsDigest } from '../lib/data/split-manifest';
import {
  buildSplitManifest,
  countSplitClasses,
  findSplitOutput,
  requireRows,
  splitRelations,
  splitResultOf,
  writeSplitFiles,
} from '../lib/data/split-output';
import { resolveSplitStrategy } from '../lib/data/split-plan';
import type { StoreDeps } from './deps';
import { pipelineActivity } from './stage-run';

export interface SplitAndSampleArgs {
  input: PipelineInput;
  dataset: DatasetFingerprint;
}

/**
 * splitAndSample: dataset → deduplicated train / validation / test Parquet files (train resampled if
 * configured) and a manifest, written last. The splitting rules live in lib/data/split.ts and
 * sampling.ts, the files and the manifest in lib/data/split-output.ts; this activity puts them in order.
 * A retry with the same inputs finds its manifest and returns it; otherwise it recomputes the same rows
 * (membership depends on data and seed only).
 */
export function splitAndSampleActivity({ store, logger }: StoreDeps) {
  return pipelineActivity(
    'splitAndSample',
    'downloading the dataset',
    async ({ input, dataset: fingerprint }: SplitAndSampleArgs, run): Promise<SplitAndSampleResult> => {
      const digest = splitInputsDigest({
        version: SPLIT_MANIFEST_VERSION,
        dataset: fingerprint.sha256,
        format: input.dataset.format,
        task: input.task,
        seed: input.seed,
        split: input.split,
        sampling: input.sampling,
      });
      const earlier = await findSplitOutput(store, run.keyOf('manifest.json'), digest);
      if (earlier) {
        run.log.info('splitAndSample: reusing the output of an earlier attempt', { manifest: earlier.manifest.uri });
        return earlier;
      }

      const session = await run.openDuckDb();
      const directory = await run.tempDirectory('trainyard-splits-');
      const local = await run.materialize(store, input.dataset.uri, {
        format: input.dataset.format,
        ...(fingerprint.partitions ? { partitions: fingerprint.partitions } : {}),
      });

      run.step('loading the dataset');
      const dataset = await loadDataset(session, local, { label: input.task.label });
      const labelColumn = dataset.labelColumn;
      if (labelColumn === undefined) {
        const named = typeof input.task.label === 'string' ? input.task.label : input.task.label.column;
        const columnNames = dataset.columns.map((c) => c.name).slice(0, 20);
        throw invalidConfig(
          'task.label',
          `the dataset has no column "${named}"; columns are ${columnNames.join(', ')}`,
        );
      }
      const columns = dataset.columns.map((c) => ({
        name: c.name,
        duckdbType: c.duckdbType,
        source: valueSourceOf(c.duckdbType),
      }));
      const strategy = resolveSplitStrategy(input.split.strategy, {
        taskType: input.task.type,
        ...(input.split.timeColumn !== undefined ? { timeColumn: input.split.timeColumn } : {}),
      });

      run.step('deduplicating and splitting');
      const split = await splitRows(session, {
        table: dataset.table,
        columns,
        labelColumn,
        strategy,
        fractions: input.split.fractions,
        seed: input.seed,
        ...optional('keyColumns', input.split.keyColumns),
        ...optional('stratifyBy', input.split.stratifyBy),
        ...optional('timeColumn', input.split.timeColumn),
        ...optional('validationStart', input.split.validationStart),
        ...optional('testStart', input.split.testStart),
      });
      // The deduplicated copy is all that is read from here on: free the loaded table's memory.
      await releaseDataset(session, dataset); // a view over Parquet, or a table of parsed text

      run.step('sampling the train split');
      const sampled = await sampleTrainRows(session, {
        split,
        columns,
        labelColumn,
        taskType: input.task.type,
        sampling: input.sampling,
        seed: input.seed,
      });
      const rows = { train: sampled.rowsAfter, validation: split.rows.validation, test: split.rows.test };
      requireRows(rows, input.split.fractions, split);

      const relations = splitRelations(split, sampled);
      run.step('counting classes');
      const classes = await countSplitClasses(session, {
        taskType: input.task.type,
        labelColumn,
        columns,
        relations,
        sampled,
      });
      const splits = await writeSplitFiles(session, store, {
        columns,
        relations,
        rows,
        directory,
        keyOf: (file) => run.keyOf(file),
        onStep: (step) => run.step(step),
      });
      const manifest = await buildSplitManifest(session, {
        input,
        dataset: fingerprint,
        inputsDigest: digest,
        labelColumn,
        strategy,
        columns,
        split,
        sampled,
        rows,
        classes,
        splits,
      });

      run.step('writing the manifest');
      const written = await store.put(run.keyOf('manifest.json'), JSON.stringify(manifest, null, 2), {
        contentType: 'application/json',
      });
      logger.info(
        {
          model: input.model,
          workflowId: run.workflowId,
          rows,
          strategy,
          sampling: sampled.strategy,
          duplicates: split.duplicateRows,
        },
        'splitAndSample: splits written',
      );
      return splitResultOf(manifest, {
        kind: 'split-manifest',
        uri: written.uri,
        sha256: written.sha256,
        bytes: written.bytes,
      });
    },
  );
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
