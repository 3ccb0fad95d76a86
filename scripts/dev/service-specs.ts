import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client as MinioClient, S3Error } from 'minio';
import { MINIO_SERVER, TEMPORAL_CLI, type BinarySpec } from './binaries';
import { hostForUrl, type DevOptions } from './dev-options';
import type { ServiceName } from '../../lib/dev-services/service-state';
import { isMinioReady, isTemporalHealthy } from './health';

export type { ServiceName };

/** How to run, probe and describe one dev service. */
export interface ServiceSpec {
  name: ServiceName;
  binary: BinarySpec;
  /** The port whose health decides running/healthy; listed first in `ports`. */
  healthPort(o: DevOptions): number;
  ports(o: DevOptions): Record<string, number>;
  urls(o: DevOptions): Record<string, string>;
  args(o: DevOptions): string[];
  env(o: DevOptions): NodeJS.ProcessEnv;
  prepare(o: DevOptions): Promise<void>;
  isHealthy(o: DevOptions): Promise<boolean>;
  /** Runs after the service is ready, whether started now or reused. */
  afterReady?(o: DevOptions): Promise<string | undefined>;
}

export const TRAINYARD_SEARCH_ATTRIBUTES = ['TrainyardModel', 'TrainyardStage', 'TrainyardOutcome'] as const;

const temporalAddress = (o: DevOptions) => `${hostForUrl(o.host)}:${o.temporal.port}`;
const minioApiUrl = (o: DevOptions) => `http://${hostForUrl(o.host)}:${o.minio.port}`;

export const temporalService: ServiceSpec = {
  name: 'temporal',
  binary: TEMPORAL_CLI,
  healthPort: (o) => o.temporal.port,
  ports: (o) => ({ grpc: o.temporal.port, ui: o.temporal.uiPort }),
  urls: (o) => ({ grpc: temporalAddress(o), ui: `http://${hostForUrl(o.host)}:${o.temporal.uiPort}` }),
  args: (o) => [
    'server',
    'start-dev',
    '--ip',
    o.host,
    '--port',
    String(o.temporal.port),
    '--ui-port',
    String(o.temporal.uiPort),
    '--db-filename',
    temporalDbFile(o),
    '--namespace',
    o.temporal.namespace,
    ...TRAINYARD_SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
    // Eager dispatch hands an activity to the worker that completed the workflow task, saving a poll
    // round trip per stage transition (measured by `npm run bench -- pipeline`).
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    '--log-level',
    'warn',
  ],
  env: (o) => o.env,
  prepare: async (o) => {
    await mkdir(path.dirname(temporalDbFile(o)), { recursive: true });
  },
  isHealthy: (o) => isTemporalHealthy(o.host, o.temporal.port),
};

export const minioService: ServiceSpec = {
  name: 'minio',
  binary: MINIO_SERVER,
  healthPort: (o) => o.minio.port,
  ports: (o) => ({ api: o.minio.port, console: o.minio.consolePort }),
  urls: (o) => ({ api: minioApiUrl(o), console: `http://${hostForUrl(o.host)}:${o.minio.consolePort}` }),
  args: (o) => [
    'server',
    minioDataDir(o),
    '--address',
    `${hostForUrl(o.host)}:${o.minio.port}`,
    '--console-address',
    `${hostForUrl(o.host)}:${o.minio.consolePort}`,
  ],
  env: (o) => ({ ...o.env, MINIO_ROOT_USER: o.minio.accessKey, MINIO_ROOT_PASSWORD: o.minio.secretKey }),
  prepare: async (o) => {
    await mkdir(minioDataDir(o), { recursive: true });
  },
  isHealthy: (o) => isMinioReady(minioApiUrl(o)),
  afterReady: (o) => ensureBucket(o),
};

export const DEV_SERVICES: readonly ServiceSpec[] = [temporalService, minioService];

export function temporalDbFile(o: DevOptions): string {
  return path.join(o.dataDir, 'temporal', 'temporal.db');
}

export function minioDataDir(o: DevOptions): string {
  return path.join(o.dataDir, 'minio');
}

export function createMinioClient(o: DevOptions, options: { retries?: boolean } = {}): MinioClient {
  return new MinioClient({
    endPoint: o.host,
    port: o.minio.port,
    useSSL: false,
    accessKey: o.minio.accessKey,
    secretKey: o.minio.secretKey,
    region: o.minio.region,
    ...(options.retries === false ? { retryOptions: { disableRetry: true } } : {}),
  });
}

/** Right after /minio/health/ready turns 200, MinIO can still answer 503 for a moment while IAM initialises. */
const BUCKET_SETTLE_MS = 15_000;

/** Creates the bucket unless it exists; a concurrent creator winning the race is fine. */
export async function ensureBucket(o: DevOptions): Promise<string | undefined> {
  // Our own retry loop instead of the client's, which prints a warning for every retry.
  const client = createMinioClient(o, { retries: false });
  const deadline = Date.now() + BUCKET_SETTLE_MS;
  for (;;) {
    try {
      return await createBucketIfMissing(client, o);
    } catch (error) {
      const settling = /Retryable HTTP status: 503/.test(String(error));
      if (!settling || Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

async function createBucketIfMissing(client: MinioClient, o: DevOptions): Promise<string | undefined> {
  const { bucket } = o.minio;
  try {
    if (await client.bucketExists(bucket)) return undefined;
    await client.makeBucket(bucket, o.minio.region);
    return `created bucket ${bucket}`;
  } catch (error) {
    const code = error instanceof S3Error ? error.code : undefined;
    if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') return undefined;
    if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'AccessDenied') {
      throw new Error(
        `MinIO at ${minioApiUrl(o)} rejected S3_ACCESS_KEY/S3_SECRET_KEY (${code}); ` +
          `it was probably started with other credentials, so bucket ${bucket} could not be checked`,
        { cause: error },
      );
    }
    throw error;
  }
}
