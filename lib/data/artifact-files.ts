import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { z } from 'zod';
import type { ArtifactKind, ArtifactRef } from '../../contracts/artifacts';
import type { ArtifactStore } from '../store/artifact-store';
import { readObject } from '../store/read-object';

/** A stored artifact that cannot be used as what it claims to be: changed, corrupted or of another shape. */
export class ArtifactFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactFormatError';
  }
}

/** Thrown when an artifact's bytes are not the ones its ref names: a corrupted or overwritten object. */
export class ArtifactChecksumError extends ArtifactFormatError {
  constructor(
    readonly uri: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `Artifact ${uri} has sha256 ${actual}, but its ref says ${expected}: it was changed or corrupted after it was written`,
    );
    this.name = 'ArtifactChecksumError';
  }
}

/** Thrown when an artifact's JSON does not have the shape its kind requires. */
export class ArtifactInvalidError extends ArtifactFormatError {
  constructor(
    readonly uri: string,
    readonly kind: string,
    problems: string,
  ) {
    super(`Artifact ${uri} is not a valid ${kind}: ${problems}`);
    this.name = 'ArtifactInvalidError';
  }
}

/** Streams an artifact to a local file, checking its sha256 against the ref on the way. */
export async function downloadArtifact(
  store: ArtifactStore,
  ref: ArtifactRef,
  filePath: string,
  signal?: AbortSignal,
): Promise<void> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(await store.get(store.keyFor(ref.uri)), tap, createWriteStream(filePath), signal ? { signal } : {});
  const actual = hash.digest('hex');
  if (actual !== ref.sha256) throw new ArtifactChecksumError(ref.uri, ref.sha256, actual);
}

/** Reads a JSON artifact, checks its sha256 and validates it with `schema` (files from the store are validated at the edge). */
export async function readJsonArtifact<S extends z.ZodType>(
  store: ArtifactStore,
  ref: ArtifactRef,
  schema: S,
): Promise<z.output<S>> {
  const bytes = await readObject(store, store.keyFor(ref.uri));
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== ref.sha256) throw new ArtifactChecksumError(ref.uri, ref.sha256, actual);
  const parsed = schema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ArtifactInvalidError(ref.uri, ref.kind, problems);
  }
  return parsed.data;
}

/** Writes `value` as indented JSON at `key` and returns its ref. */
export async function putJsonArtifact(
  store: ArtifactStore,
  key: string,
  kind: ArtifactKind,
  value: unknown,
  metadata?: ArtifactRef['metadata'],
): Promise<ArtifactRef> {
  const put = await store.put(key, JSON.stringify(value, null, 2), { contentType: 'application/json' });
  return { kind, uri: put.uri, sha256: put.sha256, bytes: put.bytes, ...(metadata ? { metadata } : {}) };
}
