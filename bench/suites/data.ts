import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { validateDataActivity } from '../../activities/validate-data';
import { PipelineInput } from '../../contracts/pipeline-input';
import type { ValidateDataResult } from '../../contracts/stage-results';
import { loadConfig } from '../../lib/config';
import { detectAnomalies } from '../../lib/data/anomalies';
import { loadDataset } from '../../lib/data/dataset';
import { openDuckDb } from '../../lib/data/duckdb';
import { materializeDataset } from '../../lib/data/materialize';
import { inferSchema } from '../../lib/data/schema';
import { computeStatistics, DEFAULT_HISTOGRAM_BINS, QUANTILES } from '../../lib/data/statistics';
import { createLogger } from '../../lib/logger';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { measureSplitAndPreprocess } from '../data-steps/split-preprocess';
import { round, trackPeakRss, type BenchRow, type Suite } from '../harness';

const execFileAsync = promisify(execFile);
const MiB = 2 ** 20;
const DATASET_VERSION = 'v1';
const TARGET_ROWS_PER_SECOND = 2_000_000;
const TARGET_SPEEDUP = 5;
const TARGET_RSS_MIB = 2048;

function rowCountFromArgs(): number {
  const arg = process.argv.find((a) => a.startsWith('--rows='));
  const raw = arg ? arg.slice('--rows='.length) : (process.env.BENCH_DATA_ROWS ?? '10000000');
  const rows = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(rows) || rows < 1000)
    throw new Error(`--rows / BENCH_DATA_ROWS must be an integer ≥ 1000, got ${raw}`);
  return rows;
}

interface Measured<T> {
  value: T;
  seconds: number;
  peakRssMiB: number;
}

async function measure<T>(run: () => Promise<T>): Promise<Measured<T>> {
  const rss = trackPeakRss(10);
  const started = performance.now();
  const value = await run();
  const seconds = (performance.now() - started) / 1000;
  return { value, seconds, peakRssMiB: Math.round(rss.stop().peakBytes / MiB) };
}

function row(step: string, rows: number, m: Measured<unknown>, detail = ''): BenchRow {
  console.error(`  ${step.trim()}: ${rows} rows in ${m.seconds.toFixed(2)} s, peak RSS ${m.peakRssMiB} MiB`);
  return {
    step,
    rows,
    seconds: round(m.seconds, 2),
    rowsPerSecond: Math.round(rows / m.seconds),
    peakRssMiB: m.peakRssMiB,
    detail,
  };
}

/** The generated dataset in the store, made once per size (in a child process, so its memory is not ours). */
async function ensureDataset(
  store: ArtifactStore,
  rows: number,
  baselineRows: number,
): Promise<{ parquetUri: string; csvUri: string; parquetBytes: number; generatedSeconds?: number }> {
  const parquetKey = `bench/data/${DATASET_VERSION}-${rows}x20.parquet`;
  const csvKey = `bench/data/${DATASET_VERSION}-${rows}x20-first-${baselineRows}.csv`;
  const [parquet, csv] = await Promise.all([store.stat(parquetKey), store.stat(csvKey)]);
  if (parquet && csv) return { parquetUri: parquet.uri, csvUri: csv.uri, parquetBytes: parquet.bytes };
  const directory = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-data-'));
  try {
    const started = performance.now();
    const parquetPath = path.join(directory, 'data.parquet');
    const csvPath = path.join(directory, 'data.csv');
    const script = path.resolve('bench/data-steps/generate-dataset.ts');
    await execFileAsync(
      process.execPath,
      ['--import', 'tsx', script, String(rows), parquetPath, String(baselineRows), csvPath],
      { maxBuffer: 16 * MiB },
    );
    const put = await store.putFile(parquetKey, parquetPath);
    const csvPut = await store.putFile(csvKey, csvPath);
    return {
      parquetUri: put.uri,
      csvUri: csvPut.uri,
      parquetBytes: put.bytes,
      generatedSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function runValidateData(store: ArtifactStore, uri: string): Promise<ValidateDataResult> {
  const input = PipelineInput.parse({
    model: 'bench-data',
    dataset: { uri },
    task: { type: 'binary', label: 'label' },
  });
  const env = new MockActivityEnvironment({
    workflowExecution: { workflowId: `bench-${randomUUID().slice(0, 8)}`, runId: 'bench' },
  } as never);
  const activity = validateDataActivity({ store, logger: createLogger({ level: 'warn', format: 'json' }) });
  return (await env.run(activity, { input, dataset: { uri, sha256: '0'.repeat(64), bytes: 0 } })) as ValidateDataResult;
}

/**
 * The baseline: what one would write without a columnar engine. Stream the CSV from the store, parse
 * each line into a JS object, and update per-column accumulators row by row: count, missing, exact
 * distinct (Set), min/max/mean/std, NaN/Infinity, quantiles (sort), a 20-bin histogram, category
 * counts, duplicate rows (Set of the row), label classes and each numeric column's correlation with
 * the label. (It skips the AUC sample the engine also computes, which favours the baseline.)
 */
async function rowByRowStatistics(
  store: ArtifactStore,
  uri: string,
): Promise<{ rows: number; columns: number; duplicates: number }> {
  const lines = createInterface({ input: await store.get(store.keyFor(uri)), crlfDelay: Infinity });
  let header: string[] | undefined;
  let numericColumns: boolean[] = [];
  type Acc = {
    count: number;
    missing: number;
    distinct: Set<string | number>;
    min: number;
    max: number;
    sum: number;
    sumSq: number;
    nonFinite: number;
    values: number[];
    categories: Map<string, number>;
    sumXY: number;
  };
  let accs: Acc[] = [];
  const seenRows = new Set<string>();
  const labelClasses = new Map<string, number>();
  let labelSum = 0;
  let rows = 0;
  let duplicates = 0;
  for await (const line of lines) {
    if (!header) {
      header = line.split(',');
      continue;
    }
    const cells = line.split(',');
    const record: Record<string, string | number | null> = {};
    header.forEach((name, i) => {
      const cell = cells[i] ?? '';
      if (cell === '') record[name] = null;
      else {
        const n = Number(cell);
        record[name] = Number.isNaN(n) && cell !== 'NaN' ? cell : n;
      }
    });
    if (rows === 0) {
      numericColumns = header.map((name) => typeof record[name] === 'number');
      accs = header.map(() => ({
        count: 0,
        missing: 0,
        distinct: new Set(),
        min: Infinity,
        max: -Infinity,
        sum: 0,
        sumSq: 0,
        nonFinite: 0,
        values: [],
        categories: new Map(),
        sumXY: 0,
      }));
    }
    rows += 1;
    const key = JSON.stringify(record);
    if (seenRows.has(key)) duplicates += 1;
    else seenRows.add(key);
    const label = record.label;
    const y = label === 'yes' ? 1 : 0;
    labelSum += y;
    labelClasses.set(String(label), (labelClasses.get(String(label)) ?? 0) + 1);
    header.forEach((name, i) => {
      const acc = accs[i] as Acc;
      const value = record[name];
      if (value === null || value === undefined) {
        acc.missing += 1;
        return;
      }
      acc.count += 1;
      acc.distinct.add(value);
      if (numericColumns[i] && typeof value === 'number') {
        if (!Number.isFinite(value)) {
          acc.nonFinite += 1;
          return;
        }
        if (value < acc.min) acc.min = value;
        if (value > acc.max) acc.max = value;
        acc.sum += value;
        acc.sumSq += value * value;
        acc.sumXY += value * y;
        acc.values.push(value);
      } else {
        acc.categories.set(String(value), (acc.categories.get(String(value)) ?? 0) + 1);
      }
    });
  }
  // Finishing: quantiles by sorting, histograms, std and correlation, per numeric column.
  accs.forEach((acc, i) => {
    if (!numericColumns[i] || acc.values.length === 0) return;
    acc.values.sort((a, b) => a - b);
    QUANTILES.map((q) => acc.values[Math.min(acc.values.length - 1, Math.floor(q * acc.values.length))]);
    const width = (acc.max - acc.min) / DEFAULT_HISTOGRAM_BINS || 1;
    const counts = new Array<number>(DEFAULT_HISTOGRAM_BINS).fill(0);
    for (const v of acc.values) counts[Math.min(DEFAULT_HISTOGRAM_BINS - 1, Math.floor((v - acc.min) / width))]! += 1;
    const n = acc.values.length;
    const mean = acc.sum / n;
    const variance = acc.sumSq / n - mean * mean;
    const labelMean = labelSum / rows;
    void ((acc.sumXY / n - mean * labelMean) / Math.sqrt(variance * labelMean * (1 - labelMean)));
  });
  return { rows, columns: header?.length ?? 0, duplicates };
}

function vmHwmMiB(): Promise<number> {
  return readFile('/proc/self/status', 'utf8').then(
    (s) => Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0) / 1024),
    () => 0,
  );
}

const suite: Suite = {
  description:
    'validateData end to end (download + DuckDB load + statistics + anomalies + artifacts) on a generated N × 20 Parquet in MinIO, vs a row-by-row JS baseline on 1M rows; then split + sample + preprocess (part B). N = --rows=N or BENCH_DATA_ROWS (default 10M).',
  async run() {
    const rows = rowCountFromArgs();
    const baselineRows = Math.min(1_000_000, rows);
    const config = loadConfig();
    const store = createArtifactStore(config.store);
    await store.ensureReady();
    const dataset = await ensureDataset(store, rows, baselineRows);
    const results: BenchRow[] = [];
    if (dataset.generatedSeconds !== undefined) {
      results.push({
        step: 'generate (DuckDB, child process) + upload',
        rows,
        seconds: round(dataset.generatedSeconds, 2),
        rowsPerSecond: null,
        peakRssMiB: null,
        detail: `Parquet ${Math.round(dataset.parquetBytes / MiB)} MiB`,
      });
    }

    // 1. The headline: the activity itself, first, in a fresh process.
    const endToEnd = await measure(() => runValidateData(store, dataset.parquetUri));
    results.push(
      row(
        'validateData end to end (activity)',
        rows,
        endToEnd,
        `Parquet ${Math.round(dataset.parquetBytes / MiB)} MiB; ${endToEnd.value.warnings.length} warnings`,
      ),
    );

    // 2. Where the time goes, step by step; the loaded table then feeds part B's split + preprocess.
    const session = await openDuckDb();
    try {
      const local = await measure(() => materializeDataset(store, dataset.parquetUri));
      results.push(
        row(
          '  download (stream to temp file)',
          rows,
          local,
          `${round(dataset.parquetBytes / MiB / local.seconds, 0)} MiB/s`,
        ),
      );
      try {
        const table = await measure(() => loadDataset(session, local.value, { label: 'label' }));
        results.push(
          row(`  load (${table.value.relation === 'view' ? 'view over the Parquet file' : 'table'})`, rows, table),
        );
        const statistics = await measure(() => computeStatistics(session, table.value, { task: 'binary', seed: 42 }));
        results.push(row('  statistics (bounds + one fused pass + AUC sample)', rows, statistics));
        const anomalies = await measure(async () =>
          detectAnomalies({
            statistics: statistics.value,
            schema: inferSchema(statistics.value),
            schemaSource: 'inferred',
            config: PipelineInput.parse({
              model: 'x',
              dataset: { uri: dataset.parquetUri },
              task: { type: 'binary', label: 'label' },
            }).validation,
            task: { type: 'binary', label: 'label' },
          }),
        );
        results.push(
          row('  schema + anomalies (pure)', rows, anomalies, `${anomalies.value.anomalies.length} anomalies`),
        );
        for (const partB of await measureSplitAndPreprocess(session, table.value.table, {
          labelColumn: 'label',
          taskType: 'binary',
        })) {
          results.push({ ...partB, step: `split/preprocess: ${String(partB.step)}` });
        }
      } finally {
        await local.value.cleanup();
      }
    } finally {
      await session.close();
    }

    // 3. The baseline (last: its JS heap would inflate the RSS of whatever ran after it), and the
    // engine on the very same CSV.
    const baseline = await measure(() => rowByRowStatistics(store, dataset.csvUri));
    results.push(
      row(
        'baseline: row-by-row JS statistics (CSV)',
        baseline.value.rows,
        baseline,
        `${baseline.value.duplicates} duplicates found`,
      ),
    );
    // The baseline blocks the event loop for seconds at a time; let the HTTP agent notice the
    // keep-alive sockets MinIO closed meanwhile before the next request picks one up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sameCsv = await measure(() => runValidateData(store, dataset.csvUri));
    results.push(row('validateData end to end on the baseline CSV', baselineRows, sameCsv));

    const rowsPerSecond = rows / endToEnd.seconds;
    const baselineRowsPerSecond = baseline.value.rows / baseline.seconds;
    const speedup = rowsPerSecond / baselineRowsPerSecond;
    const sameCsvSpeedup = baselineRows / sameCsv.seconds / baselineRowsPerSecond;
    const hwm = await vmHwmMiB();
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    return {
      rows: results,
      notes: [
        `validation end to end: ${Math.round(rowsPerSecond).toLocaleString('en')} rows/s (target ≥ ${TARGET_ROWS_PER_SECOND.toLocaleString('en')}): ${verdict(rowsPerSecond >= TARGET_ROWS_PER_SECOND)}`,
        `vs row-by-row baseline: ${round(speedup, 1)}× rows/s (target ≥ ${TARGET_SPEEDUP}×): ${verdict(speedup >= TARGET_SPEEDUP)}; on the very same CSV: ${round(sameCsvSpeedup, 1)}×`,
        `peak RSS during validation: ${endToEnd.peakRssMiB} MiB (target ≤ ${TARGET_RSS_MIB}): ${verdict(endToEnd.peakRssMiB <= TARGET_RSS_MIB)}; process high-water mark over the whole suite (VmHWM): ${hwm} MiB`,
        `machine: ${os.cpus().length} cores shared with other work; one run per step (the 10M steps are too heavy to repeat on a shared machine), so treat ±15% as noise`,
      ],
      meta: {
        rows,
        baselineRows,
        parquetBytes: dataset.parquetBytes,
        rowsPerSecond,
        baselineRowsPerSecond,
        speedup,
        sameCsvSpeedup,
        vmHwmMiB: hwm,
      },
    };
  },
};

export default suite;
