import { Connection } from '@temporalio/client';
import { hostForUrl } from './dev-options';
import { isPortInUse } from './processes';

const SERVING = 1; // grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING

/** Temporal's gRPC health service answers SERVING within `timeoutMs`. */
export async function isTemporalHealthy(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  // gRPC keeps retrying a refused connection until its deadline; a plain TCP probe answers "nothing there" at once.
  if (!(await isPortInUse(host, port))) return false;
  // Lazy, so the channel exists (and is closed below) even when connecting fails or times out.
  const connection = Connection.lazy({ address: `${hostForUrl(host)}:${port}`, connectTimeout: timeoutMs });
  try {
    const response = await connection.withDeadline(Date.now() + timeoutMs, () => connection.healthService.check({}));
    return response.status === SERVING;
  } catch {
    return false;
  } finally {
    await connection.close().catch(() => {});
  }
}

/** MinIO's readiness endpoint answers 200 within `timeoutMs`. */
export async function isMinioReady(apiUrl: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const response = await fetch(`${apiUrl}/minio/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}
