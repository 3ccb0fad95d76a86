#!/usr/bin/env node
// `npm run demo`: installs what is missing, starts the dev services (Temporal + MinIO) and a worker,
// uploads a real public dataset (penguins, from the vega-datasets npm package), runs a pipeline and
// prints the result, the Temporal UI link and the artifact URIs. Services stay up for exploring.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { devServicesEnv, ensureInstalled, trainyard } from './ensure-installed.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const startedMs = Date.now();
ensureInstalled(root);

const env = await devServicesEnv({
  ...process.env,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  LOG_FORMAT: process.env.LOG_FORMAT ?? 'json',
});
const step = (text) => console.log(`\n[demo] ${text}`);
const fail = (text) => {
  console.error(`[demo] ${text}`);
  process.exit(1);
};

step('starting dev services (Temporal dev server + MinIO)');
if (trainyard(root, ['dev', 'up'], { env }) !== 0) fail('dev services did not start; see above');

step('starting a worker on task queue "trainyard"');
const worker = await startWorker();

try {
  const penguins = path.join(
    path.dirname(createRequire(import.meta.url).resolve('vega-datasets')),
    '..',
    'data',
    'penguins.json',
  );
  const datasetUri = 's3://trainyard/datasets/penguins/penguins.json';
  step(`uploading ${path.relative(root, penguins)} to ${datasetUri}`);
  if (trainyard(root, ['data', 'put', penguins, datasetUri], { env }) !== 0) fail('upload failed');

  const configFile = path.join(root, '.data', 'demo', 'penguins.json');
  mkdirSync(path.dirname(configFile), { recursive: true });
  writeFileSync(
    configFile,
    `${JSON.stringify({ model: 'penguins', dataset: { uri: datasetUri }, task: { type: 'multiclass', label: 'Species' } }, null, 2)}\n`,
  );
  step(`running the pipeline: trainyard run --config ${path.relative(root, configFile)} --follow`);
  if (trainyard(root, ['run', '--config', configFile, '--follow'], { env }) !== 0) fail('the pipeline run failed');

  step(`done in ${((Date.now() - startedMs) / 1000).toFixed(1)} s.`);
  console.log('  Temporal UI:   http://127.0.0.1:8233');
  console.log('  MinIO console: http://127.0.0.1:9001 (user trainyard, password trainyard-dev-secret)');
  console.log('  Services keep running; stop them with: npx trainyard dev down');
} finally {
  worker.kill('SIGTERM');
}

/** Starts `trainyard worker` and resolves once it logs that it is polling. */
function startWorker() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'trainyard.mjs'), 'worker'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      if (buffered.includes('trainyard worker started')) {
        const logFile = path.join(root, '.data', 'logs', 'demo-worker.log');
        mkdirSync(path.dirname(logFile), { recursive: true });
        console.log(`[demo] worker is polling (its logs: ${path.relative(root, logFile)})`);
        child.stdout.removeAllListeners('data');
        const log = createWriteStream(logFile);
        log.write(buffered);
        child.stdout.pipe(log);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (code ${code}):\n${buffered}`)));
  });
}
