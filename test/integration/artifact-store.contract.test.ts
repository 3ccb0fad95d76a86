import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type S3Settings } from '../../lib/config';
import {
  InvalidArtifactKeyError,
  ObjectNotFoundError,
  PreconditionFailedError,
  type ArtifactStore,
  type PutResult,
} from '../../lib/store/artifact-store';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { S3ArtifactStore } from '../../lib/store/s3-store';

const MiB = 1024 * 1024;

interface StoreFixture {
  /** A ready store against real storage. */
  makeStore(): Promise<ArtifactStore>;
  /** The same kind of store pointed at storage that can't be reached, to prove validation needs no I/O. */
  makeUnreachableStore(): ArtifactStore;
  cleanup?(): Promise<void>;
}

const INVALID_KEYS: Array<[string, RegExp]> = [
  ['', /must not be empty/],
  ['/models/iris', /leading "\/"/],
  ['models\\iris', /backslash/],
  ['models/../secrets', /"\." or "\.\." segments/],
  ['models/./iris', /"\." or "\.\." segments/],
  ['models//iris', /empty segments/],
  ['models/iris/', /must not end with "\/"/],
  ['models/ir\nis', /control characters/],
  ['models/\u007f', /control characters/],
  ['x'.repeat(1025), /at most 1024 bytes/],
];

/** One suite, every store: what the pipeline relies on, whichever backend holds the artifacts. */
export function describeStoreContract(name: string, fixture: StoreFixture): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    let store: ArtifactStore;
    const prefix = `test/${Date.now().toString(36)}-${randomUUID().slice(0, 8)}/`;
    const k = (key: string) => `${prefix}${key}`;

    before(async () => {
      store = await fixture.makeStore();
    });

    after(async () => {
      if (store) for await (const info of store.list(prefix)) await store.delete(info.key);
      await fixture.cleanup?.();
    });

    it('round-trips a string, a Buffer, a stream and a file, reporting bytes and sha256 as node:crypto does', async () => {
      const text = 'héllo, wörld — 模型 🚂\n';
      const buffer = Buffer.from([0, 1, 2, 253, 254, 255]);
      const streamed = Buffer.from('streamed in three chunks');
      const fileDir = await mkdtemp(path.join(os.tmpdir(), 'trainyard-contract-'));
      const filePath = path.join(fileDir, 'upload.bin');
      const fileBytes = Buffer.from('from a file on disk\n'.repeat(1000));
      await writeFile(filePath, fileBytes);
      try {
        const cases: Array<[string, Buffer, () => Promise<PutResult>]> = [
          [
            'string.txt',
            Buffer.from(text, 'utf8'),
            () => store.put(k('string.txt'), text, { contentType: 'text/plain' }),
          ],
          ['buffer.bin', buffer, () => store.put(k('buffer.bin'), buffer)],
          [
            'stream.bin',
            streamed,
            () =>
              store.put(
                k('stream.bin'),
                Readable.from([streamed.subarray(0, 3), streamed.subarray(3, 10), streamed.subarray(10)]),
              ),
          ],
          ['file.bin', fileBytes, () => store.putFile(k('file.bin'), filePath)],
          ['empty.bin', Buffer.alloc(0), () => store.put(k('empty.bin'), '')],
        ];
        for (const [key, expected, put] of cases) {
          const result = await put();
          assert.equal(result.key, k(key));
          assert.equal(result.uri, store.uriFor(k(key)));
          assert.equal(result.bytes, expected.length, `${key}: bytes`);
          assert.equal(result.sha256, sha256(expected), `${key}: sha256`);
          assert.ok(result.etag.length > 0, `${key}: etag`);
          assert.deepEqual(await readAll(await store.get(k(key))), expected, `${key}: content`);
        }
      } finally {
        await rm(fileDir, { recursive: true, force: true });
      }
    });

    it('stats an object (bytes, etag, content type, time) and answers undefined / false for a missing key', async () => {
      const startedAt = Date.now();
      const put = await store.put(k('stat/report.json'), '{"ok":true}', { contentType: 'application/json' });
      const info = await store.stat(k('stat/report.json'));
      assert.ok(info);
      assert.equal(info.key, k('stat/report.json'));
      assert.equal(info.uri, put.uri);
      assert.equal(info.bytes, 11);
      assert.equal(info.etag, put.etag);
      assert.equal(info.contentType, 'application/json');
      assert.ok(
        Math.abs(info.lastModified.getTime() - startedAt) < 5 * 60_000,
        `lastModified ${info.lastModified.toISOString()} is recent`,
      );
      assert.equal(await store.exists(k('stat/report.json')), true);

      assert.equal(await store.stat(k('stat/missing.json')), undefined);
      assert.equal(await store.exists(k('stat/missing.json')), false);
      assert.equal(await store.exists(k('stat')), false, 'a folder is not an object');
      await assert.rejects(store.get(k('stat/missing.json')), ObjectNotFoundError);
    });

    it('lists only keys under the prefix, in UTF-8 byte order, with their stats', async () => {
      const keys = [
        'list/b.txt',
        'list/a.txt',
        'list/sub/c.txt',
        'list/a-c',
        'list/a/b',
        'list/a0',
        'list-other/x.txt',
        'lis.txt',
        'list/ü.txt',
        'list/z.txt',
      ];
      for (const key of keys) await store.put(k(key), key);
      const listed = await collect(store.list(k('list/')));
      const expected = keys
        .filter((key) => key.startsWith('list/'))
        .map(k)
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.deepEqual(
        listed.map((i) => i.key),
        expected,
      );
      for (const info of listed) {
        const stat = await store.stat(info.key);
        assert.equal(info.bytes, stat?.bytes);
        assert.equal(info.etag, stat?.etag);
        assert.equal(info.uri, store.uriFor(info.key));
      }
      const partial = (await collect(store.list(k('list')))).map((i) => i.key);
      assert.deepEqual(
        partial,
        [k('list-other/x.txt'), ...expected],
        'a partial segment matches siblings, "-" sorts before "/"',
      );
      assert.deepEqual(await collect(store.list(k('nothing-here/'))), []);
    });

    it('ifNoneMatch "*" creates once; the second create fails and leaves the first content', async () => {
      const key = k('create-once.json');
      await store.put(key, 'first', { condition: { ifNoneMatch: '*' } });
      await assert.rejects(store.put(key, 'second', { condition: { ifNoneMatch: '*' } }), PreconditionFailedError);
      assert.equal(await readText(store, key), 'first');
    });

    it('ifMatch replaces the version whose etag is given and refuses a stale or missing one', async () => {
      const key = k('cas.json');
      const v1 = await store.put(key, 'version 1');
      const v2 = await store.put(key, 'version 2', { condition: { ifMatch: v1.etag } });
      assert.notEqual(v2.etag, v1.etag);
      await assert.rejects(store.put(key, 'version 3', { condition: { ifMatch: v1.etag } }), PreconditionFailedError);
      assert.equal(await readText(store, key), 'version 2');
      await assert.rejects(
        store.put(k('cas-missing.json'), 'x', { condition: { ifMatch: v1.etag } }),
        PreconditionFailedError,
      );
      assert.equal(await store.exists(k('cas-missing.json')), false);
    });

    it('an unconditional put replaces the object and changes its etag', async () => {
      const key = k('overwrite.txt');
      const first = await store.put(key, 'one');
      const second = await store.put(key, 'two');
      assert.notEqual(second.etag, first.etag);
      assert.equal((await store.stat(key))?.etag, second.etag);
      assert.equal(await readText(store, key), 'two');
    });

    it('of 10 concurrent ifNoneMatch creators exactly one wins', async () => {
      const key = k('race/winner.json');
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.put(key, `writer ${i}`, { condition: { ifNoneMatch: '*' } })),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`);
      for (const r of results)
        if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));
      assert.equal(await readText(store, key), `writer ${winners[0]}`);
    });

    it('ifMatch makes a lost-update-free counter under concurrent read-modify-write', async () => {
      const key = k('race/counter.json');
      await store.put(key, '0');
      const increment = async () => {
        for (;;) {
          const info = await store.stat(key);
          assert.ok(info);
          const value = Number(await readText(store, key));
          const current = await store.stat(key);
          if (current?.etag !== info.etag) continue; // read a newer version than we statted
          try {
            await store.put(key, String(value + 1), { condition: { ifMatch: info.etag } });
            return;
          } catch (error) {
            if (!(error instanceof PreconditionFailedError)) throw error;
          }
        }
      };
      await Promise.all(
        Array.from({ length: 5 }, async () => {
          for (let i = 0; i < 4; i++) await increment();
        }),
      );
      assert.equal(await readText(store, key), '20');
    });

    it('conditional writes hold for bodies bigger than one upload part', async () => {
      const key = k('big/conditional.bin');
      const body = patternBuffer(12 * MiB, 7);
      const created = await store.put(key, Readable.from(chunked(body, 256 * 1024)), {
        condition: { ifNoneMatch: '*' },
      });
      assert.equal(created.sha256, sha256(body));
      await assert.rejects(
        store.put(key, Readable.from(chunked(body, 256 * 1024)), { condition: { ifNoneMatch: '*' } }),
        PreconditionFailedError,
      );
      const replaced = await store.put(key, Readable.from(chunked(body, MiB)), {
        condition: { ifMatch: created.etag },
      });
      await assert.rejects(
        store.put(key, Readable.from(chunked(body, MiB)), { condition: { ifMatch: 'not-the-etag' } }),
        PreconditionFailedError,
      );
      assert.equal((await store.stat(key))?.etag, replaced.etag);
    });

    it('of 3 concurrent multi-part ifNoneMatch creators exactly one wins', async () => {
      const key = k('race/big-winner.bin');
      const bodies = [1, 2, 3].map((seed) => patternBuffer(12 * MiB, seed));
      const results = await Promise.allSettled(
        bodies.map((body) => store.put(key, Readable.from(chunked(body, MiB)), { condition: { ifNoneMatch: '*' } })),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(
        winners.length,
        1,
        `winners: ${winners.join(', ')}; ${results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join('; ')}`,
      );
      for (const r of results)
        if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));
      assert.equal(sha256(await readAll(await store.get(key))), sha256(bodies[winners[0] as number] as Buffer));
    });

    it('a reader never sees a half-written object', async () => {
      const key = k('atomic/model.bin');
      await store.put(key, 'old version');
      const body = patternBuffer(12 * MiB, 3);
      let chunksSent = 0;
      const slowBody = Readable.from(
        (async function* () {
          for (const chunk of chunked(body, MiB)) {
            chunksSent++;
            yield chunk;
            await sleep(5);
          }
        })(),
      );
      const putting = store.put(key, slowBody);
      while (chunksSent < 6) await sleep(5);
      assert.equal(await readText(store, key), 'old version', 'mid-put, the old version is whole');
      assert.equal((await store.stat(key))?.bytes, 'old version'.length);
      await putting;
      assert.equal(sha256(await readAll(await store.get(key))), sha256(body));
    });

    it('rejects a body whose length differs from the declared bytes, storing nothing', async () => {
      const key = k('declared.bin');
      await assert.rejects(store.put(key, 'twelve bytes', { bytes: 13 }), /declared 13 bytes but had 12/);
      assert.equal(await store.exists(key), false);
    });

    it('deletes an object; deleting a missing key is a no-op', async () => {
      const key = k('delete/me.txt');
      await store.put(key, 'bye');
      await store.delete(key);
      assert.equal(await store.exists(key), false);
      await assert.rejects(store.get(key), ObjectNotFoundError);
      await store.delete(key);
      await store.put(k('delete'), 'a key where a folder used to be');
      assert.equal(await readText(store, k('delete')), 'a key where a folder used to be');
    });

    it('gives a presigned URL that serves the bytes', async () => {
      const key = k('presigned/data.csv');
      const body = Buffer.from('a,b\n1,2\n');
      await store.put(key, body, { contentType: 'text/csv' });
      const url = await store.presignedGetUrl(key, 300);
      let served: Buffer;
      if (url.startsWith('file:')) {
        assert.equal(url, store.uriFor(key));
        served = await readFile(fileURLToPath(url));
      } else {
        const response = await fetch(url);
        assert.equal(response.status, 200);
        served = Buffer.from(await response.arrayBuffer());
      }
      assert.deepEqual(served, body);
    });

    it('maps keys to URIs and back, including keys that need percent-encoding', async () => {
      const key = k('odd names/ü#1?x=%41+ & (copy).json');
      await store.put(key, 'odd');
      const uri = store.uriFor(key);
      assert.equal(store.keyFor(uri), key);
      assert.ok(!/[ ?#]/.test(uri), `URI is encoded: ${uri}`);
      assert.equal(await readText(store, key), 'odd');
      assert.deepEqual(
        (await collect(store.list(k('odd names/')))).map((i) => i.key),
        [key],
      );
      assert.throws(
        () => store.keyFor(store.kind === 's3' ? 'file:///tmp/x.json' : 's3://trainyard/x.json'),
        InvalidArtifactKeyError,
      );
      assert.throws(() => store.keyFor('https://example.com/x.json'), InvalidArtifactKeyError);
    });

    it('rejects invalid keys before any I/O, naming the rule', async () => {
      const offline = fixture.makeUnreachableStore();
      let bodyRead = false;
      const untouchable = () =>
        new Readable({
          read() {
            bodyRead = true;
            this.push(null);
          },
        });
      for (const [key, rule] of INVALID_KEYS) {
        const isRejected = (error: unknown) => error instanceof InvalidArtifactKeyError && rule.test(error.message);
        await assert.rejects(offline.put(key, untouchable()), isRejected, `put ${JSON.stringify(key)}`);
        await assert.rejects(offline.putFile(key, '/nonexistent/file'), isRejected, `putFile ${JSON.stringify(key)}`);
        await assert.rejects(offline.get(key), isRejected, `get ${JSON.stringify(key)}`);
        await assert.rejects(offline.stat(key), isRejected, `stat ${JSON.stringify(key)}`);
        await assert.rejects(offline.exists(key), isRejected, `exists ${JSON.stringify(key)}`);
        await assert.rejects(offline.delete(key), isRejected, `delete ${JSON.stringify(key)}`);
        await assert.rejects(offline.presignedGetUrl(key), isRejected, `presignedGetUrl ${JSON.stringify(key)}`);
        assert.throws(() => offline.uriFor(key), isRejected, `uriFor ${JSON.stringify(key)}`);
      }
      await assert.rejects(collect(offline.list('/abs/')), InvalidArtifactKeyError);
      await assert.rejects(collect(offline.list('a/../')), InvalidArtifactKeyError);
      assert.equal(bodyRead, false, 'the body was never read');
    });

    it('streams a 20 MiB object in and out with correct bytes and sha256', async () => {
      const key = k('big/20mib.bin');
      const expected = createHash('sha256');
      const total = 20 * MiB;
      const source = Readable.from(
        (function* () {
          for (let offset = 0, i = 0; offset < total; offset += 256 * 1024, i++) {
            const chunk = patternBuffer(256 * 1024, i);
            expected.update(chunk);
            yield chunk;
          }
        })(),
      );
      const result = await store.put(key, source, { bytes: total });
      const expectedSha = expected.digest('hex');
      assert.equal(result.bytes, total);
      assert.equal(result.sha256, expectedSha);
      assert.equal((await store.stat(key))?.bytes, total);
      const actual = createHash('sha256');
      let bytes = 0;
      for await (const chunk of await store.get(key)) {
        actual.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      assert.equal(bytes, total);
      assert.equal(actual.digest('hex'), expectedSha);
    });
  });
}

describeStoreContract(
  'FsArtifactStore (temp dir)',
  (() => {
    let root: string | undefined;
    return {
      async makeStore() {
        root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-fs-store-'));
        const store = new FsArtifactStore(root);
        await store.ensureReady();
        return store;
      },
      makeUnreachableStore: () => new FsArtifactStore('/proc/trainyard-cannot-create-this'),
      async cleanup() {
        if (root) await rm(root, { recursive: true, force: true });
      },
    };
  })(),
);

describeStoreContract('S3ArtifactStore (real MinIO)', {
  async makeStore() {
    const store = new S3ArtifactStore(s3SettingsFromEnv());
    await store.ensureReady();
    return store;
  },
  makeUnreachableStore: () => new S3ArtifactStore({ ...s3SettingsFromEnv(), endPoint: '127.0.0.1', port: 1 }),
});

describe('FsArtifactStore specifics', () => {
  let root: string;
  let store: FsArtifactStore;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-fs-specific-'));
    store = new FsArtifactStore(root);
    await store.ensureReady();
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps exactly one winner and loses no update when separate processes race', async () => {
    const storeModule = pathToFileURL(path.resolve('lib/store/fs-store.ts')).href;
    const script = `
      const { FsArtifactStore } = await import(${JSON.stringify(storeModule)});
      const store = new FsArtifactStore(${JSON.stringify(root)});
      const id = process.argv.at(-1);
      let created = false;
      try { await store.put('race/created.txt', id, { condition: { ifNoneMatch: '*' } }); created = true; }
      catch (e) { if (e.name !== 'PreconditionFailedError') throw e; }
      for (let done = 0; done < 10; ) {
        const info = await store.stat('race/counter.txt');
        const chunks = []; for await (const c of await store.get('race/counter.txt')) chunks.push(c);
        if ((await store.stat('race/counter.txt'))?.etag !== info.etag) continue;
        try { await store.put('race/counter.txt', String(Number(Buffer.concat(chunks)) + 1), { condition: { ifMatch: info.etag } }); done++; }
        catch (e) { if (e.name !== 'PreconditionFailedError') throw e; }
      }
      console.log(JSON.stringify({ created }));
    `;
    await store.put('race/counter.txt', '0');
    const run = promisify(execFile);
    const outputs = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', `process-${i}`], {
          cwd: process.cwd(),
        }),
      ),
    );
    const created = outputs.map(
      (o) => (JSON.parse(o.stdout.trim().split('\n').at(-1) as string) as { created: boolean }).created,
    );
    assert.equal(created.filter(Boolean).length, 1, `creators: ${JSON.stringify(created)}`);
    assert.equal(await readText(store, 'race/counter.txt'), '40');
  });

  it('breaks a lock left by a process that died', async () => {
    const key = 'locks/abandoned.txt';
    const lockFile = path.join(root, '.locks', sha256(Buffer.from(key)));
    await writeFile(
      lockFile,
      JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), at: new Date().toISOString() }),
    );
    const started = Date.now();
    await store.put(key, 'written anyway');
    assert.ok(Date.now() - started < 5_000);
    assert.equal(await readText(store, key), 'written anyway');
  });

  it('notices a file changed behind its back: the etag follows the content', async () => {
    const key = 'edited/by-hand.txt';
    const put = await store.put(key, 'original');
    await writeFile(path.join(root, key), 'edited by hand');
    const info = await store.stat(key);
    assert.equal(info?.etag, sha256(Buffer.from('edited by hand')));
    assert.notEqual(info?.etag, put.etag);
    assert.equal(info?.bytes, 'edited by hand'.length);
  });

  it('lists files copied in by hand and keeps its bookkeeping folders out of listings and keys', async () => {
    await writeFile(path.join(root, 'hand-copied.csv'), 'x\n1\n');
    const keys = (await collect(store.list(''))).map((i) => i.key);
    assert.ok(keys.includes('hand-copied.csv'));
    assert.ok(
      keys.every((key) => !/^\.(tmp|meta|locks)\//.test(key)),
      keys.join(', '),
    );
    await assert.rejects(store.put('.meta/x', 'no'), /reserved/);
    assert.throws(() => store.keyFor(pathToFileURL(path.join(root, '.locks', 'x')).href), /reserved/);
    assert.throws(
      () => store.keyFor(pathToFileURL(path.join(path.dirname(root), 'elsewhere.txt')).href),
      /outside|inside this store's root/,
    );
  });

  it('does not follow a symlink out of the root', async () => {
    const outside = path.join(path.dirname(root), `${path.basename(root)}-outside.txt`);
    await writeFile(outside, 'secret');
    try {
      await symlink(outside, path.join(root, 'link.txt'));
      await assert.rejects(store.get('link.txt'), ObjectNotFoundError);
      assert.equal(await store.stat('link.txt'), undefined);
      assert.equal(await store.exists('link.txt'), false);
      assert.ok(!(await collect(store.list(''))).some((i) => i.key === 'link.txt'));
    } finally {
      await rm(outside, { force: true });
    }
  });

  it('refuses a key that would need an object to also be a folder', async () => {
    await store.put('nested/leaf', 'a leaf');
    await assert.rejects(store.put('nested/leaf/child', 'x'), /both an object and a folder/);
    await assert.rejects(store.put('nested', 'x'), /both an object and a folder/);
    await assert.rejects(store.put('nested', 'x', { condition: { ifNoneMatch: '*' } }), /both an object and a folder/);
  });
});

function s3SettingsFromEnv(): S3Settings {
  if (!process.env.S3_ENDPOINT) {
    throw new Error(
      'S3_ENDPOINT is not set. Integration tests run against a real MinIO, never a mock: start one ' +
        '(e.g. `trainyard dev up`) and run with S3_ENDPOINT=http://127.0.0.1:9000.',
    );
  }
  const config = loadConfig({ ...process.env, TRAINYARD_STORE: 's3' });
  assert.equal(config.store.kind, 's3');
  return config.store.s3;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readText(store: ArtifactStore, key: string): Promise<string> {
  return (await readAll(await store.get(key))).toString('utf8');
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Deterministic bytes that differ by seed and position (so misordered parts change the hash). */
function patternBuffer(bytes: number, seed: number): Buffer {
  const buffer = Buffer.allocUnsafe(bytes);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buffer.writeUInt32LE(x >>> 0, i);
  }
  for (let i = bytes - (bytes % 4); i < bytes; i++) buffer[i] = i & 0xff;
  return buffer;
}

function* chunked(buffer: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
}
