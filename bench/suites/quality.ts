import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openDuckDb } from '../../lib/data/duckdb';
import { quoteStringLiteral } from '../../lib/data/column-values';
import { publicDatasetPath } from '../../test/support/public-data';
import { startTestHarness, type TestHarness } from '../../test/support/temporal';
import { firstLine, runPipeline, type PipelineRun } from '../pipeline-run';
import { round, type BenchRow, type Suite } from '../harness';
import type { TaskType } from '../../contracts/pipeline-input';

/** 3m (default), 200k (every 15th row of flights-3m, same columns and time split) or 0 (skip). */
const FLIGHTS = process.env.BENCH_QUALITY_FLIGHTS ?? '3m';
/** Comma-separated dataset names; default: all (flights as BENCH_QUALITY_FLIGHTS says). */
const ONLY = process.env.BENCH_QUALITY_DATASETS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
/** Sets `train.model` for trainyard's run; unset means the default pipeline with no `train` settings. */
const MODEL = process.env.BENCH_QUALITY_MODEL;
const VENV = process.env.BENCH_QUALITY_VENV ?? path.join(os.homedir(), '.cache', 'trainyard', 'bench-venv');
const PEER_PACKAGES = ['scikit-learn', 'pandas', 'pyarrow'];
const FLIGHTS_AUC_FLOOR = 0.63;

type Label = string | { column: string; op: '>' | '=='; value: number | string; name: string };

interface Dataset {
  name: string;
  task: TaskType;
  label: Label;
  /** A file in vega-datasets, or a function writing a local file to upload. */
  file: string | ((dir: string) => Promise<string>);
  exclude?: string[];
  timeColumn?: string;
  /** An absolute floor on the main metric besides the HGB comparison. */
  floor?: number;
}

const delayed: Label = { column: 'delay', op: '>', value: 15, name: 'delayed' };
const ALL: Dataset[] = [
  { name: 'penguins', task: 'multiclass', label: 'Species', file: 'penguins.json' },
  {
    name: 'penguins-male',
    task: 'binary',
    label: { column: 'Sex', op: '==', value: 'MALE', name: 'male' },
    file: 'penguins.json',
  },
  {
    name: 'cars-usa',
    task: 'binary',
    label: { column: 'Origin', op: '==', value: 'USA', name: 'usa' },
    file: 'cars.json',
    exclude: ['Name'],
  },
  { name: 'cars-mpg', task: 'regression', label: 'Miles_per_Gallon', file: 'cars.json', exclude: ['Name'] },
  { name: 'seattle-weather', task: 'multiclass', label: 'weather', file: 'seattle-weather.csv', timeColumn: 'date' },
  {
    name: 'flights-3m',
    task: 'binary',
    label: delayed,
    file: 'flights-3m.parquet',
    timeColumn: 'date',
    floor: FLIGHTS_AUC_FLOOR,
  },
  { name: 'flights-200k', task: 'binary', label: delayed, file: sampleFlights, timeColumn: 'date' },
];
const DATASETS = ALL.filter(
  (d) => (d.name.startsWith('flights-') ? d.name === `flights-${FLIGHTS}` : true) && (!ONLY || ONLY.includes(d.name)),
);

interface Scored {
  metrics: Record<string, number>;
  zeroRule: Record<string, number>;
  wallSeconds: number;
  fitSeconds: number;
  peakRssBytes: number;
  detail?: Record<string, unknown>;
}

const suite: Suite = {
  description: `quality of trainyard's default pipeline${MODEL ? ` (train.model: ${MODEL})` : ''} vs scikit-learn HistGradientBoosting and a linear model on the same splits: ${DATASETS.map((d) => d.name).join(', ')}`,
  async run() {
    const python = await peerPython();
    const h = await startTestHarness();
    const work = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-quality-'));
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    const meta: Record<string, unknown> = { model: MODEL ?? 'default', flights: FLIGHTS, venv: VENV, datasets: {} };
    try {
      for (const dataset of DATASETS) {
        console.error(`quality: ${dataset.name} …`);
        const dir = await mkdtemp(path.join(work, `${dataset.name}-`));
        const ours = await runTrainyard(h, dataset, dir).catch((error: unknown) => ({ error: firstLine(error) }));
        if ('error' in ours) {
          rows.push({ dataset: dataset.name, model: modelName(), 'main metric': `failed: ${ours.error}`, met: false });
          notes.push(`${dataset.name}: trainyard's run failed: ${ours.error}`);
          continue;
        }
        const peers: Record<string, Scored | { error: string }> = {};
        for (const peer of ['hgb', 'linear'] as const) {
          peers[peer] = python.ok
            ? await runPeer(python.path, peer, dataset, ours.splits, dir).catch((error: unknown) => ({
                error: firstLine(error),
              }))
            : { error: python.reason };
        }
        const verdict = judge(dataset, ours, peers.hgb);
        rows.push(row(dataset, modelName(), ours, verdict.target, verdict.met));
        for (const [peer, scored] of Object.entries(peers)) {
          const name = peer === 'hgb' ? 'sklearn HGB' : 'sklearn linear';
          if ('error' in scored) {
            rows.push({ dataset: dataset.name, model: name, 'main metric': `failed: ${scored.error}` });
            continue;
          }
          const beatsZero = notWorseThanZeroRule(dataset.task, scored);
          rows.push(row(dataset, name, scored, zeroRuleTarget(dataset.task), beatsZero));
        }
        notes.push(`${dataset.name}: ${verdict.met ? 'met' : 'MISSED'} — ${verdict.explanation}`);
        (meta.datasets as Record<string, unknown>)[dataset.name] = { trainyard: ours, peers };
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      await h.close();
      await rm(work, { recursive: true, force: true });
    }
    notes.push(
      'trainyard: the whole pipeline through the real Temporal + MinIO (wall s = start to result; fit s = fitPreprocessor + train stages). Peak RSS is the kernel high-water mark of this process (reset per run via /proc/self/clear_refs), which also holds the in-process worker, the Temporal client and the workflow bundle.',
      'sklearn: one Python process per model; wall s = read Parquet + features + fit + predict, fit s = fit only; peak RSS = ru_maxrss of that process, pandas and scikit-learn imports included. HGB: defaults, fitted on train, early-stopped on the validation split. Linear: LogisticRegression / Ridge, fitted on train.',
    );
    if (python.ok) meta.sklearn = python.version;
    else notes.push(`peers not run: ${python.reason}`);
    return { rows, notes, meta };
  },
};

export default suite;

function modelName(): string {
  return MODEL ? `trainyard ${MODEL}` : 'trainyard default';
}

function labelName(label: Label): string {
  return typeof label === 'string' ? label : label.name;
}

async function runTrainyard(h: TestHarness, dataset: Dataset, dir: string): Promise<Scored & PipelineRun> {
  const localFile = typeof dataset.file === 'string' ? publicDatasetPath(dataset.file) : await dataset.file(dir);
  const run = await runPipeline(
    h,
    {
      name: dataset.name,
      task: dataset.task,
      label: dataset.label,
      localFile,
      ...(dataset.exclude ? { exclude: dataset.exclude } : {}),
      ...(dataset.timeColumn ? { timeColumn: dataset.timeColumn } : {}),
      ...(MODEL ? { model: MODEL } : {}),
    },
    dir,
  );
  return { ...run, detail: { outcome: run.outcome, testRows: run.testRows, stages: run.stages } };
}

async function runPeer(
  python: string,
  model: 'hgb' | 'linear',
  dataset: Dataset,
  splits: Record<string, string>,
  dir: string,
): Promise<Scored> {
  const exclude = [...(dataset.exclude ?? []), ...(typeof dataset.label === 'string' ? [] : [dataset.label.column])];
  const specFile = path.join(dir, `${model}.json`);
  await writeFile(
    specFile,
    JSON.stringify({
      model,
      task: dataset.task,
      label: labelName(dataset.label),
      exclude,
      timeColumn: dataset.timeColumn ?? null,
      ...splits,
    }),
  );
  const { stdout } = await promisify(execFile)(python, [path.resolve('bench/peers/sklearn_peer.py'), specFile], {
    maxBuffer: 1 << 24,
    timeout: 60 * 60_000,
  });
  const parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Scored & Record<string, unknown>;
  const { metrics, zeroRule, wallSeconds, fitSeconds, peakRssBytes, ...detail } = parsed;
  return { metrics, zeroRule, wallSeconds, fitSeconds, peakRssBytes, detail };
}

function mainMetric(task: TaskType): string {
  return task === 'binary' ? 'roc_auc' : task === 'multiclass' ? 'accuracy' : 'r2';
}

function lossMetric(task: TaskType): string {
  return task === 'regression' ? 'rmse' : 'log_loss';
}

function notWorseThanZeroRule(task: TaskType, s: Scored): boolean {
  const metric = lossMetric(task);
  return (s.metrics[metric] ?? Number.NaN) <= (s.zeroRule[metric] ?? Number.NaN);
}

function zeroRuleTarget(task: TaskType): string {
  return `${lossMetric(task)} ≤ zero-rule`;
}

/** The issue's targets: close to HistGradientBoosting, above an absolute floor where one is set, never worse than the zero-rule. */
function judge(
  dataset: Dataset,
  ours: Scored,
  hgb: Scored | { error: string } | undefined,
): { target: string; met: boolean; explanation: string } {
  const { task } = dataset;
  const checks: { text: string; ok: boolean; detail: string }[] = [];
  if (hgb && !('error' in hgb)) {
    if (task === 'regression') {
      const bound = hgb.metrics.rmse! * 1.05;
      checks.push({
        text: `rmse ≤ HGB×1.05`,
        ok: ours.metrics.rmse! <= bound,
        detail: `rmse ${fmt(ours.metrics.rmse)} vs HGB ${fmt(hgb.metrics.rmse)} (bound ${fmt(bound)})`,
      });
    } else {
      const metric = mainMetric(task);
      const bound = hgb.metrics[metric]! - 0.01;
      checks.push({
        text: `${metric} ≥ HGB−0.01`,
        ok: ours.metrics[metric]! >= bound,
        detail: `${metric} ${fmt(ours.metrics[metric])} vs HGB ${fmt(hgb.metrics[metric])} (bound ${fmt(bound)})`,
      });
    }
  } else {
    checks.push({ text: 'vs HGB', ok: false, detail: 'no HGB result to compare with' });
  }
  if (dataset.floor !== undefined) {
    const metric = mainMetric(task);
    checks.push({
      text: `${metric} ≥ ${dataset.floor}`,
      ok: ours.metrics[metric]! >= dataset.floor,
      detail: `${metric} ${fmt(ours.metrics[metric])} vs floor ${dataset.floor}`,
    });
  }
  const loss = lossMetric(task);
  checks.push({
    text: zeroRuleTarget(task),
    ok: notWorseThanZeroRule(task, ours),
    detail: `${loss} ${fmt(ours.metrics[loss])} vs zero-rule ${fmt(ours.zeroRule[loss])}`,
  });
  return {
    target: checks.map((c) => c.text).join('; '),
    met: checks.every((c) => c.ok),
    explanation: checks.map((c) => `${c.ok ? 'ok' : 'missed'}: ${c.detail}`).join('; '),
  };
}

function row(dataset: Dataset, model: string, s: Scored, target: string, met: boolean): BenchRow {
  const main = mainMetric(dataset.task);
  const loss = lossMetric(dataset.task);
  return {
    dataset: dataset.name,
    model,
    'main metric': `${main} ${fmt(s.metrics[main])}`,
    'log loss / rmse': fmt(s.metrics[loss]),
    'zero-rule': fmt(s.zeroRule[loss]),
    'wall s': round(s.wallSeconds, 1),
    'fit s': round(s.fitSeconds, 1),
    'peak RSS MB': Math.round(s.peakRssBytes / 2 ** 20),
    target,
    met,
  };
}

function fmt(value: number | undefined): string {
  return value === undefined || value === null || !Number.isFinite(value) ? 'n/a' : value.toFixed(4);
}

/** Every 15th row of flights-3m in time order: about 200,000 rows with the same columns and time split. */
async function sampleFlights(dir: string): Promise<string> {
  const out = path.join(dir, 'flights-200k.parquet');
  const file = publicDatasetPath('flights-3m.parquet');
  const session = await openDuckDb({ allowedDirectories: [path.dirname(file), dir] });
  try {
    const source = quoteStringLiteral(file);
    await session.run(
      `COPY (SELECT * EXCLUDE (n) FROM (SELECT *, row_number() OVER (ORDER BY date, origin, destination, delay, distance) AS n FROM read_parquet(${source})) WHERE n % 15 = 0)
       TO ${quoteStringLiteral(out)} (FORMAT parquet)`,
    );
  } finally {
    await session.close();
  }
  return out;
}

/** The bench's own venv with scikit-learn, created on first use; the product never installs it. */
async function peerPython(): Promise<{ ok: true; path: string; version: string } | { ok: false; reason: string }> {
  const python = path.join(VENV, 'bin', 'python');
  const run = promisify(execFile);
  try {
    if (!existsSync(python)) await run('python3', ['-m', 'venv', VENV]);
    await run(python, ['-c', 'import sklearn, pandas, pyarrow']).catch(async () => {
      console.error(`quality: installing ${PEER_PACKAGES.join(', ')} into ${VENV} …`);
      await run(python, ['-m', 'pip', 'install', '--quiet', ...PEER_PACKAGES], {
        timeout: 20 * 60_000,
        maxBuffer: 1 << 24,
      });
    });
    const { stdout } = await run(python, ['-c', 'import sklearn; print(sklearn.__version__)']);
    console.error(`quality: scikit-learn ${stdout.trim()} in ${VENV}`);
    return { ok: true, path: python, version: stdout.trim() };
  } catch (error) {
    return { ok: false, reason: `could not prepare ${VENV} with ${PEER_PACKAGES.join(', ')}: ${firstLine(error)}` };
  }
}
