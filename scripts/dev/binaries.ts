import os from 'node:os';
import path from 'node:path';
import { cachedBinaryPath, findOnPath, isExecutableFile, type BinarySpec } from './binary-spec';
import { buildLogPath, buildWithGo, installIntoCache } from './go-build';
import { runCapture } from './processes';
import { downloadTemporalWithSdk, isTemporalDownloadReachable } from './temporal-sdk-download';

export { cachedBinaryPath, MINIO_SERVER, TEMPORAL_CLI, type BinarySpec } from './binary-spec';

export type BinarySource = 'env' | 'path' | 'cache' | 'go-build' | 'sdk-download';

export interface ResolvedBinary {
  path: string;
  source: BinarySource;
  /** What the binary says about itself, when asked (binaries found on PATH). */
  reportedVersion?: string;
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
  log?: (line: string) => void;
  /** Replaceable for tests; defaults to a short HTTPS probe of temporal.download. */
  isInternetReachable?: () => Promise<boolean>;
  /** Replaceable for tests; downloads into `stagingDir` and returns the file, or undefined when unavailable. */
  downloadWithSdk?: (version: string, stagingDir: string) => Promise<string | undefined>;
}

export class BinaryNotFoundError extends Error {
  constructor(
    readonly spec: BinarySpec,
    readonly tried: string[],
  ) {
    super(notFoundMessage(spec, tried));
    this.name = 'BinaryNotFoundError';
  }
}

export class BinaryPathError extends Error {
  override name = 'BinaryPathError';
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRAINYARD_CACHE_DIR || path.join(env.HOME || os.homedir(), '.cache', 'trainyard');
}

/** Explicit env path → PATH → cached build → `go install` → (Temporal only) the SDK's download. */
export async function resolveBinary(spec: BinarySpec, options: ResolveOptions = {}): Promise<ResolvedBinary> {
  const env = options.env ?? process.env;
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  const log = options.log ?? (() => {});
  const tried: string[] = [];

  const explicit = env[spec.envVar];
  if (explicit) {
    if (!(await isExecutableFile(explicit))) {
      throw new BinaryPathError(`${spec.envVar} is set to ${explicit}, but that is not an executable file.`);
    }
    return { path: path.resolve(explicit), source: 'env' };
  }
  tried.push(`${spec.envVar} is not set`);

  const onPath = await findOnPath(spec.name, env);
  if (onPath) {
    const reportedVersion = await askVersion(onPath, env);
    const pinNote = reportedVersion?.includes(spec.version.replace(/^v/, ''))
      ? ''
      : ` (trainyard pins ${spec.version})`;
    log(`using ${spec.name} from PATH: ${onPath}, version ${reportedVersion ?? 'unknown'}${pinNote}`);
    return { path: onPath, source: 'path', ...(reportedVersion ? { reportedVersion } : {}) };
  }
  tried.push(`no \`${spec.name}\` on PATH`);

  const cached = cachedBinaryPath(spec, cacheDir);
  if (await isExecutableFile(cached)) return { path: cached, source: 'cache' };
  tried.push(`no cached build at ${cached}`);

  const go = await findOnPath('go', env);
  if (go) {
    try {
      return { path: await buildWithGo({ spec, goBinary: go, cacheDir, env, log }), source: 'go-build' };
    } catch (error) {
      log(`go install of ${spec.name} failed; see ${buildLogPath(spec, cacheDir)}`);
      tried.push(`\`go install\` failed: ${(error as Error).message}`);
    }
  } else {
    tried.push('`go` is not on PATH');
  }

  if (spec.sdkDownloadable) {
    const reachable = await (options.isInternetReachable ?? isTemporalDownloadReachable)();
    if (reachable) {
      const download = options.downloadWithSdk ?? downloadTemporalWithSdk;
      const downloadIntoStaging = async (stagingDir: string) => {
        log(`downloading ${spec.name} ${spec.version} through the Temporal SDK's cached download`);
        const file = await download(spec.version, stagingDir);
        if (!file) throw new Error('@temporalio/testing is not installed');
        return file;
      };
      try {
        return { path: await installIntoCache(spec, cacheDir, downloadIntoStaging, log), source: 'sdk-download' };
      } catch (error) {
        tried.push(`SDK download failed: ${(error as Error).message}`);
      }
    } else {
      tried.push('SDK download skipped: temporal.download is unreachable (no internet)');
    }
  }

  throw new BinaryNotFoundError(spec, tried);
}

function notFoundMessage(spec: BinarySpec, tried: string[]): string {
  const options = [
    `set ${spec.envVar} to the path of a ${spec.name} binary`,
    `put \`${spec.name}\` on PATH (${spec.installHint})`,
    `install Go (https://go.dev/dl) so trainyard can build it once: go install ${spec.goPackage}@${spec.version}`,
  ];
  if (spec.sdkDownloadable) {
    options.push('allow internet access so the Temporal SDK (@temporalio/testing) can download it');
  }
  return [
    `Cannot find ${spec.name} ${spec.version}. Any one of these fixes it:`,
    ...options.map((o) => `  - ${o}`),
    'Tried:',
    ...tried.map((t) => `  - ${t}`),
  ].join('\n');
}

async function askVersion(binary: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    const { code, stdout } = await runCapture(binary, ['--version'], { env, timeoutMs: 5_000 });
    const firstLine = stdout.trim().split('\n')[0];
    return code === 0 && firstLine ? firstLine.replace(/^\S+ version /, '') : undefined;
  } catch {
    return undefined;
  }
}
