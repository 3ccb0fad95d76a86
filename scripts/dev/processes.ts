import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPidAlive, type ServiceState } from '../../lib/dev-services/service-state';

// The state file's schema and reader live in lib/, where the CLI's configuration finds running services too.
export {
  commandLineOf,
  isOurProcess,
  isPidAlive,
  readServiceState as readState,
  ServiceStateSchema,
  type ServiceState,
} from '../../lib/dev-services/service-state';

export interface DetachedSpawn {
  binary: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a process in its own session so it outlives the CLI; output is appended to `logFile`. */
export async function spawnDetached(spec: DetachedSpawn): Promise<number> {
  await mkdir(path.dirname(spec.logFile), { recursive: true });
  const logFd = openSync(spec.logFile, 'a');
  try {
    // Marks where this run's output begins, since the log is appended to across restarts.
    writeSync(logFd, `--- ${new Date().toISOString()} ${spec.binary} ${spec.args.join(' ')}\n`);
    const child = spawn(spec.binary, spec.args, {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: spec.env ?? process.env,
      cwd: spec.cwd,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.unref();
    return pid;
  } finally {
    closeSync(logFd);
  }
}

export async function writeState(file: string, state: ServiceState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  // Owner-only: the state carries the MinIO credentials the CLI uses when the environment names none.
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, file);
}

export async function removeState(file: string): Promise<void> {
  await rm(file, { force: true });
}

export interface StopResult {
  stopped: boolean;
  forced: boolean;
}

/** SIGTERM, then SIGKILL once `graceMs` has passed. */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<StopResult> {
  if (!(await isPidAlive(pid))) return { stopped: true, forced: false };
  signal(pid, 'SIGTERM');
  if (await waitUntil(async () => !(await isPidAlive(pid)), graceMs, 50)) return { stopped: true, forced: false };
  signal(pid, 'SIGKILL');
  const gone = await waitUntil(async () => !(await isPidAlive(pid)), 5_000, 50);
  return { stopped: gone, forced: true };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it became true. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** True when something accepts TCP connections on host:port. */
export function isPortInUse(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (inUse: boolean) => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** A port the OS considers free right now on `host` (for tests and benchmarks). */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function tailFile(file: string, lines = 30): Promise<string> {
  const maxBytes = 64 * 1024;
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return `(no log at ${file})`;
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}

export interface CapturedRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCapture(
  binary: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CapturedRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
