import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import type { PartitionSelection } from '../contracts/stage-config';
import type { DatasetFingerprint } from '../contracts/stages';
import { listDatasetObjects } from '../lib/data/materialize';
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
export async function hashStream(stream: Readable, hash: Hash = createHash('sha256'), onProgress: (bytes: number) => void = () => {}): Promise<number> {
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
 * so renaming, adding or changing a partition changes the fingerprint.
 */
export function fingerprintDatasetActivity({ store }: ActivityDeps) {
  return async function fingerprintDataset({ uri }: FingerprintArgs): Promise<DatasetFingerprint> {
    const objects = await listDatasetObjects(store, uri);
    const ctx = Context.current();
    const hash = createHash('sha256');
    let bytes = 0;
    for (const { object, relativePath } of objects) {
      if (uri.endsWith('/')) hash.update(`${relativePath}\0${object.bytes}\0`);
      const stream = await store.get(object.key);
      const abort = () => stream.destroy();
      ctx.cancellationSignal.addEventListener('abort', abort, { once: true });
      try {
        bytes += await hashStream(stream, hash, (read) => ctx.heartbeat({ file: relativePath, bytesRead: bytes + read }));
      } finally {
        ctx.cancellationSignal.removeEventListener('abort', abort);
      }
    }
    const sha256 = hash.digest('hex');
    ctx.log.info('dataset fingerprinted', { uri, files: objects.length, bytes, sha256 });
    return { uri, sha256, bytes };
  };
}
