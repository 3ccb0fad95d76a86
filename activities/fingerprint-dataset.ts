import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../contracts/errors';
import type { DatasetFingerprint } from '../contracts/stages';
import { InvalidArtifactKeyError } from '../lib/store/artifact-store';
import type { ActivityDeps } from './deps';

const HEARTBEAT_EVERY_BYTES = 64 * 1024 * 1024;

/** Streams bytes through sha256 without holding them; `onProgress` fires every HEARTBEAT_EVERY_BYTES. */
export async function hashStream(
  stream: Readable,
  onProgress: (bytes: number) => void = () => {},
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
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
  return { sha256: hash.digest('hex'), bytes };
}

export function fingerprintDatasetActivity({ store }: ActivityDeps) {
  return async function fingerprintDataset({ uri }: { uri: string }): Promise<DatasetFingerprint> {
    const key = datasetKey(store.keyFor.bind(store), uri);
    const info = await store.stat(key);
    if (!info) {
      throw ApplicationFailure.create({
        type: FailureType.DatasetNotFound,
        nonRetryable: true,
        message: `No dataset at ${uri}. Upload it first, e.g. "trainyard data put ./data.csv ${uri}".`,
        details: [{ uri }],
      });
    }
    const ctx = Context.current();
    const stream = await store.get(key);
    ctx.cancellationSignal.addEventListener('abort', () => stream.destroy(), { once: true });
    const { sha256, bytes } = await hashStream(stream, (read) => ctx.heartbeat({ bytesRead: read }));
    ctx.log.info('dataset fingerprinted', { uri, bytes, sha256 });
    return { uri, sha256, bytes };
  };
}

function datasetKey(keyFor: (uri: string) => string, uri: string): string {
  try {
    return keyFor(uri);
  } catch (error) {
    if (!(error instanceof InvalidArtifactKeyError)) throw error;
    throw ApplicationFailure.create({
      type: FailureType.InvalidPipelineConfig,
      nonRetryable: true,
      message: `dataset.uri ${uri} cannot be read by this worker: ${error.message}`,
      details: [{ path: 'dataset.uri', message: error.message }],
    });
  }
}
