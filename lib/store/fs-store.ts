import { createHash, randomUUID } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import {
  InvalidArtifactKeyError,
  ObjectNotFoundError,
  PreconditionFailedError,
  type ArtifactStore,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
} from './artifact-store';
import { fileUri, parseArtifactUri, validateKey, validatePrefix } from './keys';

/** Bookkeeping folders at the root; keys may not start with them. */
const TEMP_DIR = '.tmp';
const META_DIR = '.meta';
const LOCK_DIR = '.locks';
const RESERVED_SEGMENTS = new Set([TEMP_DIR, META_DIR, LOCK_DIR]);

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const WRITE_BATCH_BYTES = 1024 * 1024;
const ABANDONED_TEMP_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * The sidecar caches what is slow to recompute (sha256) and what a file can't carry (content type).
 * `ino` and `mtimeNs` identify the exact file it describes: when they don't match the object on disk
 * (a reader between the two renames of a put, a crash, a hand-edited file) the sidecar is ignored and
 * the hash recomputed, so correctness never rests on the sidecar.
 */
const SidecarSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  contentType: z.string().optional(),
  ino: z.string(),
  mtimeNs: z.string(),
});
type Sidecar = z.infer<typeof SidecarSchema>;

interface StagedObject {
  dataPath: string;
  sidecarPath: string;
  sha256: string;
  bytes: number;
}

export interface FsStoreOptions {
  /** How long a put or delete waits for another writer's lock on the same key. */
  lockTimeoutMs?: number;
  /** A lock older than this is presumed left by a crashed writer and broken. Locks are held for milliseconds. */
  staleLockMs?: number;
}

/**
 * Artifacts as plain files under `root` (objects at `root/<key>`), written atomically: content goes to
 * `root/.tmp`, is fsynced, then renamed into place. Every mutation of a key holds an O_EXCL lock file in
 * `root/.locks`, so conditional writes are compare-and-swap across processes sharing the directory.
 *
 * Unlike S3, a key can't be both an object and a folder: with "a" stored, "a/b" can't be (and vice versa).
 */
export class FsArtifactStore implements ArtifactStore {
  readonly kind = 'fs' as const;
  readonly root: string;
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;
  private readiness: Promise<void> | undefined;

  constructor(root: string, options: FsStoreOptions = {}) {
    this.root = path.resolve(root);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  async ensureReady(): Promise<void> {
    for (const dir of [this.root, ...[...RESERVED_SEGMENTS].map((d) => path.join(this.root, d))]) {
      await mkdir(dir, { recursive: true });
    }
    await this.sweepAbandonedTempFiles();
  }

  async put(key: string, body: Readable | Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    this.checkKey(key);
    await this.ready();
    const staged = await this.stage(body, options);
    try {
      await this.withLock(key, () => this.commit(key, staged, options));
    } finally {
      await rm(staged.dataPath, { force: true });
      await rm(staged.sidecarPath, { force: true });
    }
    return { key, uri: this.uriFor(key), bytes: staged.bytes, etag: staged.sha256, sha256: staged.sha256 };
  }

  async putFile(key: string, filePath: string, options: PutOptions = {}): Promise<PutResult> {
    this.checkKey(key);
    return this.put(key, createReadStream(filePath, { highWaterMark: WRITE_BATCH_BYTES }), options);
  }

  async get(key: string): Promise<Readable> {
    this.checkKey(key);
    let handle: FileHandle;
    try {
      // Like stat and list, get doesn't follow a symlink: an object is a regular file inside the root.
      handle = await open(this.objectPath(key), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    } catch (error) {
      if (isMissing(error) || errorCode(error) === 'ELOOP') throw new ObjectNotFoundError(key);
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(key);
    }
    // The open descriptor pins this version: a put that renames over it mid-read doesn't tear the read.
    return handle.createReadStream({ highWaterMark: 256 * 1024 });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    this.checkKey(key);
    const objectPath = this.objectPath(key);
    let info;
    try {
      info = await lstat(objectPath, { bigint: true });
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (!info.isFile()) return undefined;
    let sidecar = await this.readSidecar(key);
    if (
      !sidecar ||
      sidecar.ino !== String(info.ino) ||
      sidecar.mtimeNs !== String(info.mtimeNs) ||
      sidecar.bytes !== Number(info.size)
    ) {
      sidecar = await this.rebuildSidecar(key, sidecar?.contentType);
      if (!sidecar) return undefined;
    }
    return {
      key,
      uri: this.uriFor(key),
      bytes: sidecar.bytes,
      etag: sidecar.sha256,
      lastModified: new Date(Number(BigInt(sidecar.mtimeNs) / 1_000_000n)),
      contentType: sidecar.contentType,
    };
  }

  async exists(key: string): Promise<boolean> {
    this.checkKey(key);
    try {
      return (await lstat(this.objectPath(key))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const lastSlash = prefix.lastIndexOf('/');
    yield* this.walk(lastSlash === -1 ? '' : prefix.slice(0, lastSlash), prefix);
  }

  async delete(key: string): Promise<void> {
    this.checkKey(key);
    await this.withLock(key, async () => {
      await removeFileAndEmptyParents(this.objectPath(key), this.root);
      await removeFileAndEmptyParents(this.sidecarPath(key), path.join(this.root, META_DIR));
    });
  }

  /** A local store has nothing to sign: the file URI is the URL. */
  async presignedGetUrl(key: string, _expirySeconds?: number): Promise<string> {
    return this.uriFor(key);
  }

  uriFor(key: string): string {
    this.checkKey(key);
    return fileUri(this.objectPath(key));
  }

  keyFor(uri: string): string {
    const location = parseArtifactUri(uri);
    if (location.scheme !== 'file')
      throw new InvalidArtifactKeyError(uri, `names an S3 object, but this store holds files under ${this.root}`);
    const relative = path.relative(this.root, location.path);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative) || location.path.endsWith('/')) {
      throw new InvalidArtifactKeyError(uri, `does not name a file inside this store's root ${this.root}`);
    }
    const key = relative.split(path.sep).join('/');
    this.checkKey(key);
    return key;
  }

  private checkKey(key: string): void {
    validateKey(key);
    const first = key.split('/', 1)[0] as string;
    if (RESERVED_SEGMENTS.has(first)) {
      throw new InvalidArtifactKeyError(
        key,
        `the folder "${first}" is reserved for the filesystem store's own bookkeeping`,
      );
    }
  }

  private objectPath(key: string): string {
    return path.join(this.root, key);
  }

  /** Mirrors the object tree, so it can't collide where the object tree itself doesn't. */
  private sidecarPath(key: string): string {
    return path.join(this.root, META_DIR, key);
  }

  private ready(): Promise<void> {
    this.readiness ??= this.ensureReady().catch((error: unknown) => {
      this.readiness = undefined;
      throw error;
    });
    return this.readiness;
  }

  /** Streams the body into a temp file, hashing as it goes; fsyncs; writes the sidecar next to it. */
  private async stage(body: Readable | Buffer | string, options: PutOptions): Promise<StagedObject> {
    const name = randomUUID();
    const dataPath = path.join(this.root, TEMP_DIR, name);
    const sidecarPath = path.join(this.root, TEMP_DIR, `${name}.meta`);
    const hash = createHash('sha256');
    let bytes = 0;
    const handle = await open(dataPath, 'wx', 0o644);
    try {
      let batch: Buffer[] = [];
      let batchBytes = 0;
      for await (const chunk of chunksOf(body)) {
        hash.update(chunk);
        bytes += chunk.length;
        batch.push(chunk);
        batchBytes += chunk.length;
        if (batchBytes >= WRITE_BATCH_BYTES) {
          await writeAll(handle, batch);
          batch = [];
          batchBytes = 0;
        }
      }
      await writeAll(handle, batch);
      if (options.bytes !== undefined && options.bytes !== bytes) {
        throw new Error(`Body for a put declared ${options.bytes} bytes but had ${bytes}`);
      }
      await handle.sync();
      const written = await handle.stat({ bigint: true });
      const sidecar: Sidecar = {
        sha256: hash.digest('hex'),
        bytes,
        contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
        ino: String(written.ino),
        mtimeNs: String(written.mtimeNs),
      };
      // Not fsynced: a lost sidecar is detected by its identity check and rebuilt from the data.
      await writeFile(sidecarPath, JSON.stringify(sidecar));
      return { dataPath, sidecarPath, sha256: sidecar.sha256, bytes };
    } catch (error) {
      await rm(dataPath, { force: true });
      throw error;
    } finally {
      await handle.close();
    }
  }

  /** Runs under the key's lock. The data is renamed before the sidecar; see SidecarSchema for why that's safe. */
  private async commit(key: string, staged: StagedObject, options: PutOptions): Promise<void> {
    const target = this.objectPath(key);
    const condition = options.condition;
    if (condition && 'ifNoneMatch' in condition) {
      // link() refuses to replace an existing name, atomically, even against writers that don't lock.
      await placeFile(key, target, async () => {
        try {
          await link(staged.dataPath, target);
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') throw error;
          if ((await lstat(target)).isDirectory()) throw folderConflict(key);
          throw new PreconditionFailedError(key, condition);
        }
      });
    } else {
      if (condition) {
        const current = await this.stat(key);
        if (!current || current.etag !== condition.ifMatch) throw new PreconditionFailedError(key, condition);
      }
      await placeFile(key, target, () => rename(staged.dataPath, target));
    }
    const sidecarTarget = this.sidecarPath(key);
    await placeFile(key, sidecarTarget, () => rename(staged.sidecarPath, sidecarTarget));
  }

  private async readSidecar(key: string): Promise<Sidecar | undefined> {
    try {
      const parsed = SidecarSchema.safeParse(JSON.parse(await readFile(this.sidecarPath(key), 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Hashes the object itself. The fresh sidecar is stored only if the key's lock is free right now:
   * holding it means no put is between its two renames, so the sidecar can't end up paired with
   * another version's content type. Otherwise the next stat simply hashes again.
   */
  private async rebuildSidecar(key: string, contentType: string | undefined): Promise<Sidecar | undefined> {
    const sidecar = await hashObject(this.objectPath(key), contentType ?? DEFAULT_CONTENT_TYPE);
    if (!sidecar) return undefined;
    await this.withLockIfFree(key, async () => {
      const now = await lstat(this.objectPath(key), { bigint: true }).catch(() => undefined);
      if (now?.ino !== BigInt(sidecar.ino) || now.mtimeNs !== BigInt(sidecar.mtimeNs)) return;
      const temp = path.join(this.root, TEMP_DIR, `${randomUUID()}.meta`);
      await writeFile(temp, JSON.stringify(sidecar));
      const target = this.sidecarPath(key);
      await placeFile(key, target, () => rename(temp, target)).catch(() => rm(temp, { force: true }));
    }).catch(() => undefined); // the answer is correct either way; a missing cache only costs a re-hash
    return sidecar;
  }

  /** Depth-first in UTF-8 byte order of keys (S3's order): a folder sorts as its name plus "/". */
  private async *walk(folderKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(folderKey === '' ? this.root : this.objectPath(folderKey), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const children = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && !(folderKey === '' && RESERVED_SEGMENTS.has(e.name)))
      .map((e) => ({
        name: e.name,
        isFolder: e.isDirectory(),
        order: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name),
      }))
      .sort((a, b) => Buffer.compare(a.order, b.order));
    for (const child of children) {
      const key = folderKey === '' ? child.name : `${folderKey}/${child.name}`;
      if (child.isFolder) {
        const folder = `${key}/`;
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) yield* this.walk(key, prefix);
      } else if (key.startsWith(prefix) && isValidKey(key)) {
        const info = await this.stat(key);
        if (info) yield info;
      }
    }
  }

  /** Every mutation of a key runs here, one writer at a time across processes. */
  private async withLock<T>(key: string, action: () => Promise<T>): Promise<T> {
    const lockPath = this.lockPath(key);
    const deadline = Date.now() + this.lockTimeoutMs;
    let backoffMs = 1;
    for (;;) {
      const ino = await tryLock(lockPath);
      if (ino !== undefined) return runAndRelease(lockPath, ino, action);
      await this.breakLockIfStale(lockPath);
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out after ${this.lockTimeoutMs} ms waiting for the lock on artifact "${key}" (${lockPath}). ` +
            'If no trainyard process is writing that key, delete the lock file.',
        );
      }
      await sleep(backoffMs * (0.5 + Math.random()));
      backoffMs = Math.min(backoffMs * 2, 50);
    }
  }

  private async withLockIfFree(key: string, action: () => Promise<void>): Promise<void> {
    await this.ready();
    const lockPath = this.lockPath(key);
    const ino = await tryLock(lockPath);
    if (ino !== undefined) await runAndRelease(lockPath, ino, action);
  }

  private lockPath(key: string): string {
    return path.join(this.root, LOCK_DIR, createHash('sha256').update(key).digest('hex'));
  }

  private async breakLockIfStale(lockPath: string): Promise<void> {
    let info;
    try {
      info = await stat(lockPath, { bigint: true });
    } catch {
      return;
    }
    const ageMs = Date.now() - Number(info.mtimeMs);
    if (ageMs < this.staleLockMs && !(await isLockOfDeadLocalProcess(lockPath))) return;
    // Move the lock aside and check it's the one judged stale: if another process broke it and took a
    // fresh lock in between, put that one back. (link() refuses if yet another lock appeared meanwhile.)
    const grave = `${lockPath}.stale-${randomUUID()}`;
    try {
      await rename(lockPath, grave);
    } catch {
      return;
    }
    if ((await stat(grave, { bigint: true })).ino !== info.ino) await link(grave, lockPath).catch(() => undefined);
    await rm(grave, { force: true });
  }

  private async sweepAbandonedTempFiles(): Promise<void> {
    const tempDir = path.join(this.root, TEMP_DIR);
    const now = Date.now();
    for (const name of await readdir(tempDir)) {
      const file = path.join(tempDir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > ABANDONED_TEMP_AGE_MS) await rm(file, { force: true });
    }
  }
}

async function* chunksOf(body: Readable | Buffer | string): AsyncGenerator<Buffer> {
  if (typeof body === 'string') yield Buffer.from(body, 'utf8');
  else if (Buffer.isBuffer(body)) yield body;
  else for await (const chunk of body) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
}

async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  const pending = buffers.filter((b) => b.length > 0);
  while (pending.length > 0) {
    let { bytesWritten } = await handle.writev(pending);
    while (pending.length > 0 && bytesWritten >= (pending[0] as Buffer).length)
      bytesWritten -= (pending.shift() as Buffer).length;
    if (bytesWritten > 0) pending[0] = (pending[0] as Buffer).subarray(bytesWritten);
  }
}

/**
 * Creates the target's folders, then runs `place`. A concurrent delete may prune a folder we just made
 * (it removes empty parents), so a vanished folder is recreated and the placement retried.
 */
async function placeFile(key: string, target: string, place: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await place();
      return;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') throw folderConflict(key);
      if (code !== 'ENOENT' || attempt >= 5) throw error;
    }
  }
}

function folderConflict(key: string): Error {
  return new Error(
    `Cannot store "${key}" in the filesystem store: a key can't be both an object and a folder ` +
      `(an object is stored at a parent of "${key}", or other objects are stored under "${key}/")`,
  );
}

async function removeFileAndEmptyParents(file: string, stopAt: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') return;
    throw error;
  }
  for (let dir = path.dirname(file); dir.startsWith(`${stopAt}${path.sep}`); dir = path.dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (or already gone): its parents aren't empty either
    }
  }
}

/** Creates the lock file with O_EXCL; returns its inode, or undefined if another writer holds it. */
async function tryLock(lockPath: string): Promise<bigint | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(lockPath, 'wx');
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return undefined;
    throw error;
  }
  try {
    await handle.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() }));
    return (await handle.stat({ bigint: true })).ino;
  } finally {
    await handle.close();
  }
}

async function runAndRelease<T>(lockPath: string, ino: bigint, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } finally {
    // Only our own lock: if it was broken as stale while we held it, the file there now is someone else's.
    const current = await stat(lockPath, { bigint: true }).catch(() => undefined);
    if (current?.ino === ino) await rm(lockPath, { force: true });
  }
}

async function hashObject(objectPath: string, contentType: string): Promise<Sidecar | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(objectPath, 'r');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    const identity = await handle.stat({ bigint: true });
    if (!identity.isFile()) return undefined;
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: WRITE_BATCH_BYTES }))
      hash.update(chunk as Buffer);
    return {
      sha256: hash.digest('hex'),
      bytes: Number(identity.size),
      contentType,
      ino: String(identity.ino),
      mtimeNs: String(identity.mtimeNs),
    };
  } finally {
    await handle.close();
  }
}

async function isLockOfDeadLocalProcess(lockPath: string): Promise<boolean> {
  try {
    const owner = JSON.parse(await readFile(lockPath, 'utf8')) as { pid?: unknown; host?: unknown };
    if (owner.host !== os.hostname() || typeof owner.pid !== 'number') return false;
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return errorCode(error) === 'ESRCH';
  }
}

function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
