import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadResult {
  latenciesMs: number[];
  wallMs: number;
  requests: number;
  errors: number;
}

/**
 * A bounded load loop against a loopback URL: `requests` POSTs of `body`, `concurrency` at a time, over
 * keep-alive connections (node:http, so the client costs the same for every server measured).
 */
export async function postLoop(url: string, body: string, requests: number, concurrency: number): Promise<LoadResult> {
  const target = new URL('/predict', url);
  if (target.hostname !== '127.0.0.1') throw new Error(`the load loop only targets 127.0.0.1, not ${target.hostname}`);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const payload = Buffer.from(body);
  const latenciesMs: number[] = [];
  let errors = 0;
  let next = 0;
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        const t0 = performance.now();
        const status = await one().catch(() => 0);
        latenciesMs.push(performance.now() - t0);
        if (status !== 200) errors++;
      }
    }),
  );
  const wallMs = performance.now() - started;
  agent.destroy();
  return { latenciesMs, wallMs, requests, errors };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
