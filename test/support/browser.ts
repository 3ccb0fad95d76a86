import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './cli';

/** Debian's `chromium` package: the browser tests drive it through playwright-core (no bundled browsers). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const APT_TIMEOUT_MS = 10 * 60_000;

/**
 * Installs Debian's chromium when it is missing (CI starts from a clean machine; the tests run as root).
 * `apt-get update` only runs when the first install fails, so a machine with fresh package lists pays nothing.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  const install = () => runApt(['install', '-y', 'chromium']);
  if (install().ok) return;
  const update = runApt(['update']);
  const retried = install();
  if (!retried.ok) {
    throw new Error(
      `could not install chromium with apt-get (are we root on Debian?):\n${update.output}\n${retried.output}`,
    );
  }
}

function runApt(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, {
    encoding: 'utf8',
    timeout: APT_TIMEOUT_MS,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const ok = result.status === 0 && existsSync(CHROMIUM_PATH);
  return {
    ok,
    output: `apt-get ${args.join(' ')} → ${result.error?.message ?? `exit ${result.status}`}\n${result.stdout}${result.stderr}`,
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** Empties test-output/<dir>/, then saves numbered full-page screenshots there and returns each file's path. */
export async function screenshotter(dir: string): Promise<(page: Page, name: string) => Promise<string>> {
  const outputDir = path.join(REPO_ROOT, 'test-output', dir);
  await rm(outputDir, { recursive: true, force: true });
  await mkdir(outputDir, { recursive: true });
  let count = 0;
  return async (page, name) => {
    count += 1;
    const file = path.join(outputDir, `${String(count).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}
