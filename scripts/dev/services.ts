import path from 'node:path';
import { resolveBinary, type ResolvedBinary } from './binaries';
import { serviceEnvironment } from './dev-env';
import { hostForUrl, type DevOptions } from './dev-options';
import { withFileLock } from './file-lock';
import {
  isOurProcess,
  isPidAlive,
  isPortInUse,
  readState,
  removeState,
  spawnDetached,
  stopProcess,
  tailFile,
  waitUntil,
  writeState,
  type ServiceState,
} from './processes';
import { DEV_SERVICES, type ServiceName, type ServiceSpec } from './service-specs';

export type Ownership = 'ours' | 'external' | 'none';

export interface ServiceStatus {
  service: ServiceName;
  running: boolean;
  ownership: Ownership;
  healthy: boolean;
  pid?: number;
  ports: Record<string, number>;
  urls: Record<string, string>;
  /** One sentence for people: what is true and, when something is off, what to do. */
  summary: string;
}

export interface UpResult {
  service: ServiceName;
  action: 'started' | 'reused';
  ownership: Exclude<Ownership, 'none'>;
  pid?: number;
  binary?: ResolvedBinary;
  readyMs: number;
  urls: Record<string, string>;
}

export interface DownResult {
  service: ServiceName;
  action: 'stopped' | 'not-running' | 'left-external' | 'removed-stale-state';
  pid?: number;
  forced?: boolean;
}

export class DevServiceError extends Error {
  override name = 'DevServiceError';
}

export function stateFile(o: DevOptions, service: ServiceName): string {
  return path.join(o.dataDir, 'run', `${service}.json`);
}

export function logFile(o: DevOptions, service: ServiceName): string {
  return path.join(o.dataDir, 'logs', `${service}.log`);
}

/** Our state file and whether its pid still runs the command we started. */
async function inspectState(o: DevOptions, spec: ServiceSpec): Promise<{ state?: ServiceState; ours: boolean }> {
  const state = await readState(stateFile(o, spec.name));
  if (!state) return { ours: false };
  return { state, ours: await isOurProcess(state) };
}

export async function devStatus(o: DevOptions): Promise<ServiceStatus[]> {
  return Promise.all(DEV_SERVICES.map((spec) => serviceStatus(o, spec)));
}

async function serviceStatus(o: DevOptions, spec: ServiceSpec): Promise<ServiceStatus> {
  const [{ state, ours }, healthy] = await Promise.all([inspectState(o, spec), spec.isHealthy(o)]);
  const base = { service: spec.name, healthy, ports: spec.ports(o), urls: spec.urls(o) };
  const port = spec.healthPort(o);
  if (ours && state) {
    const summary = healthy
      ? `running (ours, pid ${state.pid}), healthy`
      : `running (ours, pid ${state.pid}) but not healthy; see ${logFile(o, spec.name)}`;
    return { ...base, running: true, ownership: 'ours', pid: state.pid, summary };
  }
  const stale = state ? `; stale state file (pid ${state.pid} no longer runs what dev up started)` : '';
  if (healthy) {
    const summary = `running (external, not started by dev up), healthy${stale}`;
    return { ...base, running: true, ownership: 'external', summary };
  }
  if (await isPortInUse(o.host, port)) {
    const summary = `port ${port} is taken by something that is not a healthy ${spec.name}${stale}`;
    return { ...base, running: true, ownership: 'external', summary };
  }
  return { ...base, running: false, ownership: 'none', summary: `not running${stale}` };
}

export async function devUp(o: DevOptions): Promise<UpResult[]> {
  const settled = await Promise.allSettled(DEV_SERVICES.map((spec) => upService(o, spec)));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
  if (failures.length > 0) throw new DevServiceError(failures.join('\n\n'));
  return settled.map((s) => (s as PromiseFulfilledResult<UpResult>).value);
}

/** One `up` or `down` per service and data dir at a time, across processes; a second `up` then simply reuses. */
function withServiceLock<T>(o: DevOptions, spec: ServiceSpec, task: () => Promise<T>): Promise<T> {
  const lockFile = path.join(o.dataDir, 'run', `${spec.name}.lock`);
  return withFileLock(lockFile, { waitMs: o.readyTimeoutMs + o.stopGraceMs + 30_000, log: o.log }, task);
}

function upService(o: DevOptions, spec: ServiceSpec): Promise<UpResult> {
  return withServiceLock(o, spec, () => upServiceLocked(o, spec));
}

async function upServiceLocked(o: DevOptions, spec: ServiceSpec): Promise<UpResult> {
  const startedMs = Date.now();
  const file = stateFile(o, spec.name);
  const { state, ours } = await inspectState(o, spec);
  if (state && !ours) {
    await removeState(file);
    o.log(`${spec.name}: removed stale state file (pid ${state.pid} is no longer ours)`);
  }
  if (state && ours) {
    const wanted = spec.ports(o);
    if (JSON.stringify(state.ports) !== JSON.stringify(wanted)) {
      throw new DevServiceError(
        `${spec.name}: the one started from ${o.dataDir} (pid ${state.pid}) runs on ports ${JSON.stringify(state.ports)}, ` +
          `not ${JSON.stringify(wanted)}; run \`dev down\` first or use another data dir`,
      );
    }
    // Ours but not answering yet (e.g. an interrupted `up` left it starting): give it the usual deadline.
    if (!(await waitUntil(() => spec.isHealthy(o), o.readyTimeoutMs, 200))) {
      throw await notReadyError(o, spec, `our ${spec.name} (pid ${state.pid}) is running but not healthy`);
    }
    return reused(o, spec, 'ours', startedMs, state.pid);
  }
  if (await spec.isHealthy(o)) return reused(o, spec, 'external', startedMs);

  for (const [label, port] of Object.entries(spec.ports(o))) {
    if (await isPortInUse(o.host, port)) {
      throw new DevServiceError(
        `${spec.name}: ${label} port ${hostForUrl(o.host)}:${port} is in use by another process, ` +
          `and ${spec.name} is not answering there; stop that process or choose another port`,
      );
    }
  }

  const binary = await resolveBinary(spec.binary, { env: o.env, cacheDir: o.cacheDir, log: o.log });
  await spec.prepare(o);
  const args = spec.args(o);
  const pid = await spawnDetached({ binary: binary.path, args, logFile: logFile(o, spec.name), env: spec.env(o) });
  await writeState(file, {
    pid,
    binary: binary.path,
    args,
    ports: spec.ports(o),
    startedAt: new Date().toISOString(),
    env: serviceEnvironment(o, spec.name),
  });

  let exited = false;
  const ready = await waitUntil(
    async () => {
      exited = !(await isPidAlive(pid));
      return exited || (await spec.isHealthy(o));
    },
    o.readyTimeoutMs,
    100,
  );
  if (!ready || exited) {
    await stopProcess(pid, o.stopGraceMs);
    await removeState(file);
    const why = exited ? `exited during startup` : `was not ready within ${o.readyTimeoutMs / 1000} s`;
    throw await notReadyError(o, spec, `${spec.name} (${binary.path}) ${why}`);
  }
  await announceAfterReady(o, spec);
  const readyMs = Date.now() - startedMs;
  return { service: spec.name, action: 'started', ownership: 'ours', pid, binary, readyMs, urls: spec.urls(o) };
}

async function reused(
  o: DevOptions,
  spec: ServiceSpec,
  ownership: 'ours' | 'external',
  startedMs: number,
  pid?: number,
): Promise<UpResult> {
  await announceAfterReady(o, spec);
  return {
    service: spec.name,
    action: 'reused',
    ownership,
    ...(pid === undefined ? {} : { pid }),
    readyMs: Date.now() - startedMs,
    urls: spec.urls(o),
  };
}

async function announceAfterReady(o: DevOptions, spec: ServiceSpec): Promise<void> {
  const note = await spec.afterReady?.(o);
  if (note) o.log(`${spec.name}: ${note}`);
}

async function notReadyError(o: DevOptions, spec: ServiceSpec, headline: string): Promise<DevServiceError> {
  const log = logFile(o, spec.name);
  return new DevServiceError(`${headline}. Last lines of ${log}:\n${await tailFile(log, 30)}`);
}

export async function devDown(o: DevOptions): Promise<DownResult[]> {
  return Promise.all(DEV_SERVICES.map((spec) => downService(o, spec)));
}

function downService(o: DevOptions, spec: ServiceSpec): Promise<DownResult> {
  return withServiceLock(o, spec, () => downServiceLocked(o, spec));
}

async function downServiceLocked(o: DevOptions, spec: ServiceSpec): Promise<DownResult> {
  const file = stateFile(o, spec.name);
  const { state, ours } = await inspectState(o, spec);
  if (state && ours) {
    const { stopped, forced } = await stopProcess(state.pid, o.stopGraceMs);
    if (!stopped) throw new DevServiceError(`${spec.name}: pid ${state.pid} survived SIGKILL`);
    await removeState(file);
    return { service: spec.name, action: 'stopped', pid: state.pid, forced };
  }
  if (state) await removeState(file);
  if (await spec.isHealthy(o)) return { service: spec.name, action: 'left-external' };
  return { service: spec.name, action: state ? 'removed-stale-state' : 'not-running' };
}
