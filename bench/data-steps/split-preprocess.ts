import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PreprocessConfig, SamplingConfig } from '../../contracts/stage-config';
import { quoteStringLiteral, valueSourceOf } from '../../lib/data/column-values';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { quoteIdentifier } from '../../lib/data/identifiers';
import { fitPreprocessor } from '../../lib/data/preprocessor';
import { sampleTrainRows, type SamplingSettings } from '../../lib/data/sampling';
import { splitRows } from '../../lib/data/split';
import { openSplitBatches } from '../../lib/data/split-batches';
import type { SplitStrategy } from '../../lib/data/split-plan';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { formatTable, median, round, trackPeakRss, type BenchRow } from '../harness';
import type { TaskType } from '../../contracts/pipeline-input';

export interface SplitPreprocessBenchOptions {
  labelColumn: string;
  taskType: TaskType;
  /** Default: stratified for classification, random for regression. */
  strategy?: SplitStrategy;
  timeColumn?: string;
  /** Default: undersample to 1:1 for classification, uniform 50% for regression. */
  sampling?: Partial<SamplingSettings>;
  seed?: number;
  /** Also stream the train split through openSplitBatches + encodeColumns, plain and shuffled. Default true. */
  measureBatches?: boolean;
  batchSize?: number;
  /** Run every step this many times and report the median seconds (and the spread in `detail`). Default 1. */
  repeats?: number;
}

/**
 * Times splitAndSample's and fitPreprocessor's cores on a table already loaded in `session` (part A's
 * `npm run bench -- data` loads the 10M × 20 dataset and calls this): dedup + split, sampling the train
 * split, writing the three Parquet files, fitting the preprocessor on the train Parquet, and — the
 * training input path — streaming the train split as encoded batches, unshuffled and shuffled.
 * One row per step: rows in, seconds, rows/s, peak RSS growth of this process.
 */
export async function measureSplitAndPreprocess(
  session: DuckDbSession,
  table: string,
  opts: SplitPreprocessBenchOptions,
): Promise<BenchRow[]> {
  const repeats = Math.max(1, opts.repeats ?? 1);
  const runs: BenchRow[][] = [];
  for (let i = 0; i < repeats; i += 1) runs.push(await measureOnce(session, table, opts));
  if (repeats === 1) return runs[0] as BenchRow[];
  return (runs[0] as BenchRow[]).map((first, step) => {
    const seconds = runs.map((run) => Number(run[step]?.seconds));
    const mid = median(seconds);
    return {
      ...first,
      seconds: round(mid, 2),
      rowsPerSecond: Math.round(Number(first.rows) / mid),
      peakRssMiB: Math.max(...runs.map((run) => Number(run[step]?.peakRssMiB))),
      detail: `${String(first.detail)}; median of ${repeats} (${round(Math.min(...seconds), 2)}–${round(Math.max(...seconds), 2)} s)`,
    };
  });
}

async function measureOnce(
  session: DuckDbSession,
  table: string,
  opts: SplitPreprocessBenchOptions,
): Promise<BenchRow[]> {
  const described = await session.all<{ column_name: string; column_type: string }>(`DESCRIBE ${table}`);
  const columns = described.map((c) => ({
    name: c.column_name,
    duckdbType: c.column_type,
    source: valueSourceOf(c.column_type),
  }));
  const inputRows = (await session.all<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n ?? 0;
  const classification = opts.taskType !== 'regression';
  const strategy = opts.strategy ?? (opts.timeColumn ? 'time' : classification ? 'stratified' : 'random');
  const sampling = SamplingConfig.parse(
    opts.sampling ??
      (classification ? { strategy: 'undersample', targetRatio: 1 } : { strategy: 'uniform', fraction: 0.5 }),
  );
  const seed = opts.seed ?? 42;
  const rows: BenchRow[] = [];
  const directory = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-split-'));

  const measure = async <T>(
    step: string,
    rowsIn: number,
    run: () => Promise<T>,
    detail: (result: T) => string = () => '',
  ): Promise<T> => {
    const rss = trackPeakRss();
    const started = performance.now();
    const result = await run();
    const seconds = (performance.now() - started) / 1000;
    const memory = rss.stop();
    rows.push({
      step,
      rows: rowsIn,
      seconds: round(seconds, 2),
      rowsPerSecond: Math.round(rowsIn / seconds),
      peakRssMiB: Math.round(memory.peakBytes / 2 ** 20),
      detail: detail(result),
    });
    return result;
  };

  try {
    const split = await measure(
      `dedup + ${strategy} split`,
      inputRows,
      () =>
        splitRows(session, {
          table,
          columns,
          labelColumn: opts.labelColumn,
          strategy,
          fractions: { train: 0.7, validation: 0.15, test: 0.15 },
          seed,
          ...(opts.timeColumn ? { timeColumn: opts.timeColumn } : {}),
        }),
      (s) =>
        `${s.duplicateRows} duplicates; train ${s.rows.train}, validation ${s.rows.validation}, test ${s.rows.test}`,
    );
    const sampled = await measure(
      `sample train (${sampling.strategy})`,
      split.rows.train,
      () =>
        sampleTrainRows(session, {
          split,
          columns,
          labelColumn: opts.labelColumn,
          taskType: opts.taskType,
          sampling,
          seed,
        }),
      (s) => `${s.rowsBefore} → ${s.rowsAfter} rows`,
    );

    const data = columns.map((c) => quoteIdentifier(c.name)).join(', ');
    const files = {
      train: path.join(directory, 'train.parquet'),
      validation: path.join(directory, 'validation.parquet'),
      test: path.join(directory, 'test.parquet'),
    };
    await measure(
      'write splits (Parquet, hash order)',
      sampled.rowsAfter + split.rows.validation + split.rows.test,
      async () => {
        await session.run(
          `COPY (SELECT ${data} FROM ${sampled.table} ORDER BY ${sampled.orderBy}) TO ${quoteStringLiteral(files.train)} (FORMAT PARQUET)`,
        );
        for (const name of ['validation', 'test'] as const) {
          await session.run(
            `COPY (SELECT ${data} FROM ${split.table} WHERE ${split.splitColumn} = '${name}' ORDER BY ${split.orderBy}) TO ${quoteStringLiteral(files[name])} (FORMAT PARQUET)`,
          );
        }
        return (await stat(files.train)).size;
      },
      (trainBytes) => `train.parquet ${Math.round(trainBytes / 2 ** 20)} MiB`,
    );

    const trainColumns = (
      await session.all<{ column_name: string; column_type: string }>('DESCRIBE SELECT * FROM read_parquet($1)', [
        files.train,
      ])
    ).map((c) => ({
      name: c.column_name,
      duckdbType: c.column_type,
    }));
    const spec = await measure(
      'fit preprocessor (train Parquet)',
      sampled.rowsAfter,
      () =>
        fitPreprocessor(session, {
          relation: 'read_parquet($1)',
          relationParams: [files.train],
          columns: trainColumns,
          labelColumn: opts.labelColumn,
          taskType: opts.taskType,
          config: PreprocessConfig.parse({}),
        }),
      (s) =>
        `${s.features.length} columns → ${s.featureCount} features (${s.features.filter((f) => f.kind === 'hashed').length} hashed)`,
    );

    if (opts.measureBatches ?? true) {
      const store = new FsArtifactStore(path.join(directory, 'store'));
      await store.ensureReady();
      const put = await store.putFile('bench/train.parquet', files.train);
      const pre = await store.put('bench/preprocessor.json', JSON.stringify(spec));
      const source = await openSplitBatches(
        store,
        { kind: 'split', uri: put.uri, sha256: put.sha256, bytes: put.bytes },
        { kind: 'preprocessor', uri: pre.uri, sha256: pre.sha256, bytes: pre.bytes },
      );
      try {
        const batchSize = opts.batchSize ?? 1024;
        for (const shuffleSeed of [undefined, 1]) {
          await measure(
            `stream + encode train batches (${shuffleSeed === undefined ? 'file order' : 'shuffled'})`,
            source.rows,
            async () => {
              let n = 0;
              for await (const batch of source.batches(batchSize, shuffleSeed === undefined ? {} : { shuffleSeed }))
                n += batch.rows;
              if (n !== source.rows) throw new Error(`streamed ${n} of ${source.rows} rows`);
            },
            () => `batch ${batchSize} × ${spec.featureCount} features`,
          );
        }
      } finally {
        await source.close();
      }
    }
    return rows;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * A generated table like the data suite's: `rows` × 20 columns — 12 numeric (5% missing in four),
 * 4 low-cardinality categoricals, one 60-value categorical (hashed), one ~100k-value id (hashed), a
 * date, and an 80/20 binary label — with 1% exact duplicate rows.
 */
export async function createBenchTable(session: DuckDbSession, table: string, rows: number): Promise<void> {
  const numeric = Array.from({ length: 12 }, (_, i) => {
    const value = `(hash(i, ${i}) % 100000)::DOUBLE / 1000.0 + ${i}`;
    return i < 4 ? `CASE WHEN hash(i, ${i}, 'm') % 20 = 0 THEN NULL ELSE ${value} END AS n${i}` : `${value} AS n${i}`;
  });
  const categorical = [3, 5, 8, 12].map((k, i) => `'c' || (hash(i, 'c${i}') % ${k})::VARCHAR AS c${i}`);
  await session.run(
    `CREATE OR REPLACE TABLE ${quoteIdentifier(table)} AS
     SELECT ${[
       ...numeric,
       ...categorical,
       `'g' || (hash(i, 'g') % 60)::VARCHAR AS g60`,
       `'u' || (hash(i, 'u') % 100000)::VARCHAR AS user_id`,
       `DATE '2015-01-01' + (i % 3000)::INTEGER AS day`,
       `CASE WHEN hash(i, 'y') % 5 = 0 THEN 'yes' ELSE 'no' END AS label`,
     ].join(',\n            ')}
     FROM (SELECT CASE WHEN range % 100 = 99 THEN range - 1 ELSE range END AS i FROM range($1))`,
    [rows],
  );
}

async function main(): Promise<void> {
  const argument = (name: string, fallback: number) => {
    const found = process.argv.find((a) => a.startsWith(`--${name}=`));
    return found ? Number(found.slice(name.length + 3)) : fallback;
  };
  const rowCount = argument('rows', 1_000_000);
  const repeats = argument('repeats', 1);
  const session = await openDuckDb();
  try {
    const started = performance.now();
    await createBenchTable(session, 'bench', rowCount);
    console.log(`generated ${rowCount} rows × 20 columns in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const rows = await measureSplitAndPreprocess(session, quoteIdentifier('bench'), {
      labelColumn: 'label',
      taskType: 'binary',
      repeats,
    });
    console.log(formatTable(rows));
    const seconds = (prefix: string) => Number(rows.find((r) => String(r.step).startsWith(prefix))?.seconds);
    const plain = seconds('stream + encode train batches (file order)');
    const shuffled = seconds('stream + encode train batches (shuffled)');
    console.log(
      `- shuffleSeed costs ${round(shuffled / plain, 2)}× the unshuffled pass (${shuffled} s vs ${plain} s, same run)`,
    );
  } finally {
    await session.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
