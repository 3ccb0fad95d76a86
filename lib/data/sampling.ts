import type { z } from 'zod';
import type { SamplingConfig } from '../../contracts/stage-config';
import { categoryKey, freshColumnName, streamChunks, valueExpression, type ValueSource } from './column-values';
import type { DuckDbSession, SqlValue } from './duckdb';
import { invalidConfig } from './failures';
import { preview, quoteIdentifier } from './identifiers';
import { balancedClassWeights, oversampleFloor, undersampleCap, type ClassCounts } from './rebalance';
import { Reservoir } from './reservoir';
import { createSeededRandom } from './seeded-random';
import type { SplitTable } from './split';
import type { TaskType } from '../../contracts/pipeline-input';

export type SamplingSettings = z.output<typeof SamplingConfig>;
export type SamplingStrategy = SamplingSettings['strategy'];

/**
 * Resamples the TRAIN split only (validation and test are never resampled), in DuckDB, seeded and
 * deterministic: the draws come from a hash of (row hash, seed), never from a clock or `Math.random`.
 */
export interface SamplingRequest {
  split: SplitTable;
  columns: { name: string; source: ValueSource }[];
  labelColumn: string;
  taskType: TaskType;
  sampling: SamplingSettings;
  seed: number;
  /** Name of the table (or view) to create; default "train_rows". */
  outputTable?: string;
}

export interface SampledTrain {
  /** Quoted table or view: the data columns, the split's hash columns and a copy index. */
  table: string;
  /** `ORDER BY` terms for a stable order of the sampled rows. */
  orderBy: string;
  strategy: SamplingStrategy;
  rowsBefore: number;
  rowsAfter: number;
  /** Train rows per class before sampling (classification). */
  classCountsBefore?: ClassCounts;
  classWeights?: Record<string, number>;
  /** What the strategy resolved to: sample size, fraction, cap or floor per class, weight column. */
  parameters: Record<string, number | string>;
}

const CLASS_STRATEGIES: readonly SamplingStrategy[] = ['stratified', 'undersample', 'oversample', 'class-weights'];

export async function sampleTrainRows(session: DuckDbSession, request: SamplingRequest): Promise<SampledTrain> {
  const { split, sampling, labelColumn } = request;
  const strategy = sampling.strategy;
  if (CLASS_STRATEGIES.includes(strategy) && request.taskType === 'regression') {
    throw invalidConfig(
      'sampling.strategy',
      `"${strategy}" needs classes, but task.type is regression; use "uniform", "weighted", "reservoir" or "none"`,
    );
  }
  const names = request.columns.map((c) => c.name);
  const internal = (base: string) => quoteIdentifier(freshColumnName(`__trainyard_${base}`, names));
  const copy = internal('copy');
  const sh = internal('sample_hash');
  const outputName = request.outputTable ?? 'train_rows';
  const output = quoteIdentifier(outputName);
  const parameters = quoteIdentifier(`${outputName}_parameters`);
  const seedTable = quoteIdentifier(`${outputName}_seed`);
  const label = quoteIdentifier(labelColumn);
  const labelSource = request.columns.find((c) => c.name === labelColumn)?.source ?? 'string';
  const train = `(SELECT * FROM ${split.table} WHERE ${split.splitColumn} = 'train')`;
  const hashColumns = [...new Set([split.rowHashColumn, split.tieHashColumn])];
  const kept = [...names.map((n) => `h.${quoteIdentifier(n)}`), ...hashColumns.map((c) => `h.${c}`)].join(', ');
  // Every draw comes from this per-row hash of (row hash, seed): the seed sits in a one-row table so the
  // sampled train split can be a view (views hold no bound parameters) and no row is copied until written.
  const hashed = `(SELECT t.*, hash(${hashColumns.map((c) => `t.${c}`).join(', ')}, s.seed, 'trainyard-sample') AS ${sh} FROM ${train} AS t CROSS JOIN ${seedTable} AS s)`;

  await dropRelation(session, outputName);
  await session.run(`DROP TABLE IF EXISTS ${parameters}`);
  await session.run(`CREATE OR REPLACE TEMP TABLE ${seedTable} AS SELECT CAST($1 AS BIGINT) AS seed`, [request.seed]);
  const rowsBefore = await countRows(session, train);
  const classCountsBefore =
    request.taskType === 'regression'
      ? undefined
      : await classCounts(session, train, valueExpression(labelColumn, labelSource));
  const createView = (select: string) => session.run(`CREATE TEMP VIEW ${output} AS ${select}`);
  /** Per class: its row count n and the sample hash of its k-th row in sample-hash order (k from `rowsToKeep`, an SQL expression of n and $1). */
  const classCuts = (rowsToKeep: string, value: SqlValue) =>
    session.run(
      `CREATE TEMP TABLE ${parameters} AS
       SELECT class, n, max(${sh}) FILTER (WHERE rank <= ${rowsToKeep}) AS cut
       FROM (SELECT h.${label} AS class, h.${sh}, row_number() OVER (PARTITION BY h.${label} ORDER BY h.${sh}) AS rank,
                    count(*) OVER (PARTITION BY h.${label}) AS n
             FROM ${hashed} AS h)
       GROUP BY class, n`,
      [value],
    );
  const joinClass = `JOIN ${parameters} AS p ON h.${label} IS NOT DISTINCT FROM p.class`;
  let outcome: { parameters: Record<string, number | string>; extra?: Partial<SampledTrain> };

  switch (strategy) {
    case 'none':
    case 'class-weights': {
      await createView(`SELECT ${kept}, 0 AS ${copy} FROM ${train} AS h`);
      outcome =
        strategy === 'class-weights'
          ? { parameters: {}, extra: { classWeights: balancedClassWeights(classCountsBefore ?? {}) } }
          : { parameters: {} };
      break;
    }
    case 'uniform': {
      const k = sampleSize(sampling, rowsBefore, 'uniform');
      await session.run(
        `CREATE TEMP TABLE ${parameters} AS SELECT max(${sh}) AS cut FROM (SELECT ${sh} FROM ${hashed} ORDER BY ${sh} LIMIT $1)`,
        [k],
      );
      await createView(
        `SELECT ${kept}, 0 AS ${copy} FROM ${hashed} AS h CROSS JOIN ${parameters} AS p WHERE h.${sh} <= p.cut`,
      );
      outcome = { parameters: { k } };
      break;
    }
    case 'stratified': {
      const fraction =
        sampling.fraction ?? (sampling.n !== undefined ? Math.min(1, sampling.n / Math.max(rowsBefore, 1)) : undefined);
      if (fraction === undefined)
        throw invalidConfig(
          'sampling.fraction',
          'stratified sampling needs sampling.fraction (the share of each class to keep) or sampling.n',
        );
      await classCuts('round(n * CAST($1 AS DOUBLE))', fraction);
      await createView(`SELECT ${kept}, 0 AS ${copy} FROM ${hashed} AS h ${joinClass} WHERE h.${sh} <= p.cut`);
      outcome = { parameters: { fraction } };
      break;
    }
    case 'weighted': {
      const weightColumn = sampling.weightColumn;
      if (weightColumn === undefined)
        throw invalidConfig(
          'sampling.weightColumn',
          'weighted sampling needs sampling.weightColumn: a numeric column of non-negative weights',
        );
      const weight = request.columns.find((c) => c.name === weightColumn);
      if (!weight)
        throw invalidConfig('sampling.weightColumn', `column "${preview(weightColumn)}" is not in the dataset`);
      if (weight.source !== 'number')
        throw invalidConfig(
          'sampling.weightColumn',
          `column "${preview(weightColumn)}" is not numeric, so it cannot weight rows`,
        );
      const k = sampleSize(sampling, rowsBefore, 'weighted');
      const w = valueExpression(weightColumn, 'number', 'h');
      // Efraimidis–Spirakis: keep the k largest u^(1/w), i.e. ln(u)/w, with u uniform from the row's hash.
      const key = `ln((CAST(h.${sh} AS DOUBLE) + 0.5) / 18446744073709551616.0) / ${w}`;
      const positive = `${w} > 0 AND isfinite(${w})`;
      await session.run(
        `CREATE TEMP TABLE ${parameters} AS SELECT min(key) AS cut FROM (SELECT ${key} AS key FROM ${hashed} AS h WHERE ${positive} ORDER BY key DESC LIMIT $1)`,
        [k],
      );
      await createView(
        `SELECT ${kept}, 0 AS ${copy} FROM ${hashed} AS h CROSS JOIN ${parameters} AS p WHERE ${positive} AND ${key} >= p.cut`,
      );
      outcome = { parameters: { k, weightColumn } };
      break;
    }
    case 'reservoir': {
      const k = sampleSize(sampling, rowsBefore, 'reservoir');
      await reservoirSample(session, {
        train,
        hashColumns,
        kept,
        copy,
        output,
        picked: parameters,
        k,
        seed: request.seed,
        position: internal('position'),
      });
      outcome = { parameters: { k } };
      break;
    }
    case 'undersample': {
      const cap = undersampleCap(classCountsBefore ?? {}, sampling.targetRatio);
      await classCuts('CAST($1 AS BIGINT)', cap);
      await createView(`SELECT ${kept}, 0 AS ${copy} FROM ${hashed} AS h ${joinClass} WHERE h.${sh} <= p.cut`);
      outcome = { parameters: { targetRatio: sampling.targetRatio, capPerClass: cap } };
      break;
    }
    case 'oversample': {
      const floor = oversampleFloor(classCountsBefore ?? {}, sampling.targetRatio);
      // A class of n rows grown to target = max(n, floor) repeats each row target // n times, and the
      // first target % n rows in sample-hash order once more (rebalance.copiesOfRow).
      await classCuts('greatest(n, CAST($1 AS BIGINT)) % n', floor);
      await session.run(`ALTER TABLE ${parameters} ADD COLUMN full_copies BIGINT`);
      await session.run(`UPDATE ${parameters} SET full_copies = greatest(n, CAST($1 AS BIGINT)) // n`, [floor]);
      await createView(
        `SELECT ${kept}, unnest(range(p.full_copies + CASE WHEN h.${sh} <= p.cut THEN 1 ELSE 0 END)) AS ${copy} FROM ${hashed} AS h ${joinClass}`,
      );
      outcome = { parameters: { targetRatio: sampling.targetRatio, floorPerClass: floor } };
      break;
    }
  }

  const rowsAfter = await countRows(session, output);
  return {
    table: output,
    orderBy: `${hashColumns.join(', ')}, ${copy}`,
    strategy,
    rowsBefore,
    rowsAfter,
    ...(classCountsBefore ? { classCountsBefore } : {}),
    parameters: outcome.parameters,
    ...(outcome.extra ?? {}),
  };
}

/** Rows per class key (categoryKey of the label's value), for any relation. */
export async function classCounts(
  session: DuckDbSession,
  relation: string,
  labelExpression: string,
  params: SqlValue[] = [],
): Promise<ClassCounts> {
  const rows = await session.all<{ label: number | string | boolean | null; n: number }>(
    `SELECT ${labelExpression} AS label, count(*) AS n FROM ${relation} GROUP BY 1`,
    params,
  );
  const counts: ClassCounts = {};
  for (const row of rows) {
    const key = categoryKey(row.label);
    if (key !== null) counts[key] = (counts[key] ?? 0) + row.n;
  }
  return counts;
}

/** Drops a table or view of this name if one exists (DuckDB refuses DROP VIEW on a table and vice versa). */
async function dropRelation(session: DuckDbSession, name: string): Promise<void> {
  const found = await session.all<{ kind: string }>(
    `SELECT 'VIEW' AS kind FROM duckdb_views() WHERE view_name = $1 UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = $1`,
    [name],
  );
  for (const { kind } of found)
    await session.run(`DROP ${kind === 'VIEW' ? 'VIEW' : 'TABLE'} IF EXISTS ${quoteIdentifier(name)}`);
}

async function countRows(session: DuckDbSession, relation: string): Promise<number> {
  return (await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${relation}`))[0]?.n ?? 0;
}

function sampleSize(sampling: SamplingSettings, rows: number, strategy: string): number {
  if (sampling.n !== undefined) return Math.min(sampling.n, rows);
  if (sampling.fraction !== undefined) return Math.round(sampling.fraction * rows);
  throw invalidConfig('sampling.n', `${strategy} sampling needs sampling.n (rows to keep) or sampling.fraction`);
}

/**
 * Reservoir sampling as it is meant to run: one pass over the train rows as DuckDB streams them (their
 * positions in stable hash order), O(k) memory in JS, seeded. The chosen rows' hashes go to a narrow
 * table that the sampled view semi-joins; no row is copied.
 */
async function reservoirSample(
  session: DuckDbSession,
  options: {
    train: string;
    hashColumns: string[];
    kept: string;
    copy: string;
    output: string;
    picked: string;
    k: number;
    seed: number;
    position: string;
  },
): Promise<void> {
  const numbered = quoteIdentifier('reservoir_numbered_train');
  const chosen = 'reservoir_chosen_positions';
  const hashes = options.hashColumns.join(', ');
  await session.run(
    `CREATE OR REPLACE TEMP TABLE ${numbered} AS SELECT ${hashes}, row_number() OVER (ORDER BY ${hashes}) AS ${options.position} FROM ${options.train}`,
  );
  const reservoir = new Reservoir<number>(options.k, createSeededRandom(options.seed));
  for await (const chunk of streamChunks(
    session,
    `SELECT ${options.position} FROM ${numbered} ORDER BY ${options.position}`,
  )) {
    for (const position of chunk.columns[0] ?? []) reservoir.offer(position as number);
  }
  await session.run(`CREATE OR REPLACE TABLE ${quoteIdentifier(chosen)} (position BIGINT)`);
  const appender = await session.connection.createAppender(chosen);
  for (const position of reservoir.sample()) {
    appender.appendBigInt(BigInt(position));
    appender.endRow();
  }
  appender.closeSync();
  await session.run(
    `CREATE TEMP TABLE ${options.picked} AS SELECT ${hashes} FROM ${numbered} WHERE ${options.position} IN (SELECT position FROM ${quoteIdentifier(chosen)})`,
  );
  await session.run(`DROP TABLE ${numbered}`);
  await session.run(`DROP TABLE ${quoteIdentifier(chosen)}`);
  const on = options.hashColumns.map((c) => `h.${c} = p.${c}`).join(' AND ');
  await session.run(
    `CREATE TEMP VIEW ${options.output} AS SELECT ${options.kept}, 0 AS ${options.copy} FROM ${options.train} AS h SEMI JOIN ${options.picked} AS p ON ${on}`,
  );
}
