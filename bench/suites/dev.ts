import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, round, type BenchRow, type Suite } from '../harness';
import { MINIO_SERVER, resolveBinary, TEMPORAL_CLI } from '../../scripts/dev/binaries';
import { resolveDevOptions, type DevOptions } from '../../scripts/dev/dev-options';
import { findFreePort } from '../../scripts/dev/processes';
import { devDown, devUp, type UpResult } from '../../scripts/dev/services';

const REPETITIONS = 3;
const REUSE_REPETITIONS = 5;
const TARGET_MS = 10_000;
const devCommandModule = fileURLToPath(new URL('../../cli/commands/dev.ts', import.meta.url));

/** A service set on free ports with its own data dir, so the developer's services on 7233 / 9000 are untouched. */
async function isolatedSet(root: string, name: string): Promise<DevOptions> {
  return resolveDevOptions({
    dataDir: path.join(root, name),
    temporalPort: await findFreePort(),
    temporalUiPort: await findFreePort(),
    minioPort: await findFreePort(),
    minioConsolePort: await findFreePort(),
    log: () => {},
  });
}

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { ms: performance.now() - start, value };
}

function row(name: string, samplesMs: number[], extra: BenchRow = {}): BenchRow {
  const medianMs = median(samplesMs);
  return {
    case: name,
    reps: samplesMs.length,
    medianMs: round(medianMs, 0),
    minMs: round(Math.min(...samplesMs), 0),
    maxMs: round(Math.max(...samplesMs), 0),
    ...extra,
  };
}

const readyMsOf = (results: UpResult[], service: string) => results.find((r) => r.service === service)?.readyMs ?? NaN;

/** `trainyard dev up` as a user runs it: a fresh node + tsx process. */
function runCliUp(o: DevOptions): Promise<void> {
  const argv = [
    'node',
    'dev',
    'up',
    '--data-dir',
    o.dataDir,
    '--temporal-port',
    String(o.temporal.port),
    '--temporal-ui-port',
    String(o.temporal.uiPort),
    '--minio-port',
    String(o.minio.port),
    '--minio-console-port',
    String(o.minio.consolePort),
  ];
  const script = `import(${JSON.stringify(devCommandModule)}).then((m) => m.devCommand().parseAsync(${JSON.stringify(argv)}))`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dev up exited ${code}: ${stderr}`))));
  });
}

const suite: Suite = {
  description: '`dev up` wall time with cached binaries on an isolated port set: cold start, restart, reuse',
  async run() {
    const temporal = await resolveBinary(TEMPORAL_CLI);
    const minio = await resolveBinary(MINIO_SERVER);
    const root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-dev-'));
    const sets: DevOptions[] = [];
    const fresh = async (name: string) => {
      const o = await isolatedSet(root, name);
      sets.push(o);
      return o;
    };
    try {
      const cold: number[] = [];
      const coldTemporal: number[] = [];
      const coldMinio: number[] = [];
      const down: number[] = [];
      for (let i = 0; i < REPETITIONS; i++) {
        const o = await fresh(`cold-${i}`);
        const { ms, value } = await timed(() => devUp(o));
        cold.push(ms);
        coldTemporal.push(readyMsOf(value, 'temporal'));
        coldMinio.push(readyMsOf(value, 'minio'));
        down.push((await timed(() => devDown(o))).ms);
      }

      const restartSet = await fresh('restart');
      await devUp(restartSet);
      await devDown(restartSet);
      const restart: number[] = [];
      for (let i = 0; i < REPETITIONS; i++) {
        restart.push((await timed(() => devUp(restartSet))).ms);
        await devDown(restartSet);
      }

      const reuseSet = await fresh('reuse');
      await devUp(reuseSet);
      const reuse: number[] = [];
      for (let i = 0; i < REUSE_REPETITIONS; i++) reuse.push((await timed(() => devUp(reuseSet))).ms);
      await devDown(reuseSet);

      const cli: number[] = [];
      for (let i = 0; i < REPETITIONS; i++) {
        const o = await fresh(`cli-${i}`);
        cli.push((await timed(() => runCliUp(o))).ms);
        await devDown(o);
      }

      const target = (samples: number[]) => ({ targetMs: TARGET_MS, met: median(samples) < TARGET_MS });
      const rows = [
        row('cold up (fresh data dir, both services to ready)', cold, target(cold)),
        row('  of which temporal ready', coldTemporal),
        row('  of which minio ready + bucket', coldMinio),
        row('restart up (existing data dir)', restart, target(restart)),
        row('reuse up (already running)', reuse),
        row('down (SIGTERM, wait for exit)', down),
        row('cold up via CLI process (node + tsx + dev up)', cli, target(cli)),
      ];
      const notes = [
        `cold start median ${round(median(cold) / 1000, 2)} s vs target < ${TARGET_MS / 1000} s: ` +
          (median(cold) < TARGET_MS ? 'met' : 'MISSED'),
        `reuse median ${round(median(reuse), 0)} ms (health probes only, no process started)`,
        `binaries: temporal ${temporal.path} (${temporal.source}), minio ${minio.path} (${minio.source})`,
      ];
      return { rows, notes, meta: { temporal, minio, repetitions: REPETITIONS } };
    } finally {
      for (const o of sets) await devDown(o).catch(() => {});
      await rm(root, { recursive: true, force: true });
    }
  },
};

export default suite;
