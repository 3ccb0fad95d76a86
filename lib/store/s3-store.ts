import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import type { S3Settings } from '../config';
import {
  InvalidArtifactKeyError,
  ObjectNotFoundError,
  PreconditionFailedError,
  type ArtifactStore,
  type ObjectInfo,
  type PutCondition,
  type PutOptions,
  type PutResult,
} from './artifact-store';
import { parseArtifactUri, s3Uri, validateKey, validatePrefix } from './keys';

const MiB = 1024 * 1024;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;
const MAX_PARTS = 10_000;

export interface S3StoreOptions {
  /** Size of each multipart part; bodies up to this size go in one PUT. S3's minimum is 5 MiB. */
  partBytes?: number;
  /** Parts in flight at once. Memory held by a put is about (uploadConcurrency + 1) × partBytes. */
  uploadConcurrency?: number;
}

type Headers = Record<string, string>;

/**
 * Artifacts in an S3 bucket (MinIO in development), through the `minio` client.
 *
 * Puts are streamed: the body is cut into parts as it arrives, hashed on the way, and never held whole.
 * The multipart upload is driven here rather than by `putObject` so that parts go up concurrently and
 * conditional headers reach CompleteMultipartUpload, where S3 and MinIO evaluate them atomically.
 * `putObject` sends them only on the initiate call, which is a check, not a guarantee.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly client: Client;
  private readonly region: string;
  private readonly partBytes: number;
  private readonly uploadConcurrency: number;

  constructor(settings: S3Settings, options: S3StoreOptions = {}) {
    this.bucket = settings.bucket;
    this.region = settings.region;
    this.partBytes = options.partBytes ?? 8 * MiB;
    this.uploadConcurrency = options.uploadConcurrency ?? 4;
    if (this.partBytes < 5 * MiB)
      throw new RangeError(`partBytes must be at least 5 MiB (S3's minimum part size), got ${this.partBytes}`);
    if (!Number.isInteger(this.uploadConcurrency) || this.uploadConcurrency < 1) {
      throw new RangeError(`uploadConcurrency must be a positive integer, got ${this.uploadConcurrency}`);
    }
    const Agent = settings.useSSL ? https.Agent : http.Agent;
    this.client = new Client({
      endPoint: settings.endPoint,
      port: settings.port,
      useSSL: settings.useSSL,
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
      transportAgent: new Agent({ keepAlive: true }),
    });
  }

  async ensureReady(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket, this.region);
    } catch (error) {
      // Another process made it between our check and our create.
      const code = s3ErrorCode(error);
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
    }
  }

  async put(key: string, body: Readable | Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    return this.upload(key, (pool) => streamParts(chunksOf(body), pool), options);
  }

  /** Reads the file straight into part buffers: no stream chunks to allocate and collect. */
  async putFile(key: string, filePath: string, options: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    return this.upload(key, (pool) => fileParts(filePath, pool), options);
  }

  async get(key: string): Promise<Readable> {
    validateKey(key);
    try {
      return await this.client.getObject(this.bucket, key);
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    validateKey(key);
    try {
      const info = await this.client.statObject(this.bucket, key);
      const contentType = info.metaData['content-type'] as string | undefined;
      return {
        key,
        uri: this.uriFor(key),
        bytes: info.size,
        etag: info.etag,
        lastModified: info.lastModified,
        contentType,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
      if (item.name === undefined) continue; // common prefixes only appear in non-recursive listings
      yield {
        key: item.name,
        uri: s3Uri(this.bucket, item.name),
        bytes: item.size,
        etag: (item.etag ?? '').replace(/^"|"$/g, ''),
        lastModified: item.lastModified ?? new Date(0),
      };
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.client.removeObject(this.bucket, key);
  }

  async presignedGetUrl(key: string, expirySeconds = 60 * 60): Promise<string> {
    validateKey(key);
    if (!Number.isInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > MAX_PRESIGN_SECONDS) {
      throw new RangeError(
        `expirySeconds must be a whole number from 1 to ${MAX_PRESIGN_SECONDS} (7 days), got ${expirySeconds}`,
      );
    }
    return this.client.presignedGetObject(this.bucket, key, expirySeconds);
  }

  uriFor(key: string): string {
    return s3Uri(this.bucket, key);
  }

  keyFor(uri: string): string {
    const location = parseArtifactUri(uri);
    if (location.scheme !== 's3')
      throw new InvalidArtifactKeyError(uri, `names a local file, but this store is the S3 bucket "${this.bucket}"`);
    if (location.bucket !== this.bucket) {
      throw new InvalidArtifactKeyError(
        uri,
        `names bucket "${location.bucket}", but this store is bucket "${this.bucket}"`,
      );
    }
    return location.key;
  }

  /**
   * One PUT when the body fits in a part, else a multipart upload with up to `uploadConcurrency` parts
   * in flight. The next part is read only once a slot is free, so memory is bounded whatever the size.
   */
  private async upload(
    key: string,
    partsOf: (pool: BufferPool) => AsyncIterable<Part>,
    options: PutOptions,
  ): Promise<PutResult> {
    const pool = new BufferPool(this.partBytes);
    const hash = createHash('sha256');
    let bytes = 0;
    let upload: MultipartUpload | undefined;
    let etag: string | undefined;
    try {
      for await (const { data, final } of partsOf(pool)) {
        hash.update(data);
        bytes += data.length;
        if (final) checkDeclaredBytes(key, options, bytes);
        if (final && !upload) {
          etag = await this.putOnce(key, data, options);
        } else {
          upload ??= await this.startMultipart(key, options, pool);
          upload.send(data);
          await upload.whenSlotFree();
        }
      }
      etag ??= await (upload as MultipartUpload).complete(conditionHeaders(options.condition));
      return { key, uri: this.uriFor(key), bytes, etag, sha256: hash.digest('hex') };
    } catch (error) {
      await upload?.abort();
      throw translatePutError(error, key, options.condition);
    }
  }

  private headersFor(options: PutOptions): Headers {
    return { 'Content-Type': options.contentType ?? DEFAULT_CONTENT_TYPE };
  }

  /** The condition rides on the initiate call too, so a doomed create fails before any part is sent. */
  private startMultipart(key: string, options: PutOptions, pool: BufferPool): Promise<MultipartUpload> {
    const headers = { ...this.headersFor(options), ...conditionHeaders(options.condition) };
    return MultipartUpload.start(this.client, this.bucket, key, headers, this.uploadConcurrency, pool);
  }

  private async putOnce(key: string, body: Buffer, options: PutOptions): Promise<string> {
    const response = await this.client.makeRequestAsync(
      {
        method: 'PUT',
        bucketName: this.bucket,
        objectName: key,
        headers: { ...this.headersFor(options), ...conditionHeaders(options.condition) },
      },
      body,
      [200],
    );
    response.resume();
    return unquoteEtag(response.headers.etag);
  }
}

/** A slice of the body; `final` marks the last one (the only one, for a single PUT). */
interface Part {
  data: Buffer;
  final: boolean;
}

/** Part buffers reused across the parts of one upload, so memory stays flat whatever the object size. */
class BufferPool {
  private readonly free: Buffer[] = [];
  constructor(readonly bytes: number) {}
  acquire(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bytes);
  }
  release(buffer: Buffer): void {
    if (buffer.length === this.bytes) this.free.push(buffer);
  }
}

/** Cuts a stream into full parts as soon as more than one part is buffered; the remainder is final. */
async function* streamParts(chunks: AsyncIterable<Buffer>, pool: BufferPool): AsyncGenerator<Part> {
  const cutter = new PartCutter(pool.bytes);
  for await (const chunk of chunks) {
    cutter.push(chunk);
    while (cutter.hasMoreThanOnePart()) yield { data: cutter.takePart(pool), final: false };
  }
  yield { data: cutter.takeRest(), final: true };
}

async function* fileParts(filePath: string, pool: BufferPool): AsyncGenerator<Part> {
  const handle = await open(filePath, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) yield { data: Buffer.alloc(0), final: true };
    for (let offset = 0; offset < size; offset += pool.bytes) {
      const length = Math.min(pool.bytes, size - offset);
      const data = length === pool.bytes ? pool.acquire() : Buffer.allocUnsafe(length);
      for (let filled = 0; filled < length;) {
        const { bytesRead } = await handle.read(data, filled, length - filled, offset + filled);
        if (bytesRead === 0)
          throw new Error(`${filePath} shrank to ${offset + filled} bytes while being uploaded (it had ${size})`);
        filled += bytesRead;
      }
      yield { data, final: offset + length >= size };
    }
  } finally {
    await handle.close();
  }
}

/** Collects incoming chunks (by reference) and copies them out in parts of exactly `partBytes`. */
class PartCutter {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly partBytes: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /** Strictly more, so that a body of exactly one part still goes up in a single PUT. */
  hasMoreThanOnePart(): boolean {
    return this.bufferedBytes > this.partBytes;
  }

  takePart(pool: BufferPool): Buffer {
    const part = pool.acquire();
    let filled = 0;
    while (filled < this.partBytes) {
      const chunk = this.chunks[0] as Buffer;
      const used = chunk.copy(part, filled, 0, Math.min(chunk.length, this.partBytes - filled));
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.bufferedBytes -= this.partBytes;
    return part;
  }

  takeRest(): Buffer {
    const rest = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.bufferedBytes);
    this.chunks = [];
    this.bufferedBytes = 0;
    return rest;
  }
}

class MultipartUpload {
  private readonly etags: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  private constructor(
    private readonly client: Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly uploadId: string,
    private readonly concurrency: number,
    private readonly bufferPool: BufferPool,
  ) {}

  static async start(
    client: Client,
    bucket: string,
    key: string,
    headers: Headers,
    concurrency: number,
    pool: BufferPool,
  ): Promise<MultipartUpload> {
    const uploadId = await client.initiateNewMultipartUpload(bucket, key, headers);
    return new MultipartUpload(client, bucket, key, uploadId, concurrency, pool);
  }

  async whenSlotFree(): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  send(part: Buffer): void {
    const partNumber = this.etags.length + 1;
    if (partNumber > MAX_PARTS) throw new Error(`"${this.key}" needs more than ${MAX_PARTS} parts; raise partBytes`);
    this.etags.push('');
    const upload = this.uploadPart(partNumber, part)
      .then((etag) => {
        this.etags[partNumber - 1] = etag;
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.bufferPool.release(part);
        this.inFlight.delete(upload);
      });
    this.inFlight.add(upload);
  }

  /** Waits for every part, then asks S3 to assemble them, with the condition. */
  async complete(conditions: Headers): Promise<string> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    const xml =
      '<CompleteMultipartUpload>' +
      this.etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${etag}"</ETag></Part>`).join('') +
      '</CompleteMultipartUpload>';
    const response = await this.client.makeRequestAsync(
      {
        method: 'POST',
        bucketName: this.bucket,
        objectName: this.key,
        query: `uploadId=${encodeURIComponent(this.uploadId)}`,
        headers: conditions,
      },
      Buffer.from(xml),
      [200],
    );
    // S3 may answer 200 and put the error in the body, since it starts responding before assembly ends.
    const text = await readText(response);
    const errorCode = /<Error>[\s\S]*?<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    if (errorCode)
      throw Object.assign(new Error(`CompleteMultipartUpload for "${this.key}" failed: ${errorCode}`), {
        code: errorCode,
      });
    const etag = /<ETag>([^<]*)<\/ETag>/.exec(text)?.[1];
    if (etag === undefined)
      throw new Error(`CompleteMultipartUpload for "${this.key}" returned no ETag: ${text.slice(0, 200)}`);
    return unquoteEtag(etag);
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    await this.client.abortMultipartUpload(this.bucket, this.key, this.uploadId).catch(() => undefined);
  }

  private async uploadPart(partNumber: number, part: Buffer): Promise<string> {
    const response = await this.client.makeRequestAsync(
      {
        method: 'PUT',
        bucketName: this.bucket,
        objectName: this.key,
        query: `partNumber=${partNumber}&uploadId=${encodeURIComponent(this.uploadId)}`,
      },
      part,
      [200],
    );
    response.resume();
    return unquoteEtag(response.headers.etag);
  }
}

function checkDeclaredBytes(key: string, options: PutOptions, bytes: number): void {
  if (options.bytes !== undefined && options.bytes !== bytes) {
    throw new Error(`Body for "${key}" declared ${options.bytes} bytes but had ${bytes}`);
  }
}

function conditionHeaders(condition: PutCondition | undefined): Headers {
  if (!condition) return {};
  return 'ifNoneMatch' in condition ? { 'If-None-Match': '*' } : { 'If-Match': `"${condition.ifMatch}"` };
}

/** A failed condition arrives as PreconditionFailed, or as NoSuchKey when If-Match names a deleted object. */
function translatePutError(error: unknown, key: string, condition: PutCondition | undefined): unknown {
  const code = s3ErrorCode(error);
  if (condition && (code === 'PreconditionFailed' || (code === 'NoSuchKey' && 'ifMatch' in condition))) {
    return new PreconditionFailedError(key, condition);
  }
  return error;
}

async function* chunksOf(body: Readable | Buffer | string): AsyncGenerator<Buffer> {
  if (typeof body === 'string') yield Buffer.from(body, 'utf8');
  else if (Buffer.isBuffer(body)) yield body;
  else for await (const chunk of body) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function unquoteEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/&quot;|&#34;/g, '"').replace(/^"|"$/g, '');
}

function s3ErrorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

function isNotFound(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code === 'NoSuchKey' || code === 'NotFound';
}
