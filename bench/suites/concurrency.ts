import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { loadConfig } from '../../lib/config';
import { createArtifactStore } from '../../lib/store/create-store';
import { readState } from '../../scripts/dev/processes';
import { resolveDevOptions } from '../../scripts/dev/dev-options';
import { stateFile } from '../../scripts/dev/services';
import { publicDatasetPath } from '../../test/support/public-data';
import { startWorkerProcess, type WorkerProcess } from '../../test/support/worker-process';
import { median, round, type BenchRow, type Suite } from '../harness';
import { sampleProcesses, type UsageWindow } from '../proc-sampler';

const BATCH_SIZES = (process.env.BENCH_CONCURRENCY_RUNS ?? '1,5,20').split(',').map(Number);
const TWO_WORKER_RUNS = Math.max(...BATCH_SIZES);
const EPOCHS = Number(process.env.BENCH_CONCURRENCY_EPOCHS ?? 5);
const BATCH_TIMEOUT_MS = 15 * 60_000;
const TARGET_THROUGHPUT_RATIO = 1.6;
/** Activity slots of the comparison worker (TRAINYARD_MAX_CONCURRENT_ACTIVITIES); the SDK's default is 100. */
const SLOTS = Number(process.env.BENCH_CONCURRENCY_SLOTS ?? 4);
const DEFAULT_SLOTS = 100;
const MiB = 1024 * 1024;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One run, read back from its history: server timestamps, per-stage execution, who ran what. */
interface RunReading {
  workflowId: string;
  completed: boolean;
  outcome?: string;
  error?: string;
  startMs: number;
  closeMs: number;
  /** Activity execution (started → closed) per activity type. */
  activityMs: Record<string, number>;
  /** Longest wait in the task queue (scheduled → started) of any of its activities. */
  maxQueueMs: number;
  /** Attempts beyond the first, over all activities (a heartbeat timeout under load shows here). */
  retries: number;
  /** Why an activity needed another attempt: "<activity>: <last failure's first line>". */
  retryReasons: string[];
  /** The training loop alone, as the train activity reports it (without thread start-up and saving). */
  trainLoopMs?: number;
  /** Activity tasks per worker identity. */
  activitiesByWorker: Record<string, number>;
}

function eventMs(e: HistoryEvent | undefined): number {
  const t = e?.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : Number.NaN;
}

export function readRun(workflowId: string, events: HistoryEvent[], result: PromiseSettledResult<unknown>): RunReading {
  const scheduled = new Map<number, { type: string; atMs: number }>();
  const started = new Map<number, { atMs: number }>();
  const reading: RunReading = {
    workflowId,
    completed: result.status === 'fulfilled',
    startMs: eventMs(events[0]),
    closeMs: eventMs(events.at(-1)),
    activityMs: {},
    maxQueueMs: 0,
    retries: 0,
    retryReasons: [],
    activitiesByWorker: {},
  };
  if (result.status === 'fulfilled') reading.outcome = (result.value as { outcome?: string }).outcome;
  else
    reading.error =
      result.reason instanceof Error
        ? `${result.reason.message}${result.reason.cause instanceof Error ? `: ${result.reason.cause.message}` : ''}`
        : String(result.reason);
  for (const e of events) {
    const id = Number(e.eventId);
    if (e.activityTaskScheduledEventAttributes)
      scheduled.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', atMs: eventMs(e) });
    const start = e.activityTaskStartedEventAttributes;
    if (start) {
      started.set(Number(start.scheduledEventId), { atMs: eventMs(e) });
      reading.retries += Math.max(0, (start.attempt ?? 1) - 1);
      const lastFailure = start.lastFailure?.message?.split('\n')[0];
      if (lastFailure)
        reading.retryReasons.push(`${scheduled.get(Number(start.scheduledEventId))?.type ?? '?'}: ${lastFailure}`);
      const worker = start.identity ?? '?';
      reading.activitiesByWorker[worker] = (reading.activitiesByWorker[worker] ?? 0) + 1;
    }
    const closedScheduledId =
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId;
    if (closedScheduledId === undefined || closedScheduledId === null) continue;
    const s = scheduled.get(Number(closedScheduledId));
    const st = started.get(Number(closedScheduledId));
    if (!s || !st) continue;
    reading.activityMs[s.type] = (reading.activityMs[s.type] ?? 0) + eventMs(e) - st.atMs;
    reading.maxQueueMs = Math.max(reading.maxQueueMs, st.atMs - s.atMs);
    const payload = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    if (s.type === 'train' && payload)
      reading.trainLoopMs = defaultPayloadConverter.fromPayload<{ trainMs?: number }>(payload).trainMs;
  }
  return reading;
}

/** Settles every promise, or gives up on the stragglers after `timeoutMs` (they count as failed). */
async function settleWithin<T>(promises: Promise<T>[], timeoutMs: number): Promise<PromiseSettledResult<T>[]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not finished within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.allSettled(promises.map((p) => Promise.race([p, deadline])));
  } finally {
    clearTimeout(timer);
  }
}

interface BatchContext {
  client: Client;
  taskQueue: string;
  datasetUri: string;
  /** Processes sampled during the batch: the workers, and the dev services when they are ours. */
  pids: Record<string, number>;
  tag: string;
  /** The workers' TRAINYARD_MAX_CONCURRENT_ACTIVITIES; undefined: the SDK's default. */
  activitySlots?: number;
}

interface BatchReading {
  label: string;
  workers: number;
  activitySlots: number;
  runs: RunReading[];
  usage: UsageWindow;
  loadAverage1m: number;
}

/** Starts `runs` pipelines at once (unique workflow ids and model names), waits for all of them. */
async function runBatch(ctx: BatchContext, label: string, workers: number, runs: number): Promise<BatchReading> {
  const loadAverage1m = os.loadavg()[0] ?? Number.NaN;
  const sampler = sampleProcesses(ctx.pids);
  const handles: WorkflowHandle[] = await Promise.all(
    Array.from({ length: runs }, (_, i) => {
      const id = `bench-concurrency-${ctx.tag}-${label}-${i}`;
      return ctx.client.workflow.start('trainingPipeline', {
        taskQueue: ctx.taskQueue,
        workflowId: id,
        args: [
          {
            model: id,
            dataset: { uri: ctx.datasetUri },
            task: { type: 'multiclass', label: 'Species' },
            train: { model: 'mlp', epochs: EPOCHS, hiddenLayers: [8] },
          },
        ],
      });
    }),
  );
  const results = await settleWithin(
    handles.map((h) => h.result()),
    BATCH_TIMEOUT_MS,
  );
  const usage = await sampler.stop();
  await Promise.all(
    handles.map((h, i) =>
      results[i]?.status === 'rejected' ? h.terminate('bench batch timed out').catch(() => {}) : undefined,
    ),
  );
  const readings = await Promise.all(
    handles.map(async (h, i) =>
      readRun(h.workflowId, (await h.fetchHistory()).events ?? [], results[i] as PromiseSettledResult<unknown>),
    ),
  );
  return { label, workers, activitySlots: ctx.activitySlots ?? DEFAULT_SLOTS, runs: readings, usage, loadAverage1m };
}

function workerNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `worker${i + 1}`);
}

function summarize(b: BatchReading): BenchRow & { throughputPerMinute: number } {
  const wallMs = Math.max(...b.runs.map((r) => r.closeMs)) - Math.min(...b.runs.map((r) => r.startMs));
  const names = workerNames(b.workers);
  const workerUsage = names.map((n) => b.usage.processes[n]);
  const workerCpuMs = workerUsage.reduce((sum, u) => sum + (u?.cpuMs ?? 0), 0);
  const activitiesByWorker = new Map<string, number>();
  for (const r of b.runs)
    for (const [w, n] of Object.entries(r.activitiesByWorker))
      activitiesByWorker.set(w, (activitiesByWorker.get(w) ?? 0) + n);
  const throughputPerMinute = b.runs.length / (wallMs / 60_000);
  const trainLoops = b.runs.flatMap((r) => (r.trainLoopMs === undefined ? [] : [r.trainLoopMs]));
  return {
    batch: b.label,
    workers: b.workers,
    'activity slots': b.activitySlots,
    runs: b.runs.length,
    'wall s': round(wallMs / 1000, 1),
    'pipelines/min': round(throughputPerMinute, 1),
    'median run s': round(median(b.runs.map((r) => r.closeMs - r.startMs)) / 1000, 1),
    'max run s': round(Math.max(...b.runs.map((r) => r.closeMs - r.startMs)) / 1000, 1),
    'median train activity s': round(median(b.runs.map((r) => r.activityMs.train ?? Number.NaN)) / 1000, 1),
    'median train loop s': round(median(trainLoops) / 1000, 1),
    'max queue wait s': round(Math.max(...b.runs.map((r) => r.maxQueueMs)) / 1000, 1),
    failures: b.runs.filter((r) => !r.completed).length,
    'activity retries': b.runs.reduce((sum, r) => sum + r.retries, 0),
    'worker peak RSS MiB': workerUsage.map((u) => round((u?.peakRssBytes ?? 0) / MiB, 0)).join(' / '),
    'worker peak threads': workerUsage.map((u) => u?.peakThreads ?? 0).join(' / '),
    'worker CPU s': round(workerCpuMs / 1000, 1),
    'worker CPU s/run': round(workerCpuMs / 1000 / b.runs.length, 2),
    'activities per worker': [...activitiesByWorker.values()].sort((x, y) => y - x).join(' / '),
    'temporal+minio CPU s': round(
      ((b.usage.processes.temporal?.cpuMs ?? 0) + (b.usage.processes.minio?.cpuMs ?? 0)) / 1000,
      1,
    ),
    'machine busy %': round(b.usage.machineBusy * 100, 0),
    'load 1m at start': round(b.loadAverage1m, 2),
    throughputPerMinute,
  };
}

async function devServicePids(): Promise<Record<string, number>> {
  const options = resolveDevOptions();
  const pids: Record<string, number> = {};
  for (const service of ['temporal', 'minio'] as const) {
    const state = await readState(stateFile(options, service)).catch(() => undefined);
    if (state) pids[service] = state.pid;
  }
  return pids;
}

/** Worker processes on one task queue; `activitySlots` undefined: the SDK's default (100). */
async function startWorkers(taskQueue: string, count: number, activitySlots?: number): Promise<WorkerProcess[]> {
  const env = { TRAINYARD_MAX_CONCURRENT_ACTIVITIES: activitySlots === undefined ? undefined : String(activitySlots) };
  const workers = Array.from({ length: count }, () => startWorkerProcess(taskQueue, env));
  await Promise.all(workers.map((w) => w.ready));
  return workers;
}

/** Where the workers' CPU went and how much of the machine they and the services used. */
function describeCpu(b: BatchReading | undefined): string {
  if (!b) return '';
  const wallS = b.usage.seconds;
  const workers = Object.entries(b.usage.processes)
    .filter(([name]) => name.startsWith('worker'))
    .map(([, usage]) => usage);
  const workerMs = workers.reduce((sum, w) => sum + w.cpuMs, 0);
  const servicesMs = (b.usage.processes.temporal?.cpuMs ?? 0) + (b.usage.processes.minio?.cpuMs ?? 0);
  const byThread = new Map<string, number>();
  for (const w of workers)
    for (const [thread, ms] of Object.entries(w.cpuMsByThread)) byThread.set(thread, (byThread.get(thread) ?? 0) + ms);
  const split = [...byThread]
    .filter(([, ms]) => ms >= 100)
    .map(([thread, ms]) => `${thread} ${round(ms / 1000, 1)} s`)
    .join(', ');
  return (
    `${b.label}: over ${round(wallS, 1)} s the worker${workers.length > 1 ? 's' : ''} used ${round(workerMs / 1000 / wallS, 2)} cores and Temporal + MinIO ${round(servicesMs / 1000 / wallS, 2)} of ${os.cpus().length}; ` +
    `all cores were ${round(b.usage.machineBusy * 100, 0)}% busy. Worker CPU by thread: ${split} ` +
    '("node (pre-existing)" = V8 platform threads (GC and compilation for every isolate, training threads included) and the libuv pool, where DuckDB queries run).'
  );
}

const suite: Suite = {
  description: `N = ${BATCH_SIZES.join(', ')} trainingPipeline runs at once (penguins, ${EPOCHS} epochs) on one worker process, then ${TWO_WORKER_RUNS} on two, then ${TWO_WORKER_RUNS} on one worker with ${SLOTS} activity slots: completion time, failures, worker RSS and CPU, throughput ratio`,
  async run() {
    const config = loadConfig();
    const store = createArtifactStore(config.store);
    await store.ensureReady();
    const tag = randomUUID().slice(0, 6);
    const key = `bench/concurrency-${tag}/datasets/penguins.json`;
    await store.put(key, await readFile(publicDatasetPath('penguins.json')));
    const connection = await Connection.connect({ address: config.temporal.address });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const services = await devServicePids();
    const loadAtStart = os.loadavg();
    const batches: BatchReading[] = [];
    const warmUps: BatchReading[] = [];
    const workers: WorkerProcess[] = [];
    const ctx = (taskQueue: string, activitySlots?: number): BatchContext => ({
      client,
      taskQueue,
      datasetUri: store.uriFor(key),
      tag,
      activitySlots,
      pids: { ...services, ...Object.fromEntries(workers.map((w, i) => [`worker${i + 1}`, w.child.pid as number])) },
    });
    try {
      // Warm-ups (not in the table) so measured runs do not pay JIT and first-connection costs. Runs stick
      // to the worker that took their first workflow task (the dev server dispatches activities eagerly),
      // so the two-worker warm-up starts several runs to reach both workers.
      const queue = `bench-concurrency-${tag}`;
      workers.push(...(await startWorkers(queue, 1)));
      warmUps.push(await runBatch(ctx(queue), 'warmup-1w', 1, 1));
      for (const n of BATCH_SIZES) batches.push(await runBatch(ctx(queue), `1w-n${n}`, 1, n));

      workers.push(...(await startWorkers(queue, 1)));
      warmUps.push(await runBatch(ctx(queue), 'warmup-2w', 2, 4));
      batches.push(await runBatch(ctx(queue), `2w-n${TWO_WORKER_RUNS}`, 2, TWO_WORKER_RUNS));

      // One worker again, so background load that changed meanwhile shows instead of skewing the ratio.
      await workers.pop()?.kill('SIGTERM');
      batches.push(await runBatch(ctx(queue), `1w-n${TWO_WORKER_RUNS}-again`, 1, TWO_WORKER_RUNS));

      // The same load on a fresh worker with few activity slots (TRAINYARD_MAX_CONCURRENT_ACTIVITIES).
      await workers.pop()?.kill('SIGTERM');
      const slotsQueue = `${queue}-slots${SLOTS}`;
      workers.push(...(await startWorkers(slotsQueue, 1, SLOTS)));
      warmUps.push(await runBatch(ctx(slotsQueue, SLOTS), `warmup-1w-slots${SLOTS}`, 1, 1));
      batches.push(await runBatch(ctx(slotsQueue, SLOTS), `1w-n${TWO_WORKER_RUNS}-slots${SLOTS}`, 1, TWO_WORKER_RUNS));
    } finally {
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
      await connection.close();
    }

    const summaries = batches.map(summarize);
    const defaultSlots = summaries.filter((s) => s['activity slots'] === DEFAULT_SLOTS);
    const oneWorker = defaultSlots.filter((s) => s.workers === 1 && s.runs === TWO_WORKER_RUNS);
    const twoWorkers = defaultSlots.find((s) => s.workers === 2);
    const limited = summaries.find((s) => s['activity slots'] === SLOTS);
    const oneWorkerThroughput = median(oneWorker.map((s) => s.throughputPerMinute));
    const ratio = (twoWorkers?.throughputPerMinute ?? Number.NaN) / oneWorkerThroughput;
    const runs = batches.flatMap((b) => b.runs);
    const failures = runs.filter((r) => !r.completed);
    const retryReasons = new Map<string, number>();
    for (const reason of runs.flatMap((r) => r.retryReasons))
      retryReasons.set(reason, (retryReasons.get(reason) ?? 0) + 1);
    const single = batches.find((b) => b.label === '1w-n1');
    const singleTrain = single?.runs[0];

    const notes = [
      `throughput ratio, 2 workers ÷ 1 worker at N=${TWO_WORKER_RUNS}: ${round(ratio, 2)}× (1 worker: ${oneWorker.map((s) => round(s.throughputPerMinute, 1)).join(' and ')} pipelines/min, median ${round(oneWorkerThroughput, 1)}; 2 workers: ${round(twoWorkers?.throughputPerMinute ?? Number.NaN, 1)}) — target ≥ ${TARGET_THROUGHPUT_RATIO}× ${ratio >= TARGET_THROUGHPUT_RATIO ? 'met' : 'MISSED'}`,
      `failures: ${failures.length} of ${runs.length} runs (target 0)${failures.length ? `: ${failures.map((f) => `${f.workflowId}: ${f.error}`).join('; ')}` : ''}; activity retries: ${[...retryReasons].map(([reason, n]) => `${n} × ${reason}`).join('; ') || 'none'}`,
      `${SLOTS} activity slots vs the SDK default (${DEFAULT_SLOTS}) at N=${TWO_WORKER_RUNS} on one worker: peak RSS ${limited?.['worker peak RSS MiB']} vs ${oneWorker.map((s) => s['worker peak RSS MiB']).join(' and ')} MiB, ${round(limited?.throughputPerMinute ?? Number.NaN, 1)} vs ${oneWorker.map((s) => round(s.throughputPerMinute, 1)).join(' and ')} pipelines/min`,
      describeCpu(batches.find((b) => b.label === `1w-n${TWO_WORKER_RUNS}`)),
      describeCpu(batches.find((b) => b.workers === 2)),
      singleTrain
        ? `a lone run's train activity takes ${round((singleTrain.activityMs.train ?? Number.NaN) / 1000, 2)} s, of which the training loop ${round((singleTrain.trainLoopMs ?? Number.NaN) / 1000, 2)} s: the rest is the training thread's start-up (tsx, tfjs + wasm, DuckDB), reading the splits and saving the model.`
        : '',
      `${os.cpus().length} cores shared with other processes; load average at start ${loadAtStart.map((l) => round(l, 2)).join(' ')}. "machine busy %" is all cores, every process (the workers, Temporal, MinIO, this client, anything else running).`,
      'every run has its own workflow id and model name, so the registry never serialises them; wall = first run started → last run closed (server event times); run = its own start → close; queue wait = an activity scheduled → started (includes earlier failed attempts).',
    ].filter(Boolean);
    return {
      rows: summaries.map(({ throughputPerMinute: _, ...row }) => row),
      notes,
      meta: {
        epochs: EPOCHS,
        batchSizes: BATCH_SIZES,
        activitySlots: SLOTS,
        loadAverageAtStart: loadAtStart,
        throughputRatio: ratio,
        batches: [...warmUps, ...batches].map((b) => ({
          label: b.label,
          workers: b.workers,
          activitySlots: b.activitySlots,
          usage: b.usage,
          runs: b.runs,
        })),
      },
    };
  },
};

export default suite;
