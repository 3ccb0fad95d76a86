import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';

/** A pinned binary and every way trainyard knows to obtain it. */
export interface BinarySpec {
  /** Executable name on PATH and in `go install` output. */
  name: string;
  version: string;
  /** Environment variable holding an explicit path; wins over everything else. */
  envVar: string;
  /** `go install <goPackage>@<version>` produces `name`. */
  goPackage: string;
  /** Whether the Temporal SDK's cached download can supply it. */
  sdkDownloadable: boolean;
  installHint: string;
}

export const TEMPORAL_CLI: BinarySpec = {
  name: 'temporal',
  version: 'v1.5.1',
  envVar: 'TEMPORAL_CLI_PATH',
  goPackage: 'github.com/temporalio/cli/cmd/temporal',
  sdkDownloadable: true,
  installHint: 'https://docs.temporal.io/cli#install',
};

/** RELEASE.2025-10-15T17-29-55Z plus the archived repo's final maintenance commits; the Go proxy refuses the
 * RELEASE tag itself, so this pseudo-version is the pin. */
export const MINIO_SERVER: BinarySpec = {
  name: 'minio',
  version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  envVar: 'MINIO_PATH',
  goPackage: 'github.com/minio/minio',
  sdkDownloadable: false,
  installHint: 'https://min.io/download',
};

export function cachedBinaryPath(spec: BinarySpec, cacheDir: string): string {
  return path.join(cacheDir, 'bin', `${spec.name}-${spec.version}`);
}

export async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
