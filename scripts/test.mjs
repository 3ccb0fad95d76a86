#!/usr/bin/env node
// `npm test`: installs what is missing, starts the real dev services (Temporal dev server + MinIO,
// built once per machine into ~/.cache/trainyard), runs every test file, prints "N passed, N failed",
// and stops the services it started. `--unit` runs only test/unit without services. A run without file
// filters first runs `npm run lint` (prettier --check, eslint).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { devServicesEnv, ensureInstalled, trainyard } from './ensure-installed.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const unitOnly = process.argv.includes('--unit');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

ensureInstalled(root);

function testFiles(dir) {
  const full = path.join(root, 'test', dir);
  return readdirSync(full, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test', dir, f))
    .sort();
}

// A full run checks formatting and lint first, so a style violation fails CI like a test would.
if (filters.length === 0) {
  const lint = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: root, stdio: 'inherit' });
  if (lint.status !== 0) {
    console.error('[trainyard] prettier or eslint found problems; `npm run format` fixes formatting.');
    process.exit(1);
  }
}

let files = unitOnly ? testFiles('unit') : [...testFiles('unit'), ...testFiles('integration'), ...testFiles('e2e')];
if (filters.length > 0) files = files.filter((f) => filters.some((needle) => f.includes(needle)));

let startedServices = false;
const env = await devServicesEnv({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' });
if (!unitOnly) {
  const alreadyUp = trainyard(root, ['dev', 'status'], { stdio: 'ignore', env }) === 0;
  if (!alreadyUp) {
    if (trainyard(root, ['dev', 'up'], { env }) !== 0) {
      console.error('[trainyard] could not start the dev services; see above.');
      process.exit(1);
    }
    startedServices = true;
  }
}

const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${path.join(root, 'scripts', 'summary-reporter.mjs')}`,
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env },
);

if (startedServices && process.env.TRAINYARD_KEEP_SERVICES !== '1') trainyard(root, ['dev', 'down'], { env });
process.exit(result.status ?? 1);
