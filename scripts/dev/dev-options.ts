import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvSchema } from '../../lib/config';
import { describeZodIssues, formatFieldProblems } from '../../contracts/errors';
import { defaultCacheDir } from './binaries';

/** Everything that makes one set of dev services distinct, so a test can run a second set beside the main one. */
export interface DevOptions {
  /** Loopback address every service binds to. */
  host: string;
  /** State files, logs, Temporal's SQLite file and MinIO's objects live under here. */
  dataDir: string;
  cacheDir: string;
  temporal: { port: number; uiPort: number; namespace: string };
  minio: { port: number; consolePort: number; accessKey: string; secretKey: string; bucket: string; region: string };
  readyTimeoutMs: number;
  stopGraceMs: number;
  /** Environment handed to binary resolution and to the services. */
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export interface DevOverrides {
  host?: string;
  dataDir?: string;
  cacheDir?: string;
  temporalPort?: number;
  temporalUiPort?: number;
  minioPort?: number;
  minioConsolePort?: number;
  readyTimeoutMs?: number;
  stopGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

const S3DevEnvSchema = EnvSchema.pick({ S3_ACCESS_KEY: true, S3_SECRET_KEY: true, S3_BUCKET: true, S3_REGION: true });

export function resolveDevOptions(overrides: DevOverrides = {}): DevOptions {
  const env = overrides.env ?? process.env;
  const host = overrides.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`dev services bind loopback only; got host ${host}`);
  const s3 = parseS3Env(env);
  const temporalPort = overrides.temporalPort ?? 7233;
  return {
    host,
    dataDir: path.resolve(overrides.dataDir ?? (env.TRAINYARD_DATA_DIR || path.join(REPO_ROOT, '.data'))),
    cacheDir: overrides.cacheDir ?? defaultCacheDir(env),
    temporal: { port: temporalPort, uiPort: overrides.temporalUiPort ?? temporalPort + 1000, namespace: 'default' },
    minio: {
      port: overrides.minioPort ?? 9000,
      consolePort: overrides.minioConsolePort ?? (overrides.minioPort ?? 9000) + 1,
      accessKey: s3.S3_ACCESS_KEY,
      secretKey: s3.S3_SECRET_KEY,
      bucket: s3.S3_BUCKET,
      region: s3.S3_REGION,
    },
    readyTimeoutMs: overrides.readyTimeoutMs ?? 60_000,
    stopGraceMs: overrides.stopGraceMs ?? 10_000,
    env,
    log: overrides.log ?? ((line) => console.log(line)),
  };
}

function parseS3Env(env: NodeJS.ProcessEnv) {
  const present = Object.fromEntries(
    Object.keys(S3DevEnvSchema.shape)
      .map((name) => [name, env[name]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = S3DevEnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new Error(`Invalid dev service configuration:\n${formatFieldProblems(describeZodIssues(parsed.error))}`);
  }
  return parsed.data;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Host as it appears in a URL or host:port pair. */
export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
