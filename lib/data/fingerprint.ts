import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { PartitionSelection } from '../../contracts/stage-config';
import type { DatasetFingerprint } from '../../contracts/stages';
import type { ArtifactStore } from '../store/artifact-store';
import { inPartitions, listDatasetObjects, type DatasetObject } from './materialize';
import { choosePartitions, partitionOf } from './partitions';

const PROGRESS_EVERY_BYTES = 64 * 1024 * 1024;

/** Streams bytes into `hash` without holding them; `onProgress` fires every PROGRESS_EVERY_BYTES. */
export async function hashStream(
  stream: Readable,
  hash: Hash = createHash('sha256'),
  onProgress: (bytes: number) => void = () => {},
): Promise<number> {
  let bytes = 0;
  let nextReport = PROGRESS_EVERY_BYTES;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    if (bytes >= nextReport) {
      onProgress(bytes);
      nextReport += PROGRESS_EVERY_BYTES;
    }
  }
  return bytes;
}

export interface HashProgress {
  signal?: AbortSignal;
  /** Called every PROGRESS_EVERY_BYTES with the file being read and the bytes hashed so far. */
  onProgress?: (file: string, bytesRead: number) => void;
}

/** Resolves `selection` as of `asOf` and hashes the chosen files: the fingerprint every reader of that batch agrees on. */
export async function fingerprintSelection(
  store: ArtifactStore,
  uri: string,
  selection: PartitionSelection,
  asOf: Date,
  progress: HashProgress = {},
): Promise<DatasetFingerprint> {
  const { objects, partitions } = await selectDatasetObjects(store, uri, selection, asOf);
  const hash = createHash('sha256');
  let bytes = 0;
  for (const { object, relativePath } of objects) {
    progress.signal?.throwIfAborted();
    if (uri.endsWith('/')) hash.update(`${relativePath}\0${object.bytes}\0`);
    const stream = await store.get(object.key);
    const abort = () => stream.destroy();
    progress.signal?.addEventListener('abort', abort, { once: true });
    try {
      bytes += await hashStream(stream, hash, (read) => progress.onProgress?.(relativePath, bytes + read));
    } finally {
      progress.signal?.removeEventListener('abort', abort);
    }
  }
  return { uri, sha256: hash.digest('hex'), bytes, ...(partitions ? { partitions } : {}) };
}

/** The files a selection reads: all of them for "all" or a single object, else the chosen partitions' (named, oldest first). */
export async function selectDatasetObjects(
  store: ArtifactStore,
  uri: string,
  selection: PartitionSelection,
  asOf: Date,
): Promise<{ objects: DatasetObject[]; partitions?: string[] }> {
  const all = await listDatasetObjects(store, uri);
  if (selection === 'all' || !uri.endsWith('/')) return { objects: all };
  if (Number.isNaN(asOf.getTime())) throw new TypeError(`asOf is not a time: ${String(asOf)}`);
  const partitions = choosePartitions({ uri, names: all.map((o) => partitionOf(o.relativePath)), selection, asOf });
  return { objects: inPartitions(all, partitions, uri), partitions };
}
