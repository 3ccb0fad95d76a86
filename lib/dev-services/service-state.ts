import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

/** The dev services `trainyard dev up` runs; each keeps a state file `<data dir>/run/<name>.json`. */
export const DEV_SERVICE_NAMES = ['temporal', 'minio'] as const;
export type ServiceName = (typeof DEV_SERVICE_NAMES)[number];

/** What `dev up` remembers about a process it started; `down` only ever acts on this. */
export const ServiceStateSchema = z.object({
  pid: z.number().int().positive(),
  binary: z.string().min(1),
  args: z.array(z.string()),
  ports: z.record(z.string(), z.number().int()),
  startedAt: z.string(),
  /** The variables `trainyard dev env` prints for this service; absent in state written before they were kept. */
  env: z.record(z.string(), z.string()).optional(),
});
export type ServiceState = z.infer<typeof ServiceStateSchema>;

export function serviceStateFile(dataDir: string, service: ServiceName): string {
  return path.join(dataDir, 'run', `${service}.json`);
}

/** The state in `file`, or undefined when there is none or it is unreadable (`up` overwrites it). */
export async function readServiceState(file: string): Promise<ServiceState | undefined> {
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
    return undefined;
  }
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
  const ps = await promisify(execFile)('ps', ['-ww', '-o', 'command=', '-p', String(pid)]).catch(() => undefined);
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
