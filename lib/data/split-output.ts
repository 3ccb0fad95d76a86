import { createHash } from 'node:crypto';
import path from 'node:path';
import type { ArtifactRef } from '../../contracts/artifacts';
import type { PipelineInput } from '../../contracts/pipeline-input';
import type { SplitAndSampleResult, SplitName } from '../../contracts/stage-results';
import type { DatasetFingerprint } from '../../contracts/stages';
import type { ArtifactStore } from '../store/artifact-store';
import { readObjectIfExists } from '../store/read-object';
import { quoteStringLiteral, valueExpression, type ValueSource } from './column-values';
import type { DuckDbSession } from './duckdb';
import { dataValidationFailed } from './failures';
import { quoteIdentifier } from './identifiers';
import { classCountShortfall, describeClasses } from './label-classes';
import { compareCodeUnits } from './preprocessor';
import type { ClassCounts } from './rebalance';
import { classCounts, type SampledTrain } from './sampling';
import type { SplitOutcome } from './split';
import { SPLIT_MANIFEST_VERSION, SplitManifest } from './split-manifest';
import { SPLIT_NAMES, type SplitStrategy } from './split-plan';

/** What splitAndSample writes and records, from the split table and the sampled train rows. */

export interface SplitColumn {
  name: string;
  duckdbType: string;
  source: ValueSource;
}

export type SplitRows = Record<SplitName, number>;

/** Train and test must hold rows (when their fractions ask for any); anything else is bad data or config. */
export function requireRows(rows: SplitRows, fractions: Record<SplitName, number>, split: SplitOutcome): void {
  const empty = (['train', 'test'] as const).filter((s) => fractions[s] > 0 && rows[s] === 0);
  if (empty.length === 0) return;
  const removed = {
    inputRows: split.inputRows,
    duplicateRows: split.duplicateRows,
    missingLabelRows: split.missingLabelRows,
    missingTimeRows: split.missingTimeRows,
  };
  throw dataValidationFailed(
    `The ${empty.join(' and ')} split${empty.length > 1 ? 's are' : ' is'} empty: of ${split.inputRows} rows, ${split.duplicateRows} were duplicates, ` +
      `${split.missingLabelRows} had no label and ${split.missingTimeRows} no time value, leaving ${rows.train + rows.validation + rows.test}. ` +
      'Provide more rows, or change split.fractions / the time boundaries / sampling.',
    [{ path: 'split.fractions', message: `the ${empty.join(' and ')} split is empty`, rows, removed }],
  );
}

/** The relations each split file is written from: the sampled train rows, and the split table's other two splits. */
export function splitRelations(
  split: SplitOutcome,
  sampled: SampledTrain,
): Record<SplitName, { relation: string; orderBy: string }> {
  const of = (name: SplitName) => `(SELECT * FROM ${split.table} WHERE ${split.splitColumn} = '${name}')`;
  return {
    train: { relation: sampled.table, orderBy: sampled.orderBy },
    validation: { relation: of('validation'), orderBy: split.orderBy },
    test: { relation: of('test'), orderBy: split.orderBy },
  };
}

export interface SplitClasses {
  counts: { train: ClassCounts; validation: ClassCounts; test: ClassCounts; trainBeforeSampling: ClassCounts };
  classes: string[];
}

/**
 * Rows per class in every split (and in train before sampling), and the classes across them, sorted.
 * A classifier's label must have the classes its task needs once duplicates and missing labels are gone.
 */
export async function countSplitClasses(
  session: DuckDbSession,
  request: {
    taskType: PipelineInput['task']['type'];
    labelColumn: string;
    columns: readonly SplitColumn[];
    relations: Record<SplitName, { relation: string }>;
    sampled: SampledTrain;
  },
): Promise<SplitClasses | undefined> {
  const { taskType, labelColumn, relations } = request;
  if (taskType === 'regression') return undefined;
  const label = valueExpression(labelColumn, request.columns.find((c) => c.name === labelColumn)?.source ?? 'string');
  const counts = {
    train: await classCounts(session, relations.train.relation, label),
    validation: await classCounts(session, relations.validation.relation, label),
    test: await classCounts(session, relations.test.relation, label),
    trainBeforeSampling: request.sampled.classCountsBefore ?? {},
  };
  const classes = [...new Set(Object.values(counts).flatMap((c) => Object.keys(c)))].sort(compareCodeUnits);
  const shortfall = classCountShortfall(taskType, classes.length);
  if (shortfall) {
    throw dataValidationFailed(
      `The label "${labelColumn}" has ${describeClasses(classes)} after removing duplicates and missing labels; ${shortfall}.`,
      [
        {
          path: 'task.label',
          message: shortfall,
          labelColumn,
          classes: classes.slice(0, 100),
          classCount: classes.length,
        },
      ],
    );
  }
  return { counts, classes };
}

/** Writes each split as Parquet under `directory` and uploads it to `keyOf(<split>.parquet)`; `onStep` names each step. */
export async function writeSplitFiles(
  session: DuckDbSession,
  store: ArtifactStore,
  request: {
    columns: readonly SplitColumn[];
    relations: Record<SplitName, { relation: string; orderBy: string }>;
    rows: SplitRows;
    directory: string;
    keyOf: (file: string) => string;
    onStep: (step: string) => void;
  },
): Promise<Record<SplitName, ArtifactRef>> {
  const data = request.columns.map((c) => quoteIdentifier(c.name)).join(', ');
  const splits = {} as Record<SplitName, ArtifactRef>;
  for (const name of SPLIT_NAMES) {
    request.onStep(`writing the ${name} split`);
    const file = path.join(request.directory, `${name}.parquet`);
    const { relation, orderBy } = request.relations[name];
    await session.run(
      `COPY (SELECT ${data} FROM ${relation} ORDER BY ${orderBy}) TO ${quoteStringLiteral(file)} (FORMAT PARQUET)`,
    );
    request.onStep(`uploading the ${name} split`);
    const put = await store.putFile(request.keyOf(`${name}.parquet`), file, {
      contentType: 'application/vnd.apache.parquet',
    });
    splits[name] = {
      kind: 'split',
      uri: put.uri,
      sha256: put.sha256,
      bytes: put.bytes,
      metadata: { split: name, rows: request.rows[name] },
    };
  }
  return splits;
}

export interface ManifestRequest {
  input: PipelineInput;
  dataset: DatasetFingerprint;
  inputsDigest: string;
  labelColumn: string;
  strategy: SplitStrategy;
  columns: readonly SplitColumn[];
  split: SplitOutcome;
  sampled: SampledTrain;
  rows: SplitRows;
  classes: SplitClasses | undefined;
  splits: Record<SplitName, ArtifactRef>;
}

/** The manifest of a split: what was asked, what the rows became, and how membership was decided. */
export async function buildSplitManifest(session: DuckDbSession, request: ManifestRequest): Promise<SplitManifest> {
  const { input, dataset, split, sampled, rows, strategy, columns } = request;
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

  return SplitManifest.parse({
    version: SPLIT_MANIFEST_VERSION,
    inputsDigest: request.inputsDigest,
    dataset: {
      uri: dataset.uri,
      sha256: dataset.sha256,
      bytes: dataset.bytes,
      ...(dataset.partitions ? { partitions: dataset.partitions } : {}),
    },
    task: {
      type: input.task.type,
      labelColumn: request.labelColumn,
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
    ...(request.classes ? { classes: request.classes.classes, classCounts: request.classes.counts } : {}),
    columns: columns.map((c) => ({ name: c.name, duckdbType: c.duckdbType })),
    splits: request.splits,
    notes,
    engine: { duckdb: version },
  });
}

/** The stage's result, from a manifest and where it was written. */
export function splitResultOf(manifest: SplitManifest, manifestRef: ArtifactRef): SplitAndSampleResult {
  return {
    manifest: manifestRef,
    splits: manifest.splits,
    rows: manifest.rows,
    strategy: manifest.split.strategy,
    ...(manifest.sampling.classWeights ? { classWeights: manifest.sampling.classWeights } : {}),
  };
}

/** An earlier attempt's complete output for the same inputs: its manifest (written last) and every split it names. */
export async function findSplitOutput(
  store: ArtifactStore,
  manifestKey: string,
  digest: string,
): Promise<SplitAndSampleResult | undefined> {
  const info = await store.stat(manifestKey);
  if (!info) return undefined;
  const bytes = await readObjectIfExists(store, manifestKey);
  if (!bytes) return undefined;
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
  return splitResultOf(parsed.data, { kind: 'split-manifest', uri: info.uri, sha256, bytes: bytes.length });
}
