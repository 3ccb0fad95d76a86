import { createHash, randomFillSync, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import { loadConfig, type S3Settings } from '../../lib/config';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { S3ArtifactStore, type S3StoreOptions } from '../../lib/store/s3-store';
import { median, round, trackPeakRss, type BenchRow, type Suite } from '../harness';

const MiB = 1024 * 1024;
const OBJECT_BYTES = 256 * MiB;
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 5);
const RATIO_TARGET = 0.9;
const RSS_TARGET_MIB = 64;

interface Sample {
  mibPerSecond: number;
  rssGrowthMiB: number;
}

type Path = 'S3ArtifactStore' | 'raw minio client' | 'FsArtifactStore';
type Operation = 'put' | 'get';

const suite: Suite = {
  description: `put and get of a ${OBJECT_BYTES / MiB} MiB object: S3ArtifactStore vs the raw minio client (same object, same run), plus the fs store`,
  async run() {
    const settings = s3SettingsFromEnv();
    const storeOptions = storeOptionsFromEnv();
    const s3Store = new S3ArtifactStore(settings, storeOptions);
    await s3Store.ensureReady();
    const raw = new Client({
      endPoint: settings.endPoint,
      port: settings.port,
      useSSL: settings.useSSL,
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
    });
    const workDir = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-artifacts-'));
    const fsStore = new FsArtifactStore(path.join(workDir, 'fs-store'));
    await fsStore.ensureReady();
    const prefix = `bench/artifacts/${randomUUID().slice(0, 8)}/`;
    const samples = new Map<string, Sample[]>();
    const record = (operation: Operation, via: Path, sample: Sample) => {
      const id = `${operation}|${via}`;
      samples.set(id, [...(samples.get(id) ?? []), sample]);
    };

    try {
      const sourceFile = path.join(workDir, 'object.bin');
      const expectedSha256 = await writeRandomFile(sourceFile, OBJECT_BYTES);

      for (let rep = 0; rep < REPETITIONS; rep++) {
        // Alternate which path goes first so warm caches and GC debt don't always favour one side.
        const s3Paths: Path[] =
          rep % 2 === 0 ? ['S3ArtifactStore', 'raw minio client'] : ['raw minio client', 'S3ArtifactStore'];
        for (const via of s3Paths) {
          record(
            'put',
            via,
            await measure(async () => {
              if (via === 'S3ArtifactStore') {
                const result = await s3Store.putFile(`${prefix}store.bin`, sourceFile, { bytes: OBJECT_BYTES });
                if (result.sha256 !== expectedSha256) throw new Error('S3ArtifactStore put reported a wrong sha256');
              } else {
                await raw.putObject(
                  settings.bucket,
                  `${prefix}raw.bin`,
                  createReadStream(sourceFile, { highWaterMark: MiB }),
                  OBJECT_BYTES,
                );
              }
            }),
          );
        }
        for (const via of s3Paths) {
          // Both read the object the store wrote, so the server-side layout is the same for each.
          record(
            'get',
            via,
            await measure(async () => {
              const body =
                via === 'S3ArtifactStore'
                  ? await s3Store.get(`${prefix}store.bin`)
                  : await raw.getObject(settings.bucket, `${prefix}store.bin`);
              if ((await sha256Of(body)) !== expectedSha256) throw new Error(`${via} get returned different bytes`);
            }),
          );
        }
        record(
          'put',
          'FsArtifactStore',
          await measure(() => fsStore.putFile('bench/object.bin', sourceFile).then(() => undefined)),
        );
        record(
          'get',
          'FsArtifactStore',
          await measure(async () => {
            if ((await sha256Of(await fsStore.get('bench/object.bin'))) !== expectedSha256)
              throw new Error('FsArtifactStore get returned different bytes');
          }),
        );
      }
    } finally {
      for await (const info of s3Store.list(prefix)) await s3Store.delete(info.key);
      await rm(workDir, { recursive: true, force: true });
    }

    return summarize(samples, storeOptions);
  },
};

export default suite;

function summarize(samples: Map<string, Sample[]>, storeOptions: Required<S3StoreOptions>) {
  const get = (operation: Operation, via: Path) => samples.get(`${operation}|${via}`) ?? [];
  const speed = (operation: Operation, via: Path) => median(get(operation, via).map((s) => s.mibPerSecond));
  // Store and raw run back to back within a repetition, so their ratio cancels out load from other
  // processes that a ratio of medians taken over minutes would not.
  const pairedRatios = (operation: Operation) => {
    const raw = get(operation, 'raw minio client');
    return get(operation, 'S3ArtifactStore').map((s, i) => s.mibPerSecond / (raw[i] as Sample).mibPerSecond);
  };
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  for (const operation of ['put', 'get'] as const) {
    for (const via of ['S3ArtifactStore', 'raw minio client', 'FsArtifactStore'] as const) {
      const runs = get(operation, via);
      rows.push({
        operation,
        path: via,
        'median MiB/s': round(speed(operation, via), 1),
        'runs MiB/s': runs.map((s) => round(s.mibPerSecond, 0)).join(' / '),
        'store/raw (median of pairs)': via === 'S3ArtifactStore' ? round(median(pairedRatios(operation)), 2) : null,
        'peak RSS growth MiB': round(Math.max(...runs.map((s) => s.rssGrowthMiB)), 1),
      });
    }
  }
  for (const operation of ['put', 'get'] as const) {
    const ratios = pairedRatios(operation);
    const ratio = median(ratios);
    notes.push(
      `${operation}: store/raw = ${round(ratio, 2)} (median of per-repetition ratios ${ratios.map((r) => round(r, 2)).join(', ')}; ` +
        `ratio of medians ${round(speed(operation, 'S3ArtifactStore') / speed(operation, 'raw minio client'), 2)}; target ≥ ${RATIO_TARGET}) — ${ratio >= RATIO_TARGET ? 'met' : 'MISSED'}`,
    );
  }
  const storeRss = Math.max(
    ...(['put', 'get'] as const).flatMap((op) => get(op, 'S3ArtifactStore').map((s) => s.rssGrowthMiB)),
  );
  notes.push(
    `S3ArtifactStore peak RSS growth = ${round(storeRss, 1)} MiB, worst of all its runs (target < ${RSS_TARGET_MIB} MiB) — ${storeRss < RSS_TARGET_MIB ? 'met' : 'MISSED'}`,
  );
  notes.push(
    `S3ArtifactStore put: ${storeOptions.partBytes / MiB} MiB parts, ${storeOptions.uploadConcurrency} in flight; the raw client's putObject ` +
      'uploads 64 MiB parts one at a time and buffers each, hence its larger RSS. Both gets are the same minio getObject call.',
  );
  const [load1, load5] = os.loadavg();
  notes.push(
    `${REPETITIONS} repetitions, alternating which S3 path runs first; each get hashes the body (sha256) and checks it. ` +
      `Load average ${round(load1 ?? 0, 1)} / ${round(load5 ?? 0, 1)} (1 / 5 min) on ${os.cpus().length} CPUs, shared with MinIO: per-run speeds are noisy.`,
  );
  return {
    rows,
    notes,
    meta: { objectBytes: OBJECT_BYTES, repetitions: REPETITIONS, loadAverage: os.loadavg(), ...storeOptions },
  };
}

async function measure(action: () => Promise<void>): Promise<Sample> {
  const rss = trackPeakRss(5);
  const started = process.hrtime.bigint();
  await action();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { mibPerSecond: OBJECT_BYTES / MiB / seconds, rssGrowthMiB: rss.stop().growthBytes / MiB };
}

async function writeRandomFile(file: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  try {
    const chunk = Buffer.allocUnsafe(4 * MiB);
    for (let written = 0; written < bytes; written += chunk.length) {
      randomFillSync(chunk);
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sha256Of(body: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function storeOptionsFromEnv(): Required<S3StoreOptions> {
  return {
    partBytes: Number(process.env.BENCH_PART_MIB ?? 8) * MiB,
    uploadConcurrency: Number(process.env.BENCH_UPLOAD_CONCURRENCY ?? 4),
  };
}

function s3SettingsFromEnv(): S3Settings {
  if (!process.env.S3_ENDPOINT)
    throw new Error('The artifacts benchmark needs a real MinIO: set S3_ENDPOINT=http://127.0.0.1:9000');
  const config = loadConfig({ ...process.env, TRAINYARD_STORE: 's3' });
  if (config.store.kind !== 's3') throw new Error('expected an S3 store configuration');
  return config.store.s3;
}
