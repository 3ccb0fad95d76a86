import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { cachedBinaryPath, isExecutableFile, type BinarySpec } from './binary-spec';
import { withFileLock } from './file-lock';
import { tailFile } from './processes';

const BUILD_LOCK_WAIT_MS = 45 * 60_000;
const PROGRESS_EVERY_MS = 30_000;

/**
 * Runs `produce` (which writes the binary somewhere inside `stagingDir`) under a lock file, then renames the result
 * into the cache. The rename is atomic, so a reader sees either no cached binary or a complete one; the lock keeps two
 * concurrent `dev up`s from both building.
 */
export async function installIntoCache(
  spec: BinarySpec,
  cacheDir: string,
  produce: (stagingDir: string) => Promise<string>,
  log: (line: string) => void = () => {},
): Promise<string> {
  const target = cachedBinaryPath(spec, cacheDir);
  await mkdir(path.dirname(target), { recursive: true });
  return withFileLock(`${target}.lock`, { waitMs: BUILD_LOCK_WAIT_MS, log }, async () => {
    if (await isExecutableFile(target)) return target; // someone else finished while we waited
    const stagingDir = await mkdtemp(path.join(path.dirname(target), `.staging-${spec.name}-`));
    try {
      const produced = await produce(stagingDir);
      await rename(produced, target);
      return target;
    } finally {
      await rm(stagingDir, { recursive: true, force: true });
    }
  });
}

export interface GoBuild {
  spec: BinarySpec;
  goBinary: string;
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export function buildLogPath(spec: BinarySpec, cacheDir: string): string {
  return path.join(cacheDir, 'logs', `${spec.name}-${spec.version}-build.log`);
}

/** `GOBIN=<staging> go install <package>@<version>`, output kept in the cache's logs directory. */
export async function buildWithGo({ spec, goBinary, cacheDir, env, log }: GoBuild): Promise<string> {
  return installIntoCache(
    spec,
    cacheDir,
    async (stagingDir) => {
      const logFile = buildLogPath(spec, cacheDir);
      await mkdir(path.dirname(logFile), { recursive: true });
      log(
        `building ${spec.name} ${spec.version} with go install — first time only, takes several minutes (log: ${logFile})`,
      );
      const startedMs = Date.now();
      const code = await runGoInstall(goBinary, `${spec.goPackage}@${spec.version}`, stagingDir, env, logFile, () =>
        log(`  still building ${spec.name}… ${Math.round((Date.now() - startedMs) / 1000)} s`),
      );
      const seconds = Math.round((Date.now() - startedMs) / 1000);
      if (code !== 0) {
        throw new Error(`exit code ${code} after ${seconds} s; see ${logFile}:\n${await tailFile(logFile, 15)}`);
      }
      const built = path.join(stagingDir, spec.name);
      if (!(await isExecutableFile(built))) throw new Error(`go install succeeded but produced no ${built}`);
      log(`built ${spec.name} ${spec.version} in ${seconds} s`);
      return built;
    },
    log,
  );
}

function runGoInstall(
  goBinary: string,
  target: string,
  gobin: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
  onProgress: () => void,
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const logStream = createWriteStream(logFile, { flags: 'w' });
    logStream.write(`$ GOBIN=${gobin} ${goBinary} install ${target}\n`);
    // cwd is the staging dir so a go.mod in the user's working directory cannot influence the build.
    const child = spawn(goBinary, ['install', target], {
      cwd: gobin,
      env: { ...env, GOBIN: gobin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(logStream, { end: false });
    child.stderr.pipe(logStream, { end: false });
    const timer = setInterval(onProgress, PROGRESS_EVERY_MS);
    child.once('error', (error) => {
      clearInterval(timer);
      logStream.end();
      reject(error);
    });
    child.once('close', (code) => {
      clearInterval(timer);
      logStream.end(`\n# exit code ${code}\n`, () => resolve(code));
    });
  });
}
