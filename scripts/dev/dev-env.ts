import type { ServiceName } from '../../lib/dev-services/service-state';
import { hostForUrl, type DevOptions } from './dev-options';

/** Variables that point the worker and CLI at these services, for `eval "$(trainyard dev env)"`. */
export function devEnvironment(o: DevOptions): Record<string, string> {
  return { ...serviceEnvironment(o, 'temporal'), ...serviceEnvironment(o, 'minio') };
}

/** One service's share of `dev env`; `dev up` also keeps it in the service's state file, where the CLI finds it. */
export function serviceEnvironment(o: DevOptions, service: ServiceName): Record<string, string> {
  const host = hostForUrl(o.host);
  if (service === 'temporal') {
    return {
      TEMPORAL_ADDRESS: `${host}:${o.temporal.port}`,
      TEMPORAL_NAMESPACE: o.temporal.namespace,
      TEMPORAL_UI_URL: `http://${host}:${o.temporal.uiPort}`,
    };
  }
  return {
    TRAINYARD_STORE: 's3',
    S3_ENDPOINT: `http://${host}:${o.minio.port}`,
    S3_ACCESS_KEY: o.minio.accessKey,
    S3_SECRET_KEY: o.minio.secretKey,
    S3_BUCKET: o.minio.bucket,
    S3_REGION: o.minio.region,
  };
}

export function formatExports(variables: Record<string, string>): string {
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  return Object.entries(variables)
    .map(([name, value]) => `export ${name}=${quote(value)}`)
    .join('\n');
}
