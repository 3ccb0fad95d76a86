import path from 'node:path';
import { z } from 'zod';
import { describeZodIssues, type FieldProblem } from '../contracts/errors';
import { MetricsAddress } from './metrics/metrics-address';

/** Dev defaults: the credentials `trainyard dev up` gives MinIO. Never used in production by accident:
 * a production deployment sets S3_ACCESS_KEY / S3_SECRET_KEY explicitly. */
export const DEV_S3_ACCESS_KEY = 'trainyard';
export const DEV_S3_SECRET_KEY = 'trainyard-dev-secret';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const portFromEnv = z.coerce
  .number({ message: 'expected a port number' })
  .int({ message: 'expected an integer port' })
  .min(1, { message: 'expected a port between 1 and 65535' })
  .max(65535, { message: 'expected a port between 1 and 65535' });

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, { message: 'expected host:port, e.g. 127.0.0.1:7233' });

/** Raw environment, one entry per variable the worker and CLI read. Names are the env names. */
export const EnvSchema = z.object({
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_URL: z.url({ message: 'expected a URL, e.g. http://127.0.0.1:8233' }).default('http://127.0.0.1:8233'),
  TRAINYARD_TASK_QUEUE: z.string().min(1).default('trainyard'),
  TRAINYARD_MAX_CONCURRENT_ACTIVITIES: z.coerce
    .number({ message: 'expected a positive integer' })
    .int({ message: 'expected a positive integer' })
    .min(1, { message: 'expected a positive integer' })
    .optional(),
  TRAINYARD_STORE: z.enum(['s3', 'fs'], { message: 'expected "s3" or "fs"' }).optional(),
  TRAINYARD_FS_ROOT: z.string().min(1).default('.data/artifacts'),
  S3_ENDPOINT: z
    .string()
    .regex(/^(https?:\/\/)?[A-Za-z0-9.\-_[\]:]+(:\d{1,5})?\/?$/, {
      message: 'expected a host or URL, e.g. 127.0.0.1 or http://127.0.0.1:9000',
    })
    .optional(),
  S3_PORT: portFromEnv.optional(),
  S3_USE_SSL: booleanFromEnv.optional(),
  S3_ACCESS_KEY: z.string().min(3, { message: 'expected at least 3 characters' }).default(DEV_S3_ACCESS_KEY),
  S3_SECRET_KEY: z.string().min(8, { message: 'expected at least 8 characters' }).default(DEV_S3_SECRET_KEY),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'expected an S3 bucket name (3-63 lowercase chars)' })
    .default('trainyard'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty', 'auto'], { message: 'expected json, pretty or auto' }).default('auto'),
  METRICS_ADDRESS: MetricsAddress.optional(),
});

export interface S3Settings {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

export type StoreSettings = { kind: 's3'; s3: S3Settings } | { kind: 'fs'; root: string };

export interface Config {
  /** maxConcurrentActivities: the worker's activity slots; unset: the SDK's default (100). */
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string; maxConcurrentActivities?: number };
  store: StoreSettings;
  log: { level: z.output<typeof EnvSchema>['LOG_LEVEL']; format: 'json' | 'pretty' | 'auto' };
  /** Where the worker serves Prometheus metrics; unset: off. */
  metrics: { address?: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}\n` +
        'See "Configuration" in README.md for every variable and its default.',
    );
    this.name = 'ConfigError';
  }
}

/** Where a setting came from: the environment, the running dev services (`trainyard dev up`), or the default. */
export type SettingSource = 'env' | 'dev services' | 'default';
export type EnvName = keyof typeof EnvSchema.shape;

export interface ConfigWithSources {
  config: Config;
  sources: Record<EnvName, SettingSource>;
}

/** Parses the environment once, at the edge. Empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  return loadConfigWithSources(env, {}, cwd).config;
}

/**
 * As loadConfig, with the running dev services' variables (see lib/dev-services) filling in those the
 * environment leaves unset, one by one (an explicit variable always wins); says where each one came from.
 */
export function loadConfigWithSources(
  env: NodeJS.ProcessEnv,
  devServicesEnv: Record<string, string>,
  cwd = process.cwd(),
): ConfigWithSources {
  const names = Object.keys(EnvSchema.shape) as EnvName[];
  const isSet = (value: string | undefined): value is string => value !== undefined && value !== '';
  const sources = Object.fromEntries(
    names.map((name) => [name, isSet(env[name]) ? 'env' : isSet(devServicesEnv[name]) ? 'dev services' : 'default']),
  ) as Record<EnvName, SettingSource>;
  const present = Object.fromEntries(
    names.flatMap((name) => {
      const value = isSet(env[name]) ? env[name] : devServicesEnv[name];
      return isSet(value) ? [[name, value] as const] : [];
    }),
  );
  return { config: configFrom(present, cwd), sources };
}

function configFrom(present: Record<string, string>, cwd: string): Config {
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(describeZodIssues(parsed.error));
  const e = parsed.data;

  const storeKind = e.TRAINYARD_STORE ?? (e.S3_ENDPOINT ? 's3' : 'fs');
  if (storeKind === 's3' && !e.S3_ENDPOINT) {
    throw new ConfigError([{ path: 'S3_ENDPOINT', message: 'required when TRAINYARD_STORE=s3' }]);
  }
  const store: StoreSettings =
    storeKind === 's3'
      ? { kind: 's3', s3: s3Settings(e) }
      : { kind: 'fs', root: path.resolve(cwd, e.TRAINYARD_FS_ROOT) };

  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TRAINYARD_TASK_QUEUE,
      maxConcurrentActivities: e.TRAINYARD_MAX_CONCURRENT_ACTIVITIES,
      uiUrl: e.TEMPORAL_UI_URL.replace(/\/$/, ''),
    },
    store,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
    metrics: { address: e.METRICS_ADDRESS },
  };
}

/** S3_ENDPOINT may be a bare host or a URL; explicit S3_PORT / S3_USE_SSL win over what the URL implies. */
function s3Settings(e: z.output<typeof EnvSchema>): S3Settings {
  const raw = e.S3_ENDPOINT as string;
  const url = new URL(/^https?:\/\//.test(raw) ? raw : `http://${raw}`);
  const impliedSSL = raw.startsWith('https://');
  const useSSL = e.S3_USE_SSL ?? impliedSSL;
  const port = e.S3_PORT ?? (url.port ? Number(url.port) : useSSL ? 443 : 9000);
  return {
    endPoint: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    useSSL,
    accessKey: e.S3_ACCESS_KEY,
    secretKey: e.S3_SECRET_KEY,
    bucket: e.S3_BUCKET,
    region: e.S3_REGION,
  };
}
