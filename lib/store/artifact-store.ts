import type { Readable } from 'node:stream';

/** What the store knows about one object. `etag` is opaque: compare it, never parse it. */
export interface ObjectInfo {
  key: string;
  uri: string;
  bytes: number;
  etag: string;
  lastModified: Date;
  contentType?: string;
}

export interface PutResult {
  key: string;
  uri: string;
  bytes: number;
  etag: string;
  /** sha256 of the bytes written, computed while streaming. */
  sha256: string;
}

/** Conditional writes: the basis of idempotent stages and concurrency-safe registries. */
export type PutCondition =
  | { ifNoneMatch: '*' } // create only: fail with PreconditionFailedError if the key exists
  | { ifMatch: string }; // replace only the version whose etag is given

export interface PutOptions {
  contentType?: string;
  condition?: PutCondition;
  /** Size if known; lets the S3 store choose part sizes. */
  bytes?: number;
}

/**
 * One interface over object storage. Keys are relative ("models/iris/v1/model.json"),
 * validated by `validateKey`; URIs are `s3://bucket/key` or `file:///root/key`.
 */
export interface ArtifactStore {
  readonly kind: 's3' | 'fs';
  /** Ready the backing storage (create the bucket / root directory if missing). Idempotent. */
  ensureReady(): Promise<void>;
  put(key: string, body: Readable | Buffer | string, options?: PutOptions): Promise<PutResult>;
  putFile(key: string, filePath: string, options?: PutOptions): Promise<PutResult>;
  get(key: string): Promise<Readable>;
  /** Returns undefined when the key does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  presignedGetUrl(key: string, expirySeconds?: number): Promise<string>;
  uriFor(key: string): string;
  /** Inverse of uriFor: the key a URI names in this store; throws InvalidArtifactKeyError if it names another store. */
  keyFor(uri: string): string;
}

export class PreconditionFailedError extends Error {
  constructor(
    readonly key: string,
    readonly condition: PutCondition,
  ) {
    super(
      `Conditional write to "${key}" refused: ${'ifNoneMatch' in condition ? 'the key already exists' : 'the etag changed'}`,
    );
    this.name = 'PreconditionFailedError';
  }
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`No object at "${key}"`);
    this.name = 'ObjectNotFoundError';
  }
}

export class InvalidArtifactKeyError extends Error {
  constructor(
    readonly key: string,
    readonly rule: string,
  ) {
    super(`Invalid artifact key ${JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key)}: ${rule}`);
    this.name = 'InvalidArtifactKeyError';
  }
}
