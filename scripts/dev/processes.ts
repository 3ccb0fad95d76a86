import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

/** What `dev up` remembers about a process it started; `down` only ever acts on this. */
export const ServiceStateSchema = z.object({
  pid: z.number().int().positive(),
  binary: z.string().min(1),
  args: z.array(z.string()),
  ports: z.record(z.string(), z.number().int()),
  startedAt: z.string(),
});
export type ServiceState = z.infer<typeof ServiceStateSchema>;

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

export async function readState(file: string): Promise<ServiceState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = ServiceStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // unreadable state counts as absent; `up` overwrites it
  }
}

export async function writeState(file: string, state: ServiceState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temp, file);
}

export async function removeState(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Alive means signal-able and not a zombie (a zombie still answers kill(pid, 0)). */
export async function isPidAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return true; // no procfs (macOS): trust kill(0)
  const afterName = stat.slice(stat.lastIndexOf(')') + 2);
  return !afterName.startsWith('Z') && !afterName.startsWith('X');
}

/** argv of a running process, or undefined when it is gone or unreadable. */
export async function commandLineOf(pid: number): Promise<string[] | undefined> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (raw !== undefined) return raw.length === 0 ? undefined : raw.replace(/\0$/, '').split('\0');
  const ps = await runCapture('ps', ['-ww', '-o', 'command=', '-p', String(pid)]).catch(() => undefined);
  const line = ps?.stdout.trim();
  return line ? line.split(' ') : undefined;
}

/** True when `state.pid` is alive and still runs exactly the command we started (pids get reused). */
export async function isOurProcess(state: ServiceState): Promise<boolean> {
  if (!(await isPidAlive(state.pid))) return false;
  const argv = await commandLineOf(state.pid);
  if (!argv) return false;
  // Joined with spaces so the `ps` fallback (which cannot tell argument boundaries) compares the same way.
  return argv.join(' ') === [state.binary, ...state.args].join(' ');
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
