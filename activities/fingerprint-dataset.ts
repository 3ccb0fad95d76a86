import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import type { PartitionSelection } from '../contracts/stage-config';
import type { DatasetFingerprint } from '../contracts/stages';
import { inPartitions, listDatasetObjects, type DatasetObject } from '../lib/data/materialize';
import { choosePartitions, partitionOf } from '../lib/data/partitions';
import type { ArtifactStore } from '../lib/store/artifact-store';
import type { ActivityDeps } from './deps';

export interface FingerprintArgs {
  uri: string;
  /** For a partitioned dataset: which partitions to read (default all). */
  partitions?: PartitionSelection;
  /** ISO time "latest" and windows are judged against (the run's scheduled time). */
  asOf?: string;
}

const HEARTBEAT_EVERY_BYTES = 64 * 1024 * 1024;

/** Streams bytes into `hash` without holding them; `onProgress` fires every HEARTBEAT_EVERY_BYTES. */
export async function hashStream(
  stream: Readable,
  hash: Hash = createHash('sha256'),
  onProgress: (bytes: number) => void = () => {},
): Promise<number> {
  let bytes = 0;
  let nextReport = HEARTBEAT_EVERY_BYTES;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    if (bytes >= nextReport) {
      onProgress(bytes);
      nextReport += HEARTBEAT_EVERY_BYTES;
    }
  }
  return bytes;
}

/**
 * The dataset's sha256 and size, streamed. A single object hashes to the sha256 of its bytes; a prefix
 * (a partitioned dataset, URI ending in "/") hashes each data file's relative path and bytes in order,
 * so renaming, adding or changing a partition changes the fingerprint. With a partition selection
 * other than "all", only the chosen partitions are hashed, and named in the result for the readers.
 */
export function fingerprintDatasetActivity({ store }: ActivityDeps) {
  return async function fingerprintDataset({
    uri,
    partitions = 'all',
    asOf,
  }: FingerprintArgs): Promise<DatasetFingerprint> {
    const ctx = Context.current();
    const fingerprint = await fingerprintSelection(
      store,
      uri,
      partitions,
      asOf === undefined ? new Date() : new Date(asOf),
      {
        signal: ctx.cancellationSignal,
        onProgress: (file, bytesRead) => ctx.heartbeat({ file, bytesRead }),
      },
    );
    ctx.log.info('dataset fingerprinted', { ...fingerprint });
    return fingerprint;
  };
}

export interface HashProgress {
  signal?: AbortSignal;
  /** Called every HEARTBEAT_EVERY_BYTES with the file being read and the bytes hashed so far. */
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
