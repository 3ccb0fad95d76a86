import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPidAlive } from './processes';

export interface FileLockOptions {
  waitMs: number;
  log?: (line: string) => void;
  pollMs?: number;
}

/** Grace for a lock file that exists but has no pid yet: its creator may be between create and write. */
const UNWRITTEN_LOCK_GRACE_MS = 10_000;

/**
 * Runs `task` while holding an exclusive lock file that records our pid, so separate `trainyard` processes (and
 * concurrent calls in one process) take turns. A lock whose owner has died is taken over.
 */
export async function withFileLock<T>(lockFile: string, options: FileLockOptions, task: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
    const ageMs = Date.now() - ((await stat(lockFile).catch(() => undefined))?.mtimeMs ?? 0);
    const abandoned = owner > 0 ? !(await isPidAlive(owner)) : ageMs > UNWRITTEN_LOCK_GRACE_MS;
    if (abandoned) {
      await rm(lockFile, { force: true });
      continue;
    }
    if (!announced) {
      options.log?.(`waiting for another trainyard process (pid ${owner || '?'}) that holds ${lockFile}`);
      announced = true;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockFile}; delete it if its owner is stuck`);
    await sleep(options.pollMs ?? 200);
  }
  try {
    return await task();
  } finally {
    await rm(lockFile, { force: true });
  }
}
