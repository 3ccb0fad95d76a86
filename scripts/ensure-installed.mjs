// Installs npm dependencies when they are missing or older than the lockfile, so that `npm test` and
// `npm run demo` are the only two commands a fresh machine needs. Plain Node: runs before any install.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

export function ensureInstalled(root) {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  const fresh =
    existsSync(marker) &&
    existsSync(path.join(root, 'node_modules', 'tsx')) &&
    (!existsSync(lock) || statSync(marker).mtimeMs >= statSync(lock).mtimeMs);
  if (fresh) return;
  // Not `npm ci`: registries that carry only this platform's optional binaries (as here) leave the
  // lockfile without other platforms' entries, which `npm ci` refuses. `--no-save` keeps the lock as is.
  const args = ['install', '--no-audit', '--no-fund', '--no-save'];
  console.log(`[trainyard] installing dependencies: npm ${args.join(' ')}`);
  const result = spawnSync('npm', args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('[trainyard] npm install failed; see the output above.');
    process.exit(result.status ?? 1);
  }
}

/** Runs the trainyard CLI (TypeScript through tsx) and returns its exit status. */
export function trainyard(root, args, options = {}) {
  const result = spawnSync(process.execPath, [path.join(root, 'bin', 'trainyard.mjs'), ...args], {
    cwd: root,
    stdio: 'inherit',
    ...options,
  });
  return result.status ?? 1;
}

/**
 * The environment that points the CLI, worker and tests at the dev services: `trainyard dev env`'s
 * variables under whatever the caller already set. Call after ensureInstalled (it loads TypeScript).
 */
export async function devServicesEnv(base = process.env) {
  const { register } = await import('tsx/esm/api');
  register();
  const { resolveDevOptions } = await import('./dev/dev-options.ts');
  const { devEnvironment } = await import('./dev/dev-env.ts');
  return { ...devEnvironment(resolveDevOptions({ env: base })), ...base };
}
