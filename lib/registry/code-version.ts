import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface CodeVersion {
  /** package.json version. */
  version: string;
  /** The commit the code was built from, when known. */
  gitSha?: string;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const GIT_SHA = /^[0-9a-f]{7,64}$/;

let resolved: Promise<CodeVersion> | undefined;

/**
 * The code version recorded in every version's lineage, resolved once per process: the package version,
 * and the git commit from `git rev-parse HEAD` in a checkout, else TRAINYARD_GIT_SHA (set by image
 * builds, where there is no .git). An unknown sha is left out rather than guessed.
 */
export function codeVersion(env: NodeJS.ProcessEnv = process.env): Promise<CodeVersion> {
  resolved ??= resolveCodeVersion(REPO_ROOT, env);
  return resolved;
}

export async function resolveCodeVersion(root: string, env: NodeJS.ProcessEnv): Promise<CodeVersion> {
  const version = readPackageVersion(root);
  const gitSha = (await gitHead(root)) ?? envSha(env);
  return gitSha ? { version, gitSha } : { version };
}

function readPackageVersion(root: string): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : '0.0.0-unknown';
  } catch {
    return '0.0.0-unknown';
  }
}

async function gitHead(root: string): Promise<string | undefined> {
  if (!existsSync(path.join(root, '.git'))) return undefined;
  try {
    const { stdout } = await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: root, timeout: 5_000 });
    const sha = stdout.trim();
    return GIT_SHA.test(sha) ? sha : undefined;
  } catch {
    return undefined; // no git binary, or not a repository after all
  }
}

function envSha(env: NodeJS.ProcessEnv): string | undefined {
  const sha = env.TRAINYARD_GIT_SHA?.trim().toLowerCase();
  return sha && GIT_SHA.test(sha) ? sha : undefined;
}
