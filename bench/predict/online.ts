import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniqueModelName } from '../../test/support/registry-fixtures';
import { PENGUINS_SPECIES, trainVersion, uploadPenguins } from '../../test/support/serving-models';
import { publicDatasetPath } from '../../test/support/public-data';
import { startTestHarness } from '../../test/support/temporal';
import { median, round, type BenchRow } from '../harness';
import { percentile, postLoop, type LoadResult } from './load-loop';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCALE = Number(process.env.BENCH_PREDICT_SCALE ?? 1);
const SEQUENTIAL_ONE_ROW = Math.round(1000 * SCALE);
const SEQUENTIAL_BATCH = Math.round(200 * SCALE);
const SUSTAINED_REQUESTS = Math.round(3000 * SCALE);
/** Floor and serve take turns, ROUNDS times per measure; each figure is the median over the rounds (the machine is shared). */
const ROUNDS = 3;
const SUSTAINED_CONCURRENCY = 16;
const TARGET_P50_OVERHEAD_MS = 1;

interface Server {
  name: string;
  child: ChildProcess;
  url: string;
}

/** Starts a server child process and waits for the URL it prints (serve: its log line; floor: `listening <url>`). */
function startServer(name: string, args: string[]): Promise<Server> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /(?:listening on |listening )(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve({ name, child, url: match[1] as string });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening:\n${output}`)));
  });
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
const CLOCK_TICKS_PER_SECOND = 100;

interface Round {
  p50Ms: number;
  p99Ms: number;
  requestsPerSecond: number;
  errors: number;
  serverCpuUsPerRequest: number;
}

async function measureRound(server: Server, body: string, requests: number, concurrency: number): Promise<Round> {
  const cpuBefore = await cpuSeconds(server.child.pid);
  const result: LoadResult = await postLoop(server.url, body, requests, concurrency);
  const cpuAfter = await cpuSeconds(server.child.pid);
  return {
    p50Ms: percentile(result.latenciesMs, 50),
    p99Ms: percentile(result.latenciesMs, 99),
    requestsPerSecond: (result.requests / result.wallMs) * 1000,
    errors: result.errors,
    serverCpuUsPerRequest: ((cpuAfter - cpuBefore) / requests) * 1e6,
  };
}

function medianOfRounds(rounds: Round[]) {
  const of = (pick: (r: Round) => number) => median(rounds.map(pick));
  return {
    p50Ms: round(
      of((r) => r.p50Ms),
      3,
    ),
    p99Ms: round(
      of((r) => r.p99Ms),
      3,
    ),
    requestsPerSecond: round(
      of((r) => r.requestsPerSecond),
      0,
    ),
    serverCpuUsPerRequest: round(
      of((r) => r.serverCpuUsPerRequest),
      0,
    ),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

/**
 * The online half of `bench predict`: trainyard serve (Fastify) against a bare node:http handler calling the
 * loaded model, for a gbdt and an MLP version of penguins, loopback only, bounded request counts.
 */
export async function benchOnline(): Promise<{ rows: BenchRow[]; notes: string[]; meta: Record<string, unknown> }> {
  const penguins = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as Record<string, unknown>[];
  const rows = penguins.map(({ Species: _label, ...features }) => features);
  const oneRow = JSON.stringify(rows[0]);
  const hundredRows = JSON.stringify(rows.slice(0, 100));

  const h = await startTestHarness();
  const models: { kind: string; reference: string }[] = [];
  try {
    const uri = await uploadPenguins(h);
    for (const kind of ['gbdt', 'mlp'] as const) {
      const model = uniqueModelName(`bench-predict-${kind}`);
      await trainVersion(h, uri, model, { task: PENGUINS_SPECIES, train: { model: kind } });
      models.push({ kind, reference: `${model}@champion` });
    }
  } finally {
    await h.close();
  }

  const rowsOut: BenchRow[] = [];
  const notes: string[] = [];
  for (const { kind, reference } of models) {
    const servers = await Promise.all([
      startServer('floor (node:http + model)', ['--import', 'tsx', 'bench/predict/floor-server.ts', reference]),
      startServer('trainyard serve (Fastify)', ['bin/trainyard.mjs', 'serve', '--model', reference, '--port', '0']),
    ]);
    const p50 = new Map<string, number>();
    try {
      const measures = [
        { measure: '1 row, sequential', body: oneRow, requests: SEQUENTIAL_ONE_ROW, concurrency: 1 },
        { measure: '100 rows, sequential', body: hundredRows, requests: SEQUENTIAL_BATCH, concurrency: 1 },
        {
          measure: `1 row, ${SUSTAINED_CONCURRENCY} concurrent`,
          body: oneRow,
          requests: SUSTAINED_REQUESTS,
          concurrency: SUSTAINED_CONCURRENCY,
        },
      ];
      for (const m of measures) {
        const rounds = new Map<string, Round[]>(servers.map((server) => [server.name, []]));
        for (const server of servers)
          await postLoop(server.url, m.body, Math.max(50, Math.round(m.requests / 5)), m.concurrency); // warm-up
        for (let r = 0; r < ROUNDS; r++)
          for (const server of servers)
            rounds.get(server.name)?.push(await measureRound(server, m.body, m.requests, m.concurrency));
        for (const server of servers) {
          const result = medianOfRounds(rounds.get(server.name) ?? []);
          p50.set(`${m.measure}|${server.name}`, result.p50Ms);
          rowsOut.push({
            model: kind,
            measure: m.measure,
            server: server.name,
            requests: m.requests * ROUNDS,
            ...result,
          });
        }
        const overhead =
          (p50.get(`${m.measure}|${servers[1]?.name}`) ?? NaN) - (p50.get(`${m.measure}|${servers[0]?.name}`) ?? NaN);
        notes.push(
          `${kind}, ${m.measure}: serve's p50 overhead over the floor ${round(overhead, 3)} ms` +
            (m.concurrency === 1
              ? ` (target ≤ ${TARGET_P50_OVERHEAD_MS} ms: ${overhead <= TARGET_P50_OVERHEAD_MS ? 'met' : 'missed'})`
              : ''),
        );
      }
    } finally {
      await Promise.all(servers.map(stop));
    }
  }
  const failed = rowsOut.reduce((sum, r) => sum + Number(r.errors), 0);
  notes.push(failed === 0 ? 'every request answered 200' : `${failed} requests failed`);
  return {
    rows: rowsOut,
    notes,
    meta: {
      rounds: ROUNDS,
      sequentialOneRow: SEQUENTIAL_ONE_ROW,
      sequentialBatch: SEQUENTIAL_BATCH,
      sustainedRequests: SUSTAINED_REQUESTS,
      sustainedConcurrency: SUSTAINED_CONCURRENCY,
    },
  };
}
