/**
 * Binary resolution order for the dev services, with fake executables (small shell scripts) in temp dirs:
 * explicit env path → PATH → cached build → `go install` → (Temporal only) the SDK download → one message.
 * PATH is always a list of temp dirs, so nothing on the machine leaks in.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import {
  BinaryNotFoundError,
  BinaryPathError,
  cachedBinaryPath,
  MINIO_SERVER,
  resolveBinary,
  TEMPORAL_CLI,
  type ResolveOptions,
} from '../../scripts/dev/binaries';
import { buildLogPath } from '../../scripts/dev/go-build';

const root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-dev-binaries-'));
after(() => rm(root, { recursive: true, force: true }));

let caseDir = '';
let pathDir = '';
let cacheDir = '';
let caseNumber = 0;

beforeEach(async () => {
  caseDir = path.join(root, `case-${++caseNumber}`);
  pathDir = path.join(caseDir, 'path-bin');
  cacheDir = path.join(caseDir, 'cache');
  await mkdir(pathDir, { recursive: true });
});

async function fakeExecutable(file: string, body: string, mode = 0o755): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, mode);
  return file;
}

/** A fake `go` that "installs" a script named like the package's last path element into $GOBIN. */
async function fakeGo(options: { sleepSeconds?: number; fail?: boolean } = {}): Promise<string> {
  const calls = path.join(caseDir, 'go-calls.txt');
  const body = options.fail
    ? 'echo "compile: simulated failure in $2" >&2\nexit 2'
    : [
        `echo "$@" >> '${calls}'`,
        options.sleepSeconds ? `/bin/sleep ${options.sleepSeconds}` : '',
        'package="${2%@*}"',
        'name="${package##*/}"',
        'printf \'#!/bin/sh\\necho built\\n\' > "$GOBIN/$name"',
        '/bin/chmod +x "$GOBIN/$name"',
      ].join('\n');
  await fakeExecutable(path.join(pathDir, 'go'), body);
  return calls;
}

function options(
  extra: Partial<ResolveOptions> & { env?: NodeJS.ProcessEnv } = {},
): ResolveOptions & { lines: string[] } {
  const lines: string[] = [];
  return {
    cacheDir,
    log: (line) => lines.push(line),
    isInternetReachable: async () => false,
    ...extra,
    env: { PATH: pathDir, HOME: caseDir, ...extra.env },
    lines,
  };
}

describe('resolveBinary', () => {
  it('takes the explicit env path over PATH and the cache', async () => {
    const explicit = await fakeExecutable(path.join(caseDir, 'explicit', 'temporal'), 'echo explicit');
    await fakeExecutable(path.join(pathDir, 'temporal'), 'echo "temporal version 1.5.1"');
    await fakeExecutable(cachedBinaryPath(TEMPORAL_CLI, cacheDir), 'echo cached');
    const resolved = await resolveBinary(TEMPORAL_CLI, options({ env: { TEMPORAL_CLI_PATH: explicit } }));
    assert.deepEqual(resolved, { path: explicit, source: 'env' });
  });

  it('fails clearly when the explicit env path is not executable, instead of falling back', async () => {
    const notExecutable = await fakeExecutable(path.join(caseDir, 'explicit', 'minio'), 'echo x', 0o644);
    await fakeExecutable(path.join(pathDir, 'minio'), 'echo "minio version RELEASE"');
    for (const bad of [notExecutable, path.join(caseDir, 'missing', 'minio')]) {
      await assert.rejects(resolveBinary(MINIO_SERVER, options({ env: { MINIO_PATH: bad } })), (error: Error) => {
        assert.ok(error instanceof BinaryPathError);
        assert.match(error.message, /MINIO_PATH is set to .*, but that is not an executable file/);
        assert.ok(error.message.includes(bad));
        return true;
      });
    }
  });

  it('takes PATH over the cache and logs the version the binary reports', async () => {
    const onPath = await fakeExecutable(
      path.join(pathDir, 'temporal'),
      'echo "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"',
    );
    await fakeExecutable(cachedBinaryPath(TEMPORAL_CLI, cacheDir), 'echo cached');
    const o = options();
    const resolved = await resolveBinary(TEMPORAL_CLI, o);
    assert.equal(resolved.path, onPath);
    assert.equal(resolved.source, 'path');
    assert.equal(resolved.reportedVersion, '1.5.1 (Server 1.29.1, UI 2.42.1)');
    assert.equal(o.lines.length, 1);
    assert.match(o.lines[0] ?? '', /using temporal from PATH: .*version 1\.5\.1 \(Server/);
    assert.doesNotMatch(o.lines[0] ?? '', /trainyard pins/);
  });

  it('accepts another version on PATH but says which version trainyard pins', async () => {
    await fakeExecutable(path.join(pathDir, 'temporal'), 'echo "temporal version 1.3.0 (Server 1.27.1, UI 2.36.0)"');
    const o = options();
    assert.equal((await resolveBinary(TEMPORAL_CLI, o)).source, 'path');
    assert.match(o.lines.join('\n'), /version 1\.3\.0 .*\(trainyard pins v1\.5\.1\)/);
  });

  it('uses the cached build when nothing is on PATH, without running go', async () => {
    const cached = await fakeExecutable(cachedBinaryPath(MINIO_SERVER, cacheDir), 'echo cached');
    const calls = await fakeGo();
    const resolved = await resolveBinary(MINIO_SERVER, options());
    assert.deepEqual(resolved, { path: cached, source: 'cache' });
    await assert.rejects(readFile(calls), { code: 'ENOENT' });
  });

  it('builds with go install into the cache, keeping a build log and saying it is a one-time build', async () => {
    const calls = await fakeGo();
    const o = options();
    const resolved = await resolveBinary(TEMPORAL_CLI, o);
    const target = cachedBinaryPath(TEMPORAL_CLI, cacheDir);
    assert.deepEqual(resolved, { path: target, source: 'go-build' });
    assert.equal((await readFile(calls, 'utf8')).trim(), 'install github.com/temporalio/cli/cmd/temporal@v1.5.1');
    assert.match(o.lines.join('\n'), /building temporal v1\.5\.1 with go install — first time only/);
    assert.match(
      await readFile(buildLogPath(TEMPORAL_CLI, cacheDir), 'utf8'),
      /go install .*temporal@v1\.5\.1[\s\S]*exit code 0/,
    );
    // Only the finished binary is left in the cache: no staging dir, no lock.
    assert.deepEqual(await readdir(path.dirname(target)), [path.basename(target)]);
  });

  it('builds once when two resolutions race, the second waiting on the lock', async () => {
    const calls = await fakeGo({ sleepSeconds: 1 });
    const [first, second] = await Promise.all([
      resolveBinary(MINIO_SERVER, options()),
      resolveBinary(MINIO_SERVER, options()),
    ]);
    assert.equal(first.path, cachedBinaryPath(MINIO_SERVER, cacheDir));
    assert.equal(second.path, first.path);
    assert.equal((await readFile(calls, 'utf8')).trim().split('\n').length, 1);
  });

  it('takes over a lock left behind by a process that died', async () => {
    const deadPid = await pidOfFinishedProcess();
    const target = cachedBinaryPath(MINIO_SERVER, cacheDir);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(`${target}.lock`, String(deadPid));
    await fakeGo();
    assert.equal((await resolveBinary(MINIO_SERVER, options())).source, 'go-build');
  });

  it('reports a failed go build with the tail of its log', async () => {
    await fakeGo({ fail: true });
    await assert.rejects(resolveBinary(MINIO_SERVER, options()), (error: Error) => {
      assert.ok(error instanceof BinaryNotFoundError);
      assert.match(error.message, /`go install` failed: exit code 2/);
      assert.match(
        error.message,
        /compile: simulated failure in github\.com\/minio\/minio@v0\.0\.0-20260212201848-7aac2a2c5b7c/,
      );
      return true;
    });
  });

  it('falls back to the SDK download for Temporal when the internet is reachable', async () => {
    const o = options({
      isInternetReachable: async () => true,
      downloadWithSdk: async (version, stagingDir) =>
        fakeExecutable(path.join(stagingDir, `temporal-${version}`), 'echo downloaded'),
    });
    const resolved = await resolveBinary(TEMPORAL_CLI, o);
    assert.deepEqual(resolved, { path: cachedBinaryPath(TEMPORAL_CLI, cacheDir), source: 'sdk-download' });
  });

  it('names every option in one message when nothing works (Temporal)', async () => {
    let downloadAttempted = false;
    const o = options({
      downloadWithSdk: async () => {
        downloadAttempted = true;
        return undefined;
      },
    });
    await assert.rejects(resolveBinary(TEMPORAL_CLI, o), (error: Error) => {
      assert.ok(error instanceof BinaryNotFoundError);
      const message = error.message;
      assert.match(message, /^Cannot find temporal v1\.5\.1\. Any one of these fixes it:/);
      assert.match(message, /set TEMPORAL_CLI_PATH to the path of a temporal binary/);
      assert.match(message, /put `temporal` on PATH/);
      assert.match(message, /install Go .* go install github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1/);
      assert.match(message, /allow internet access so the Temporal SDK .* can download it/);
      assert.match(
        message,
        /Tried:[\s\S]*TEMPORAL_CLI_PATH is not set[\s\S]*no `temporal` on PATH[\s\S]*no cached build at/,
      );
      assert.match(message, /`go` is not on PATH[\s\S]*temporal\.download is unreachable/);
      return true;
    });
    assert.equal(downloadAttempted, false, 'no download without internet');
  });

  it('names the options that exist for MinIO (no SDK download) when nothing works', async () => {
    await assert.rejects(resolveBinary(MINIO_SERVER, options()), (error: Error) => {
      assert.match(error.message, /set MINIO_PATH/);
      assert.match(error.message, /put `minio` on PATH/);
      assert.match(error.message, /go install github\.com\/minio\/minio@v0\.0\.0-20260212201848-7aac2a2c5b7c/);
      assert.doesNotMatch(error.message, /internet/);
      return true;
    });
  });

  it('says so when the SDK download is reachable but @temporalio/testing is missing', async () => {
    const o = options({ isInternetReachable: async () => true, downloadWithSdk: async () => undefined });
    await assert.rejects(resolveBinary(TEMPORAL_CLI, o), /SDK download failed: @temporalio\/testing is not installed/);
  });
});

function pidOfFinishedProcess(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'exit 0']);
    child.once('error', reject);
    child.once('exit', () => resolve(child.pid as number));
  });
}
