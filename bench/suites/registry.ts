import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { loadConfig } from '../../lib/config';
import { promoteAlias, registerVersion } from '../../lib/registry';
import { modelPrefix } from '../../lib/registry/keys';
import { PreconditionFailedError, type ArtifactStore, type PutOptions } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { fakeDraft, uniqueModelName } from '../../test/support/registry-fixtures';
import { median, round, type BenchRow, type Suite } from '../harness';

const OPERATIONS = Number(process.env.BENCH_REGISTRY_OPS ?? 30);
const WRITER_COUNTS = [1, 10];
const EXISTING_VERSIONS = 200;
const AT = new Date(0).toISOString();

/** Counts lost compare-and-swap races: the price of optimistic concurrency under contention. */
class CountingStore {
  conflicts = 0;
  constructor(readonly inner: ArtifactStore) {}
  wrap(): ArtifactStore {
    return new Proxy(this.inner, {
      get: (target, property, receiver) => {
        if (property !== 'put') return Reflect.get(target, property, receiver);
        return async (key: string, body: Readable | Buffer | string, options?: PutOptions) => {
          try {
            return await target.put(key, body, options);
          } catch (error) {
            if (error instanceof PreconditionFailedError) this.conflicts++;
            throw error;
          }
        };
      },
    });
  }
}

async function measure(
  ops: number,
  writers: number,
  operation: (i: number) => Promise<unknown>,
): Promise<{ wallMs: number; latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let i = next++; i < ops; i = next++) {
        const t0 = performance.now();
        await operation(i);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { wallMs: performance.now() - started, latenciesMs };
}

function row(
  store: string,
  operation: string,
  writers: number,
  ops: number,
  wallMs: number,
  latenciesMs: number[],
  conflicts: number,
): BenchRow {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    store,
    operation,
    writers,
    ops,
    opsPerSecond: round((ops / wallMs) * 1000, 1),
    medianMs: round(median(latenciesMs), 1),
    p95Ms: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? Number.NaN, 1),
    lostCasRaces: conflicts,
  };
}

const suite: Suite = {
  description: `registry: register and promote with 1 and 10 concurrent writers on one model (${OPERATIONS} ops each), MinIO and the fs store`,
  async run() {
    const config = loadConfig();
    if (config.store.kind !== 's3')
      throw new Error('Set S3_ENDPOINT and TRAINYARD_STORE=s3: the suite measures MinIO beside the fs store.');
    const fsRoot = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-registry-'));
    const backends: Array<[string, ArtifactStore]> = [
      ['MinIO', createArtifactStore(config.store)],
      ['fs', new FsArtifactStore(fsRoot)],
    ];
    const rows: BenchRow[] = [];
    const models: Array<[ArtifactStore, string]> = [];
    try {
      for (const [name, base] of backends) {
        await base.ensureReady();
        for (const writers of WRITER_COUNTS) {
          const counting = new CountingStore(base);
          const store = counting.wrap();
          const model = uniqueModelName('bench');
          models.push([base, model]);
          const reg = await measure(OPERATIONS, writers, () => registerVersion(store, fakeDraft(model)));
          rows.push(row(name, 'register', writers, OPERATIONS, reg.wallMs, reg.latenciesMs, counting.conflicts));
          counting.conflicts = 0;
          const promote = await measure(OPERATIONS, writers, (i) =>
            promoteAlias(store, {
              model,
              alias: 'champion',
              version: (i % OPERATIONS) + 1,
              by: `w${i}`,
              reason: 'bench',
              at: AT,
            }),
          );
          rows.push(row(name, 'promote', writers, OPERATIONS, promote.wallMs, promote.latenciesMs, counting.conflicts));
        }
        // Registration lists the model's versions to find the latest: its cost grows with the history.
        const model = uniqueModelName('bench-deep');
        models.push([base, model]);
        for (let i = 0; i < EXISTING_VERSIONS; i++) await registerVersion(base, fakeDraft(model));
        const deep = await measure(10, 1, () => registerVersion(base, fakeDraft(model)));
        rows.push(row(name, `register after ${EXISTING_VERSIONS} versions`, 1, 10, deep.wallMs, deep.latenciesMs, 0));
      }
    } finally {
      for (const [store, model] of models)
        for await (const info of store.list(modelPrefix(model))) await store.delete(info.key);
      await rm(fsRoot, { recursive: true, force: true });
    }
    const at = (store: string, operation: string, writers: number) =>
      rows.find((r) => r.store === store && r.operation === operation && r.writers === writers);
    const notes = ['MinIO', 'fs'].flatMap((store) =>
      ['register', 'promote'].map((operation) => {
        const one = at(store, operation, 1)?.opsPerSecond as number;
        const ten = at(store, operation, 10)?.opsPerSecond as number;
        return `${store} ${operation}: 10 writers reach ${round(ten / one, 2)}× the throughput of 1 (every op still lands exactly once).`;
      }),
    );
    return { rows, notes, meta: { operations: OPERATIONS, existingVersions: EXISTING_VERSIONS } };
  },
};

export default suite;
