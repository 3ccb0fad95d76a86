import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { EnvSchema } from '../config';
import {
  DEV_SERVICE_NAMES,
  isOurProcess,
  readServiceState,
  serviceStateFile,
  type ServiceName,
  type ServiceState,
} from './service-state';

const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

/** The variables each dev service answers for: the ones `trainyard dev env` prints for it. */
export const DEV_SERVICE_VARIABLES = {
  temporal: ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_UI_URL'],
  minio: ['TRAINYARD_STORE', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET', 'S3_REGION'],
} as const satisfies Record<ServiceName, readonly (keyof typeof EnvSchema.shape)[]>;

const TemporalEnv = EnvSchema.pick({ TEMPORAL_ADDRESS: true, TEMPORAL_NAMESPACE: true, TEMPORAL_UI_URL: true })
  .required({ TEMPORAL_ADDRESS: true })
  .strict();
const MinioEnv = EnvSchema.pick({
  TRAINYARD_STORE: true,
  S3_ENDPOINT: true,
  S3_ACCESS_KEY: true,
  S3_SECRET_KEY: true,
  S3_BUCKET: true,
  S3_REGION: true,
})
  .required({ TRAINYARD_STORE: true, S3_ENDPOINT: true })
  .strict();

const Port = z.number().int().min(1).max(65535);
const TemporalPorts = z.object({ grpc: Port, ui: Port });
const MinioPorts = z.object({ api: Port });

/** Where `dev up` keeps its state: $TRAINYARD_DATA_DIR, else the repository's .data (as scripts/dev decides). */
export function devServicesDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.TRAINYARD_DATA_DIR || path.join(REPO_ROOT, '.data'));
}

export interface RunningDevServices {
  dataDir: string;
  /** The services found running and accepting connections. */
  services: ServiceName[];
  /** Their variables, as `trainyard dev env` would print them. */
  env: Record<string, string>;
}

/**
 * The dev services `trainyard dev up` started from `dataDir` that are still running (their pid runs the
 * command recorded in the state file) and accept connections, with the variables that reach them.
 * State written before `dev up` kept the variables gives the addresses on 127.0.0.1 and the
 * configuration's defaults for the rest, which are `dev up`'s own defaults.
 */
export async function findRunningDevServices(dataDir: string): Promise<RunningDevServices> {
  const found = await Promise.all(DEV_SERVICE_NAMES.map((name) => runningServiceEnv(dataDir, name)));
  const running = DEV_SERVICE_NAMES.filter((_, i) => found[i] !== undefined);
  return { dataDir, services: running, env: Object.assign({}, ...found.filter(Boolean)) as Record<string, string> };
}

async function runningServiceEnv(dataDir: string, name: ServiceName): Promise<Record<string, string> | undefined> {
  const state = await readServiceState(serviceStateFile(dataDir, name)).catch(() => undefined);
  if (!state) return undefined;
  const env = name === 'temporal' ? temporalEnv(state) : minioEnv(state);
  if (!env) return undefined;
  const probe = name === 'temporal' ? hostPort(env.TEMPORAL_ADDRESS as string) : urlHostPort(env.S3_ENDPOINT as string);
  const running = (await isOurProcess(state)) && (await acceptsConnections(probe.host, probe.port));
  return running ? env : undefined;
}

function temporalEnv(state: ServiceState): Record<string, string> | undefined {
  if (state.env) return TemporalEnv.safeParse(state.env).success ? state.env : undefined;
  const ports = TemporalPorts.safeParse(state.ports);
  if (!ports.success) return undefined;
  return {
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.data.grpc}`,
    TEMPORAL_UI_URL: `http://127.0.0.1:${ports.data.ui}`,
  };
}

function minioEnv(state: ServiceState): Record<string, string> | undefined {
  if (state.env) return MinioEnv.safeParse(state.env).success ? state.env : undefined;
  const ports = MinioPorts.safeParse(state.ports);
  if (!ports.success) return undefined;
  return { TRAINYARD_STORE: 's3', S3_ENDPOINT: `http://127.0.0.1:${ports.data.api}` };
}

function hostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

function urlHostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
  };
}

function acceptsConnections(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
