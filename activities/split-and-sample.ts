import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactRef } from '../contracts/artifacts';
import { FailureType } from '../contracts/errors';
import { PipelineInput } from '../contracts/pipeline-input';
import type { SplitAndSampleResult, SplitName } from '../contracts/stage-results';
import type { DatasetFingerprint } from '../contracts/stages';
import { quoteStringLiteral, valueExpression, valueSourceOf } from '../lib/data/column-values';
import { interruptOnAbort, openDuckDb } from '../lib/data/duckdb';
import { loadDataset, releaseDataset } from '../lib/data/dataset';
import { invalidConfig } from '../lib/data/failures';
import { quoteIdentifier } from '../lib/data/identifiers';
import { materializeDataset } from '../lib/data/materialize';
import { classCounts, sampleTrainRows } from '../lib/data/sampling';
import { splitRows } from '../lib/data/split';
import { SPLIT_MANIFEST_VERSION, SplitManifest, splitInputsDigest } from '../lib/data/split-manifest';
import { resolveSplitStrategy, SPLIT_NAMES } from '../lib/data/split-plan';
import { compareCodeUnits } from '../lib/data/preprocessor';
import { stageKey } from '../lib/run-keys';
import type { ArtifactStore } from '../lib/store/artifact-store';
import type { ActivityDeps } from './deps';
import { trackSteps, workflowIdOf } from './stage-progress';

const STAGE = 'splitAndSample';

/**
 * splitAndSample: dataset → deduplicated train / validation / test Parquet files (train resampled if
 * configured) and a manifest, written last. A thin wrapper: the splitting rules live in
 * lib/data/split.ts and lib/data/sampling.ts. A retry with the same inputs finds its manifest and
 * returns it; otherwise it recomputes the same rows (membership depends on data and seed only).
 */
export function splitAndSampleActivity({ store, logger }: ActivityDeps) {
  return async function splitAndSample(args: {
    input: PipelineInput;
    dataset: DatasetFingerprint;
  }): Promise<SplitAndSampleResult> {
    const input = PipelineInput.parse(args.input);
    const ctx = Context.current();
    const workflowId = workflowIdOf(ctx);
    const keyOf = (file: string) => stageKey(input.model, workflowId, STAGE, file);
    const digest = splitInputsDigest({
      version: SPLIT_MANIFEST_VERSION,
      dataset: args.dataset.sha256,
      format: input.dataset.format,
      task: input.task,
      seed: input.seed,
      split: input.split,
      sampling: input.sampling,
    });

    const earlier = await findEarlierOutput(store, keyOf('manifest.json'), digest);
    if (earlier) {
      ctx.log.info('splitAndSample: reusing the output of an earlier attempt', { manifest: earlier.manifest.uri });
      return earlier;
    }

    const progress = trackSteps(ctx, 'downloading the dataset');
    const enter = progress.enter;
    const session = await openDuckDb();
    const detach = interruptOnAbort(session, ctx.cancellationSignal);
    const outputDirectory = await mkdtemp(path.join(os.tmpdir(), 'trainyard-splits-'));
    try {
      const local = await materializeDataset(store, input.dataset.uri, {
        format: input.dataset.format,
        ...(args.dataset.partitions ? { partitions: args.dataset.partitions } : {}),
        signal: ctx.cancellationSignal,
        onProgress: (bytes) => ctx.heartbeat({ step: progress.step, bytes }),
      });
      try {
        enter('loading the dataset');
        const dataset = await loadDataset(session, local, { label: input.task.label });
        const labelColumn = dataset.labelColumn;
        if (labelColumn === undefined) {
          const named = typeof input.task.label === 'string' ? input.task.label : input.task.label.column;
          throw invalidConfig(
            'task.label',
            `the dataset has no column "${named}"; columns are ${dataset.columns
              .map((c) => c.name)
              .slice(0, 20)
              .join(', ')}`,
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

        enter('deduplicating and splitting');
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

        enter('sampling the train split');
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

        const validationRelation = `(SELECT * FROM ${split.table} WHERE ${split.splitColumn} = 'validation')`;
        const testRelation = `(SELECT * FROM ${split.table} WHERE ${split.splitColumn} = 'test')`;
        enter('counting classes');
        const classification = input.task.type !== 'regression';
        const labelExpression = valueExpression(
          labelColumn,
          columns.find((c) => c.name === labelColumn)?.source ?? 'string',
        );
        const classCountsBySplit = classification
          ? {
              train: await classCounts(session, sampled.table, labelExpression),
              validation: await classCounts(session, validationRelation, labelExpression),
              test: await classCounts(session, testRelation, labelExpression),
              trainBeforeSampling: sampled.classCountsBefore ?? {},
            }
          : undefined;
        const classes = classCountsBySplit
          ? [...new Set(Object.values(classCountsBySplit).flatMap((counts) => Object.keys(counts)))].sort(
              compareCodeUnits,
            )
          : undefined;
        if (classes && (classes.length < 2 || (input.task.type === 'binary' && classes.length > 2))) {
          const needs =
            input.task.type === 'binary'
              ? 'binary needs exactly two (use task.type "multiclass", or derive a two-valued label)'
              : 'multiclass needs at least two';
          throw ApplicationFailure.create({
            type: FailureType.DataValidationFailed,
            nonRetryable: true,
            message: `The label "${labelColumn}" has ${classes.length} class${classes.length === 1 ? '' : 'es'} (${classes.slice(0, 10).join(', ')}${classes.length > 10 ? ', …' : ''}) after removing duplicates and missing labels; ${needs}.`,
            details: [{ labelColumn, classes: classes.slice(0, 100), classCount: classes.length }],
          });
        }

        const data = columns.map((c) => quoteIdentifier(c.name)).join(', ');
        const relations: Record<SplitName, { relation: string; orderBy: string }> = {
          train: { relation: sampled.table, orderBy: sampled.orderBy },
          validation: { relation: validationRelation, orderBy: split.orderBy },
          test: { relation: testRelation, orderBy: split.orderBy },
        };
        const splits = {} as Record<SplitName, ArtifactRef>;
        for (const name of SPLIT_NAMES) {
          enter(`writing the ${name} split`);
          const file = path.join(outputDirectory, `${name}.parquet`);
          const { relation, orderBy } = relations[name];
          await session.run(
            `COPY (SELECT ${data} FROM ${relation} ORDER BY ${orderBy}) TO ${quoteStringLiteral(file)} (FORMAT PARQUET)`,
          );
          enter(`uploading the ${name} split`);
          const put = await store.putFile(keyOf(`${name}.parquet`), file, {
            contentType: 'application/vnd.apache.parquet',
          });
          splits[name] = {
            kind: 'split',
            uri: put.uri,
            sha256: put.sha256,
            bytes: put.bytes,
            metadata: { split: name, rows: rows[name] },
          };
        }

        const version = (await session.all<{ v: string }>('SELECT version() AS v'))[0]?.v ?? 'unknown';
        const time = split.time;
        const isoOf = (v: number | string | null) =>
          v === null || typeof v === 'string' ? v : new Date(v * 1000).toISOString();
        const timeIsDate = time ? columns.find((c) => c.name === time.column)?.source === 'epoch-seconds' : false;
        const notes: string[] = [];
        if (rows.validation === 0)
          notes.push(
            'The validation split is empty: early stopping has nothing to watch. Use more rows or a larger split.fractions.validation.',
          );
        if (time && time.validationStart !== null && time.validationStart === time.testStart) {
          notes.push('The validation split is empty because both time boundaries fall on the same time value.');
        }
        const derivedFrom = typeof input.task.label === 'object' ? input.task.label.column : undefined;

        const manifest: SplitManifest = SplitManifest.parse({
          version: SPLIT_MANIFEST_VERSION,
          inputsDigest: digest,
          dataset: {
            uri: args.dataset.uri,
            sha256: args.dataset.sha256,
            bytes: args.dataset.bytes,
            ...(args.dataset.partitions ? { partitions: args.dataset.partitions } : {}),
          },
          task: {
            type: input.task.type,
            labelColumn,
            ...(derivedFrom !== undefined ? { labelDerivedFrom: derivedFrom } : {}),
          },
          seed: input.seed,
          split: {
            requestedStrategy: input.split.strategy,
            strategy,
            fractions: input.split.fractions,
            keyColumns: split.keyColumns,
            ...(split.stratifyBy !== undefined ? { stratifyBy: split.stratifyBy } : {}),
            ...(time
              ? {
                  time: {
                    ...time,
                    ...(timeIsDate
                      ? { validationStartIso: isoOf(time.validationStart), testStartIso: isoOf(time.testStart) }
                      : {}),
                  },
                }
              : {}),
            membership: `DuckDB ${version} hash(seed, key columns); ${strategy === 'random' ? 'hash / 2^64 against cumulative fractions' : strategy === 'stratified' ? 'rank by hash within stratum, cut at rounded cumulative fractions' : 'time boundaries'}`,
          },
          rowsRemoved: {
            inputRows: split.inputRows,
            duplicates: split.duplicateRows,
            missingLabel: split.missingLabelRows,
            missingTime: split.missingTimeRows,
          },
          sampling: {
            strategy: sampled.strategy,
            rowsBefore: sampled.rowsBefore,
            rowsAfter: sampled.rowsAfter,
            parameters: sampled.parameters,
            ...(sampled.classWeights ? { classWeights: sampled.classWeights } : {}),
          },
          rows,
          ...(classes ? { classes } : {}),
          ...(classCountsBySplit ? { classCounts: classCountsBySplit } : {}),
          columns: columns.map((c) => ({ name: c.name, duckdbType: c.duckdbType })),
          splits,
          notes,
          engine: { duckdb: version },
        });

        enter('writing the manifest');
        const written = await store.put(keyOf('manifest.json'), JSON.stringify(manifest, null, 2), {
          contentType: 'application/json',
        });
        logger.info(
          {
            model: input.model,
            workflowId,
            rows,
            strategy,
            sampling: sampled.strategy,
            duplicates: split.duplicateRows,
          },
          'splitAndSample: splits written',
        );
        return resultOf(manifest, {
          kind: 'split-manifest',
          uri: written.uri,
          sha256: written.sha256,
          bytes: written.bytes,
        });
      } finally {
        await local.cleanup();
      }
    } catch (error) {
      // An interrupted query or aborted download after cancellation is the cancellation, not a failure.
      throw ctx.cancellationSignal.aborted ? (ctx.cancellationSignal.reason ?? error) : error;
    } finally {
      progress.stop();
      detach();
      await session.close();
      await rm(outputDirectory, { recursive: true, force: true });
    }
  };
}

function resultOf(manifest: SplitManifest, manifestRef: ArtifactRef): SplitAndSampleResult {
  return {
    manifest: manifestRef,
    splits: manifest.splits,
    rows: manifest.rows,
    strategy: manifest.split.strategy,
    ...(manifest.sampling.classWeights ? { classWeights: manifest.sampling.classWeights } : {}),
  };
}

/** An earlier attempt's complete output for the same inputs: its manifest (written last) and every split it names. */
async function findEarlierOutput(
  store: ArtifactStore,
  manifestKey: string,
  digest: string,
): Promise<SplitAndSampleResult | undefined> {
  const info = await store.stat(manifestKey);
  if (!info) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(manifestKey)) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  let parsed: ReturnType<typeof SplitManifest.safeParse>;
  try {
    parsed = SplitManifest.safeParse(JSON.parse(bytes.toString('utf8')));
  } catch {
    return undefined;
  }
  if (!parsed.success || parsed.data.inputsDigest !== digest) return undefined;
  for (const ref of Object.values(parsed.data.splits)) {
    const split = await store.stat(store.keyFor(ref.uri));
    if (!split || split.bytes !== ref.bytes) return undefined;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return resultOf(parsed.data, { kind: 'split-manifest', uri: info.uri, sha256, bytes: bytes.length });
}

/** Train and test must hold rows (when their fractions ask for any); anything else is bad data or config. */
function requireRows(
  rows: Record<SplitName, number>,
  fractions: Record<SplitName, number>,
  split: { inputRows: number; duplicateRows: number; missingLabelRows: number; missingTimeRows: number },
): void {
  const empty = (['train', 'test'] as const).filter((s) => fractions[s] > 0 && rows[s] === 0);
  if (empty.length === 0) return;
  throw ApplicationFailure.create({
    type: FailureType.DataValidationFailed,
    nonRetryable: true,
    message:
      `The ${empty.join(' and ')} split${empty.length > 1 ? 's are' : ' is'} empty: of ${split.inputRows} rows, ${split.duplicateRows} were duplicates, ` +
      `${split.missingLabelRows} had no label and ${split.missingTimeRows} no time value, leaving ${rows.train + rows.validation + rows.test}. ` +
      'Provide more rows, or change split.fractions / the time boundaries / sampling.',
    details: [{ rows, removed: split }],
  });
}

/** Stage keys hang off the workflow id; an activity run outside a workflow (a test) keys by its activity id. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
