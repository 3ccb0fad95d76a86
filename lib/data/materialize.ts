import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InvalidArtifactKeyError, type ArtifactStore, type ObjectInfo } from '../store/artifact-store';
import { datasetNotFound, datasetUnreadable, invalidDatasetUri } from './failures';
import { partitionOf } from './partitions';

export type DatasetFormat = 'csv' | 'tsv' | 'parquet' | 'json' | 'jsonl';
export type RequestedFormat = 'auto' | DatasetFormat;

/** A dataset copied from the store to local files that DuckDB can read. */
export interface LocalDataset {
  uri: string;
  /** Absolute paths, one per object (a partitioned dataset has several). */
  files: string[];
  format: DatasetFormat;
  /** True when the files are gzip'd. */
  compressed: boolean;
  bytes: number;
  cleanup(): Promise<void>;
}

export interface MaterializeOptions {
  format?: RequestedFormat;
  /** For a prefix: read only these partitions (the fingerprint's `partitions`); default every file. */
  partitions?: readonly string[];
  signal?: AbortSignal;
  /** Total bytes downloaded so far; called every PROGRESS_EVERY_BYTES and after each file. */
  onProgress?: (bytes: number) => void;
}

const PROGRESS_EVERY_BYTES = 16 * 1024 * 1024;
const SNIFF_BYTES = 64 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b];
const EXTENSIONS: Record<string, DatasetFormat> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  parquet: 'parquet',
  json: 'json',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
};
const CANONICAL_EXTENSION: Record<DatasetFormat, string> = {
  csv: 'csv',
  tsv: 'tsv',
  parquet: 'parquet',
  json: 'json',
  jsonl: 'jsonl',
};

/**
 * Streams a dataset from the store to a fresh temp directory: one object, or every object under a
 * prefix when the URI ends with "/" (a partitioned dataset; marker files such as `_SUCCESS` and hidden
 * files are skipped). Relative paths under the prefix are kept, so Hive-style `year=2024/` folders
 * still name partition columns. Nothing is held in memory beyond a stream chunk.
 */
export async function materializeDataset(
  store: ArtifactStore,
  uri: string,
  options: MaterializeOptions = {},
): Promise<LocalDataset> {
  const objects = await listDatasetObjects(store, uri, options.partitions);
  const directory = await mkdtemp(path.join(os.tmpdir(), 'trainyard-dataset-'));
  const cleanup = () => rm(directory, { recursive: true, force: true });
  try {
    const files: { path: string; format: DatasetFormat; compressed: boolean }[] = [];
    let bytes = 0;
    for (const { object, relativePath } of objects) {
      options.signal?.throwIfAborted();
      const localPath = path.join(directory, relativePath);
      await mkdir(path.dirname(localPath), { recursive: true });
      const before = bytes;
      await pipeline(
        await store.get(object.key),
        countBytes((read) => {
          const now = before + read;
          if (Math.floor(now / PROGRESS_EVERY_BYTES) > Math.floor(bytes / PROGRESS_EVERY_BYTES))
            options.onProgress?.(now);
          bytes = now;
        }),
        createWriteStream(localPath),
        { signal: options.signal },
      );
      options.onProgress?.(bytes);
      const detected = await detectFormat(localPath, options.format ?? 'auto', uri);
      files.push({ path: await withCanonicalExtension(localPath, detected), ...detected });
    }
    const format = singleFormat(files, uri);
    return {
      uri,
      files: files.map((f) => f.path),
      format,
      compressed: files.some((f) => f.compressed),
      bytes,
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export interface DatasetObject {
  object: ObjectInfo;
  relativePath: string;
}

/** The data files a URI names, sorted by relative path; for a prefix with `partitions`, only those partitions' files. */
export async function listDatasetObjects(
  store: ArtifactStore,
  uri: string,
  partitions?: readonly string[],
): Promise<DatasetObject[]> {
  const isPrefix = uri.endsWith('/');
  const key = keyOf(store, isPrefix ? uri.slice(0, -1) : uri);
  if (!isPrefix) {
    const object = await store.stat(key);
    if (!object) throw datasetNotFound(uri);
    return [{ object, relativePath: path.posix.basename(key) }];
  }
  const prefix = `${key}/`;
  const found: DatasetObject[] = [];
  for await (const object of store.list(prefix)) {
    const relativePath = object.key.slice(prefix.length);
    if (relativePath === '' || relativePath.endsWith('/') || isMarkerFile(relativePath)) continue;
    found.push({ object, relativePath });
  }
  if (found.length === 0) throw datasetNotFound(uri, 'the prefix holds no data files');
  found.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  return partitions ? inPartitions(found, partitions, uri) : found;
}

/** The files of the given partitions; each partition must hold at least one (it was listed when chosen). */
export function inPartitions(
  objects: readonly DatasetObject[],
  partitions: readonly string[],
  uri: string,
): DatasetObject[] {
  const wanted = new Set(partitions);
  const kept = objects.filter((o) => wanted.has(partitionOf(o.relativePath)));
  if (kept.length === 0)
    throw datasetNotFound(uri, `none of the partitions ${partitions.slice(0, 5).join(', ')} holds data files`);
  const found = new Set(kept.map((o) => partitionOf(o.relativePath)));
  const empty = partitions.filter((p) => !found.has(p));
  if (empty.length > 0)
    throw datasetNotFound(
      uri,
      `partition${empty.length > 1 ? 's' : ''} ${empty.join(', ')} hold${empty.length > 1 ? '' : 's'} no data files`,
    );
  return kept;
}

/** `_SUCCESS`, `_metadata`, `.crc` files and other hidden names that writers leave beside partitions. */
function isMarkerFile(relativePath: string): boolean {
  return relativePath.split('/').some((segment) => segment.startsWith('_') || segment.startsWith('.'));
}

/** The store key a URI names, or InvalidPipelineConfig when the URI points outside this worker's store. */
export function keyOf(store: ArtifactStore, uri: string): string {
  try {
    return store.keyFor(uri);
  } catch (error) {
    if (error instanceof InvalidArtifactKeyError) throw invalidDatasetUri(uri, error.message);
    throw error;
  }
}

function countBytes(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      onBytes(total);
      callback(null, chunk);
    },
  });
}

/** Format from the extension (`.csv.gz` etc.), else from the content; a requested format wins over both. */
export async function detectFormat(
  filePath: string,
  requested: RequestedFormat,
  uri: string,
): Promise<{ format: DatasetFormat; compressed: boolean }> {
  const head = await readHead(filePath, SNIFF_BYTES);
  const compressed = head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  if (requested !== 'auto') return { format: requested, compressed };
  const fromName = formatFromName(filePath);
  if (fromName) return { format: fromName, compressed };
  const text = compressed ? await readGunzippedHead(filePath, SNIFF_BYTES) : head;
  const sniffed = formatFromContent(text);
  if (!sniffed) {
    throw datasetUnreadable(
      uri,
      `${path.basename(filePath)} is neither CSV, TSV, Parquet, JSON nor JSONL (judged by its name and first bytes)`,
      'Give the file a .csv, .tsv, .parquet, .json or .jsonl name (optionally .gz), or set dataset.format.',
    );
  }
  return { format: sniffed, compressed };
}

export function formatFromName(fileName: string): DatasetFormat | undefined {
  const parts = path.basename(fileName).toLowerCase().split('.');
  if (parts.at(-1) === 'gz') parts.pop();
  return parts.length > 1 ? EXTENSIONS[parts.at(-1) as string] : undefined;
}

export function formatFromContent(head: Buffer): DatasetFormat | undefined {
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  if (head.includes(0)) return undefined; // binary, and not Parquet
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) return 'json';
  if (trimmed.startsWith('{')) {
    const firstLine = trimmed.split('\n', 1)[0]?.trim() ?? '';
    try {
      JSON.parse(firstLine);
      return 'jsonl';
    } catch {
      return 'json';
    }
  }
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  if (firstLine.length === 0) return undefined;
  const tabs = firstLine.split('\t').length - 1;
  const commas = firstLine.split(',').length - 1;
  return tabs > commas ? 'tsv' : 'csv';
}

async function readHead(filePath: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(filePath, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function readGunzippedHead(filePath: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const stream = createReadStream(filePath).pipe(createGunzip());
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (bytes >= maxBytes) break;
    }
  } catch {
    // A truncated or corrupt gzip stream: sniff what came out; DuckDB will report the real error.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

/** DuckDB picks its decompressor by extension, so a sniffed file gets a name that says what it is. */
async function withCanonicalExtension(
  filePath: string,
  detected: { format: DatasetFormat; compressed: boolean },
): Promise<string> {
  const lower = filePath.toLowerCase();
  const nameSaysGzip = lower.endsWith('.gz');
  if (formatFromName(filePath) === detected.format && nameSaysGzip === detected.compressed) return filePath;
  const target = `${filePath}.${CANONICAL_EXTENSION[detected.format]}${detected.compressed ? '.gz' : ''}`;
  await rename(filePath, target);
  return target;
}

function singleFormat(files: { path: string; format: DatasetFormat }[], uri: string): DatasetFormat {
  const formats = [...new Set(files.map((f) => f.format))];
  if (formats.length !== 1) {
    throw datasetUnreadable(
      uri,
      `its files mix formats (${formats.join(', ')})`,
      'Keep one format under a dataset prefix.',
    );
  }
  return formats[0] as DatasetFormat;
}
