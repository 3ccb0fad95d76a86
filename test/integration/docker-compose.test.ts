/**
 * The Docker deployment files (docker-compose.yml, Dockerfile, .dockerignore) describe the stack the
 * worker expects: the services are there, wired by health, and the worker gets the same environment
 * variables as a local run (lib/config.ts).
 *
 * The compose file is read twice when possible: by `docker compose config` (the authoritative parse,
 * with Compose's own interpolation and normalisation) when the Docker CLI has the compose plugin, and
 * always by a YAML parser with a small interpolation of `${VAR:-default}`. Both feed one set of checks.
 * No Docker engine is needed: nothing is pulled or started.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { DEV_S3_ACCESS_KEY, DEV_S3_SECRET_KEY, EnvSchema, loadConfig } from '../../lib/config';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const composePath = path.join(repoRoot, 'docker-compose.yml');
const dockerfilePath = path.join(repoRoot, 'Dockerfile');
const dockerignorePath = path.join(repoRoot, '.dockerignore');

const REQUIRED_SERVICES = [
  'postgresql',
  'temporal',
  'temporal-setup',
  'temporal-ui',
  'minio',
  'minio-init',
  'worker',
] as const;
const SEARCH_ATTRIBUTES = ['TrainyardModel', 'TrainyardStage', 'TrainyardOutcome'] as const;
/** What the worker must be told inside the compose network; all are EnvSchema names. */
const REQUIRED_WORKER_ENV = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TRAINYARD_TASK_QUEUE',
  'TRAINYARD_STORE',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'S3_BUCKET',
  'S3_REGION',
  'LOG_LEVEL',
] as const;
const WORKER_CMD = ['node', 'bin/trainyard.mjs', 'worker'];
const SOURCE_DIRS = ['workflows', 'activities', 'contracts', 'lib', 'worker', 'cli', 'bin'] as const;

// ---------------------------------------------------------------------------------------------------
// One normalised shape for both parsers

interface PortMapping {
  published: string;
  target: number;
}

interface ServiceModel {
  image: string | undefined;
  build: { context: string; dockerfile: string } | undefined;
  environment: Record<string, string>;
  ports: PortMapping[];
  /** dependency name → condition (service_started, service_healthy, service_completed_successfully) */
  dependsOn: Record<string, string>;
  healthcheck: { test: string[]; disabled: boolean } | undefined;
  entrypoint: string[];
  command: string[];
  volumes: { source: string | undefined; target: string }[];
}

interface ComposeModel {
  services: Record<string, ServiceModel>;
  volumes: string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asStringList(value: Json | undefined): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map((v) => String(v));
  return [String(value)];
}

function normaliseEnvironment(value: Json | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (const entry of value) {
      const text = String(entry);
      const eq = text.indexOf('=');
      if (eq === -1) env[text] = '';
      else env[text.slice(0, eq)] = text.slice(eq + 1);
    }
  } else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) env[key] = v === null ? '' : String(v);
  }
  return env;
}

function normalisePorts(value: Json | undefined): PortMapping[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry) => {
    if (isObject(entry)) return { published: String(entry.published ?? ''), target: Number(entry.target) };
    // Short syntax: [ip:]published:target[/protocol]
    const parts = String(entry)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.at(-1));
    const published = parts.length >= 2 ? (parts.at(-2) ?? '') : '';
    return { published, target };
  });
}

function normaliseDependsOn(value: Json | undefined): Record<string, string> {
  if (Array.isArray(value)) return Object.fromEntries(value.map((name) => [String(name), 'service_started']));
  if (!isObject(value)) return {};
  return Object.fromEntries(
    Object.entries(value).map(([name, spec]) => [
      name,
      isObject(spec) && typeof spec.condition === 'string' ? spec.condition : 'service_started',
    ]),
  );
}

function normaliseHealthcheck(value: Json | undefined): ServiceModel['healthcheck'] {
  if (!isObject(value)) return undefined;
  const test = typeof value.test === 'string' ? ['CMD-SHELL', value.test] : asStringList(value.test);
  return { test, disabled: value.disable === true || test[0] === 'NONE' };
}

function normaliseVolumes(value: Json | undefined): ServiceModel['volumes'] {
  if (!Array.isArray(value)) return [];
  return value.map((entry) => {
    if (isObject(entry)) {
      return {
        source: typeof entry.source === 'string' ? entry.source : undefined,
        target: String(entry.target),
      };
    }
    const parts = String(entry).split(':');
    return parts.length === 1
      ? { source: undefined, target: parts[0] ?? '' }
      : { source: parts[0], target: parts[1] ?? '' };
  });
}

function normaliseBuild(value: Json | undefined): ServiceModel['build'] {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { context: value, dockerfile: 'Dockerfile' };
  if (!isObject(value)) return undefined;
  return {
    context: String(value.context ?? '.'),
    dockerfile: typeof value.dockerfile === 'string' ? value.dockerfile : 'Dockerfile',
  };
}

function normaliseCompose(raw: unknown): ComposeModel {
  assert.ok(isObject(raw), 'the compose file is a mapping');
  assert.ok(isObject(raw.services), 'the compose file has a services mapping');
  const services: Record<string, ServiceModel> = {};
  for (const [name, spec] of Object.entries(raw.services)) {
    assert.ok(isObject(spec), `service ${name} is a mapping`);
    services[name] = {
      image: typeof spec.image === 'string' ? spec.image : undefined,
      build: normaliseBuild(spec.build),
      environment: normaliseEnvironment(spec.environment),
      ports: normalisePorts(spec.ports),
      dependsOn: normaliseDependsOn(spec.depends_on),
      healthcheck: normaliseHealthcheck(spec.healthcheck),
      entrypoint: asStringList(spec.entrypoint),
      command: asStringList(spec.command),
      volumes: normaliseVolumes(spec.volumes),
    };
  }
  return { services, volumes: isObject(raw.volumes) ? Object.keys(raw.volumes) : [] };
}

// ---------------------------------------------------------------------------------------------------
// The two parsers

/** The environment the compose file is interpolated with: the caller's, minus every variable the file
 * takes defaults for, so the checks see the defaults a fresh checkout gets. */
function interpolationEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...Object.keys(EnvSchema.shape), 'MINIO_IMAGE']) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith('COMPOSE_')) delete env[name];
  return env;
}

/** Compose-style interpolation of one string: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?message}, ${VAR?message}, ${VAR:+alt}, ${VAR+alt}. */
function interpolate(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare) as string;
      const value = env[name];
      const unsetOrEmpty = value === undefined || value === '';
      const unset = value === undefined;
      switch (op) {
        case ':-':
          return unsetOrEmpty ? (arg ?? '') : (value as string);
        case '-':
          return unset ? (arg ?? '') : (value as string);
        case ':?':
        case '?':
          if (op === ':?' ? unsetOrEmpty : unset) throw new Error(`required variable ${name} is missing: ${arg ?? ''}`);
          return value as string;
        case ':+':
          return unsetOrEmpty ? '' : (arg ?? '');
        case '+':
          return unset ? '' : (arg ?? '');
        default:
          return value ?? '';
      }
    },
  );
}

function interpolateDeep(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, env));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)]));
  return value;
}

function loadWithYaml(): ComposeModel {
  const raw: unknown = parseYaml(readFileSync(composePath, 'utf8'));
  return normaliseCompose(interpolateDeep(raw, interpolationEnv()));
}

function dockerComposeAvailable(): boolean {
  const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 30_000 });
  return probe.status === 0;
}

function loadWithDockerCompose(): ComposeModel {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trainyard-compose-'));
  try {
    // An empty env file: a developer's own .env must not change what the checks see.
    const envFile = path.join(dir, 'empty.env');
    writeFileSync(envFile, '');
    const result = spawnSync(
      'docker',
      ['compose', '--env-file', envFile, '-f', composePath, 'config', '--format', 'json'],
      { cwd: repoRoot, encoding: 'utf8', env: interpolationEnv(), timeout: 60_000 },
    );
    assert.equal(result.status, 0, `docker compose config failed:\n${result.stderr}`);
    return normaliseCompose(JSON.parse(result.stdout));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// The checks, shared by both parsers (and by the tests that show they can fail)

function service(model: ComposeModel, name: string): ServiceModel {
  const found = model.services[name];
  assert.ok(found, `service "${name}" is missing; services: ${Object.keys(model.services).join(', ')}`);
  return found;
}

function healthTest(model: ComposeModel, name: string): string {
  const check = service(model, name).healthcheck;
  assert.ok(check && !check.disabled && check.test.length > 1, `service "${name}" has a healthcheck`);
  return check.test.slice(1).join(' ');
}

function assertDependsOn(model: ComposeModel, name: string, expected: Record<string, string>): void {
  const actual = service(model, name).dependsOn;
  for (const [dependency, condition] of Object.entries(expected)) {
    assert.equal(actual[dependency], condition, `"${name}" depends on "${dependency}" with condition ${condition}`);
  }
}

function assertPort(model: ComposeModel, name: string, published: string, target: number): void {
  const ports = service(model, name).ports;
  assert.ok(
    ports.some((p) => p.published === published && p.target === target),
    `"${name}" publishes ${published}:${target}; has ${JSON.stringify(ports)}`,
  );
}

/** The script a one-shot service runs through `sh -c`. */
function shellScript(model: ComposeModel, name: string): string {
  const s = service(model, name);
  assert.deepEqual(s.entrypoint, ['/bin/sh', '-c'], `"${name}" runs its command through /bin/sh -c`);
  assert.equal(s.command.length, 1, `"${name}" has one script as its command`);
  // docker compose config may print $$ escaped or not; the scripts use no $$ (PID) of their own.
  return (s.command[0] as string).replaceAll('$$', '$');
}

function assertPinned(image: string | undefined, pattern: RegExp, name: string): void {
  assert.ok(image, `"${name}" names an image`);
  assert.match(image, pattern, `"${name}" image ${image} is pinned as expected`);
}

function checkCompose(model: ComposeModel): void {
  for (const name of REQUIRED_SERVICES) service(model, name);

  // Images: pinned, never :latest or untagged.
  for (const [name, s] of Object.entries(model.services)) {
    if (s.image === undefined) continue;
    const tag = s.image.includes(':') ? s.image.slice(s.image.lastIndexOf(':') + 1) : '';
    assert.ok(tag !== '' && tag !== 'latest' && !tag.includes('/'), `"${name}" pins its image (${s.image})`);
  }
  assertPinned(service(model, 'postgresql').image, /^postgres:16([.-]|$)/, 'postgresql');
  assertPinned(service(model, 'temporal').image, /^temporalio\/auto-setup:1\.2\d\.\d+$/, 'temporal');
  assertPinned(service(model, 'temporal-setup').image, /^temporalio\/admin-tools:1\.2\d\.\d+/, 'temporal-setup');
  assertPinned(service(model, 'temporal-ui').image, /^temporalio\/ui:\d+\.\d+\.\d+$/, 'temporal-ui');
  assertPinned(service(model, 'minio').image, /minio:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z/, 'minio');
  assertPinned(service(model, 'minio-init').image, /mc:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z/, 'minio-init');

  // PostgreSQL: health by pg_isready, data on a named volume.
  assert.match(healthTest(model, 'postgresql'), /pg_isready/);
  const pgData = service(model, 'postgresql').volumes.find((v) => v.target === '/var/lib/postgresql/data');
  assert.ok(pgData?.source && model.volumes.includes(pgData.source), 'postgresql keeps its data on a named volume');

  // Temporal: PostgreSQL persistence, up once the database is healthy, health through the Temporal CLI.
  const temporal = service(model, 'temporal');
  assert.equal(temporal.environment.DB, 'postgres12');
  assert.equal(temporal.environment.POSTGRES_SEEDS, 'postgresql');
  assert.ok(temporal.environment.POSTGRES_USER && temporal.environment.POSTGRES_PWD, 'temporal has DB credentials');
  assertDependsOn(model, 'temporal', { postgresql: 'service_healthy' });
  assert.match(healthTest(model, 'temporal'), /temporal operator cluster health|tctl/);
  assertPort(model, 'temporal', '7233', 7233);

  // Search attributes: registered once Temporal is healthy, each as a Keyword, tolerant of reruns.
  assertDependsOn(model, 'temporal-setup', { temporal: 'service_healthy' });
  const setup = shellScript(model, 'temporal-setup');
  assert.match(setup, /temporal operator search-attribute create/);
  assert.match(setup, /--type Keyword/);
  assert.match(setup, /already exists/);
  for (const attribute of SEARCH_ATTRIBUTES) assert.match(setup, new RegExp(`\\b${attribute}\\b`));

  // Temporal UI on host port 8233.
  assertPort(model, 'temporal-ui', '8233', 8080);
  assert.equal(service(model, 'temporal-ui').environment.TEMPORAL_ADDRESS, 'temporal:7233');
  assertDependsOn(model, 'temporal-ui', { temporal: 'service_healthy' });

  // MinIO: API and console ports, readiness probe, data volume.
  const minio = service(model, 'minio');
  assertPort(model, 'minio', '9000', 9000);
  assertPort(model, 'minio', '9001', 9001);
  assert.match(healthTest(model, 'minio'), /\/minio\/health\/ready/);
  const minioData = minio.volumes.find((v) => v.target === '/data');
  assert.ok(minioData?.source && model.volumes.includes(minioData.source), 'minio keeps its data on a named volume');

  // Bucket creation: after MinIO is healthy, idempotent.
  assertDependsOn(model, 'minio-init', { minio: 'service_healthy' });
  const init = shellScript(model, 'minio-init');
  assert.match(init, /mc mb --ignore-existing/);

  // The worker: built from the repo's Dockerfile, configured with lib/config.ts's names only.
  const worker = service(model, 'worker');
  assert.ok(worker.build, 'worker is built from the repository');
  assert.equal(path.basename(worker.build.dockerfile), 'Dockerfile');
  assertDependsOn(model, 'worker', {
    temporal: 'service_healthy',
    minio: 'service_healthy',
    'minio-init': 'service_completed_successfully',
  });
  const env = worker.environment;
  const known = new Set(Object.keys(EnvSchema.shape));
  for (const key of Object.keys(env)) {
    assert.ok(known.has(key), `worker env ${key} is not a variable lib/config.ts reads (EnvSchema)`);
  }
  for (const key of REQUIRED_WORKER_ENV) assert.ok(env[key], `worker env sets ${key}`);
  assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.equal(env.S3_ENDPOINT, 'http://minio:9000');
  assert.equal(env.TRAINYARD_STORE, 's3');

  // The worker can reach what the other services create: same credentials and bucket as MinIO and
  // minio-init, same namespace as the one Temporal sets up.
  assert.equal(minio.environment.MINIO_ROOT_USER, env.S3_ACCESS_KEY, 'MinIO root user is the worker access key');
  assert.equal(
    minio.environment.MINIO_ROOT_PASSWORD,
    env.S3_SECRET_KEY,
    'MinIO root password is the worker secret key',
  );
  const initEnv = service(model, 'minio-init').environment;
  assert.ok(
    Object.values(initEnv).includes(env.S3_BUCKET as string) || init.includes(`store/${env.S3_BUCKET}`),
    'minio-init creates the bucket the worker uses',
  );
  assert.equal(temporal.environment.DEFAULT_NAMESPACE, env.TEMPORAL_NAMESPACE, 'Temporal creates the worker namespace');
  assert.ok(
    Object.values(service(model, 'temporal-setup').environment).includes(env.TEMPORAL_NAMESPACE as string),
    'search attributes go to the worker namespace',
  );

  // The worker env passes the worker's own config parser.
  const config = loadConfig(env, '/app');
  assert.equal(config.store.kind, 's3');
  if (config.store.kind === 's3') {
    assert.equal(config.store.s3.endPoint, 'minio');
    assert.equal(config.store.s3.port, 9000);
    assert.equal(config.store.s3.useSSL, false);
  }
  assert.equal(config.temporal.address, 'temporal:7233');
}

/** The compose defaults are the dev credentials of lib/config.ts (checked on a default interpolation only). */
function checkDefaults(model: ComposeModel): void {
  const env = service(model, 'worker').environment;
  assert.equal(env.S3_ACCESS_KEY, DEV_S3_ACCESS_KEY);
  assert.equal(env.S3_SECRET_KEY, DEV_S3_SECRET_KEY);
  assert.equal(env.S3_BUCKET, 'trainyard');
  assert.equal(env.TEMPORAL_NAMESPACE, 'default');
  assert.equal(env.TRAINYARD_TASK_QUEUE, 'trainyard');
}

// ---------------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions in order; comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') continue;
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match) instructions.push({ keyword: (match[1] as string).toUpperCase(), args: match[2] ?? '' });
  }
  if (pending.trim() !== '') throw new Error('Dockerfile ends inside a line continuation');
  return instructions;
}

function checkDockerfile(text: string): void {
  const instructions = parseDockerfile(text);
  const froms = instructions.filter((i) => i.keyword === 'FROM');
  assert.ok(froms.length >= 2, 'the Dockerfile is multi-stage');
  for (const from of froms) assert.match(from.args, /^node:20-bookworm-slim(\s|$)/, `stage base ${from.args}`);

  const lastFrom = instructions.lastIndexOf(froms.at(-1) as Instruction);
  const finalStage = instructions.slice(lastFrom + 1);

  const installs = instructions.filter((i) => i.keyword === 'RUN' && /\bnpm install\b/.test(i.args));
  assert.ok(installs.length > 0, 'dependencies are installed with npm install');
  assert.ok(
    installs.every((i) => /--omit=dev\b/.test(i.args)),
    'npm install omits devDependencies (tsx is a runtime dependency)',
  );
  assert.ok(
    installs.every((i) => /--no-save\b/.test(i.args)),
    'npm install --no-save: the lockfile decides versions and is never rewritten',
  );

  const cmds = finalStage.filter((i) => i.keyword === 'CMD');
  assert.equal(cmds.length, 1, 'the final stage has one CMD');
  assert.deepEqual(JSON.parse((cmds[0] as Instruction).args), WORKER_CMD, 'CMD starts the worker through the CLI');

  const users = finalStage.filter((i) => i.keyword === 'USER');
  const user = users.at(-1)?.args.trim();
  assert.ok(user && !/^(root|0)(:|$)/.test(user), 'the image runs as a non-root user');

  const copied = new Set(
    finalStage
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1)),
  );
  for (const dir of SOURCE_DIRS) assert.ok(copied.has(dir), `the final stage copies ${dir}/`);
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.json']) {
    assert.ok(copied.has(file), `the final stage copies ${file}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Tests

/** A deep copy to mutate in the tests that show the checks fail. */
function clone(model: ComposeModel): ComposeModel {
  return structuredClone(model);
}

const withDocker = dockerComposeAvailable();

describe('docker-compose.yml (YAML parser)', () => {
  const model = loadWithYaml();

  test('names every service, wired by health, with the worker env of lib/config.ts', () => {
    checkCompose(model);
    checkDefaults(model);
  });

  test('an override from the environment reaches MinIO, the bucket job and the worker alike', () => {
    const raw: unknown = parseYaml(readFileSync(composePath, 'utf8'));
    const env = {
      ...interpolationEnv(),
      S3_ACCESS_KEY: 'prod-key',
      S3_SECRET_KEY: 'prod-secret-123',
      S3_BUCKET: 'ml-artifacts',
    };
    const overridden = normaliseCompose(interpolateDeep(raw, env));
    checkCompose(overridden);
    assert.equal(service(overridden, 'worker').environment.S3_BUCKET, 'ml-artifacts');
    assert.equal(service(overridden, 'minio').environment.MINIO_ROOT_USER, 'prod-key');
  });

  test('the checks fail when a service is missing', () => {
    for (const name of REQUIRED_SERVICES) {
      const broken = clone(model);
      delete broken.services[name];
      assert.throws(() => checkCompose(broken), new RegExp(`service "${name}" is missing`));
    }
  });

  test('the checks fail on a missing healthcheck, a wrong dependency or a foreign env name', () => {
    const noHealth = clone(model);
    service(noHealth, 'minio').healthcheck = undefined;
    assert.throws(() => checkCompose(noHealth), /"minio" has a healthcheck/);

    const startedOnly = clone(model);
    service(startedOnly, 'worker').dependsOn['minio-init'] = 'service_started';
    assert.throws(() => checkCompose(startedOnly), /minio-init/);

    const foreign = clone(model);
    service(foreign, 'worker').environment.MINIO_ENDPOINT = 'http://minio:9000';
    assert.throws(() => checkCompose(foreign), /MINIO_ENDPOINT is not a variable lib\/config\.ts reads/);

    const latest = clone(model);
    service(latest, 'temporal-ui').image = 'temporalio/ui:latest';
    assert.throws(() => checkCompose(latest), /pins its image/);

    const wrongPort = clone(model);
    service(wrongPort, 'temporal-ui').ports = [{ published: '8080', target: 8080 }];
    assert.throws(() => checkCompose(wrongPort), /publishes 8233:8080/);
  });

  test('the one-shot scripts and the MinIO probe are valid shell', () => {
    for (const name of ['temporal-setup', 'minio-init']) {
      const check = spawnSync('sh', ['-n', '-c', shellScript(model, name)], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${name} script: ${check.stderr}`);
    }
    const probe = service(model, 'minio').healthcheck?.test ?? [];
    assert.deepEqual(probe.slice(0, 3), ['CMD', 'bash', '-c']);
    const check = spawnSync('bash', ['-n', '-c', probe[3] ?? ''], { encoding: 'utf8' });
    assert.equal(check.status, 0, `minio healthcheck: ${check.stderr}`);
  });
});

describe('temporal-setup registers search attributes idempotently (fake temporal CLI)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trainyard-setup-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const state = path.join(dir, 'attributes');
  // A stand-in for the `temporal` CLI: remembers created attributes in a file; when FAKE_RACE is set,
  // `list` misses them and `create` answers as the server does for an existing one.
  writeFileSync(
    path.join(dir, 'temporal'),
    [
      '#!/bin/sh',
      `state="${state}"`,
      'touch "$state"',
      'case "$*" in',
      '  "operator namespace describe"*) exit 0 ;;',
      '  "operator search-attribute list"*) [ -n "${FAKE_RACE:-}" ] || cat "$state"; exit 0 ;;',
      '  "operator search-attribute create"*)',
      '    name=$(echo "$*" | sed -n "s/.*--name \\([^ ]*\\).*/\\1/p")',
      '    if grep -qx "$name  Keyword" "$state"; then echo "Error: search attribute $name already exists" >&2; exit 1; fi',
      '    echo "$name  Keyword" >> "$state"; exit 0 ;;',
      'esac',
      'echo "unexpected: $*" >&2; exit 2',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(dir, 'temporal'), 0o755);
  const script = shellScript(loadWithYaml(), 'temporal-setup');
  const run = (extra: NodeJS.ProcessEnv = {}) =>
    spawnSync('sh', ['-c', script], {
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        PATH: `${dir}:${process.env.PATH ?? ''}`,
        TEMPORAL_ADDRESS: 'temporal:7233',
        SETUP_NAMESPACE: 'default',
        ...extra,
      },
    });

  test('first run registers all three as Keyword', () => {
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(
      readFileSync(state, 'utf8').trim().split('\n'),
      SEARCH_ATTRIBUTES.map((name) => `${name}  Keyword`),
    );
    for (const name of SEARCH_ATTRIBUTES) assert.match(first.stdout, new RegExp(`${name} registered`));
  });

  test('a second run finds them and changes nothing', () => {
    const second = run();
    assert.equal(second.status, 0, second.stderr);
    for (const name of SEARCH_ATTRIBUTES) assert.match(second.stdout, new RegExp(`${name} already exists`));
    assert.equal(readFileSync(state, 'utf8').trim().split('\n').length, 3);
  });

  test('an "already exists" answer from create is not a failure', () => {
    const raced = run({ FAKE_RACE: '1' });
    assert.equal(raced.status, 0, raced.stderr);
    for (const name of SEARCH_ATTRIBUTES) assert.match(raced.stdout, new RegExp(`${name} already exists`));
  });
});

describe(
  'docker-compose.yml (docker compose config)',
  { skip: withDocker ? false : 'docker compose plugin not available' },
  () => {
    test('the authoritative parse passes the same checks', () => {
      const model = loadWithDockerCompose();
      checkCompose(model);
      checkDefaults(model);
    });

    test('both parsers agree on services, ports, dependencies and the worker env', () => {
      const docker = loadWithDockerCompose();
      const yaml = loadWithYaml();
      assert.deepEqual(Object.keys(docker.services).sort(), Object.keys(yaml.services).sort());
      for (const name of Object.keys(yaml.services)) {
        const a = service(docker, name);
        const b = service(yaml, name);
        assert.deepEqual(a.ports, b.ports, `${name} ports`);
        assert.deepEqual(a.dependsOn, b.dependsOn, `${name} depends_on`);
        assert.deepEqual(a.environment, b.environment, `${name} environment`);
        assert.equal(a.image, b.image, `${name} image`);
      }
    });
  },
);

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync(dockerfilePath, 'utf8');

  test('multi-stage on node:20-bookworm-slim, npm install --omit=dev --no-save, non-root, CMD runs the worker', () => {
    checkDockerfile(dockerfile);
  });

  test('CMD runs the file package.json names as the trainyard bin', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      bin?: Record<string, string>;
    };
    assert.equal(pkg.bin?.trainyard, WORKER_CMD[1]);
  });

  test('the checks fail on a changed CMD, an install that rewrites the lockfile, or a root user', () => {
    assert.throws(() => checkDockerfile(dockerfile.replace(/^CMD .*$/m, 'CMD ["npm", "run", "worker"]')), /CMD/);
    assert.throws(() => checkDockerfile(dockerfile.replace(/ --no-save/g, '')), /--no-save/);
    assert.throws(() => checkDockerfile(dockerfile.replace(/^USER .*$/m, 'USER root')), /non-root/);
    assert.throws(() => checkDockerfile(dockerfile.replace(/^COPY bin .*$/m, '')), /copies bin/);
  });

  test('.dockerignore keeps host state out of the build context', () => {
    const entries = readFileSync(dockerignorePath, 'utf8')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const entry of ['node_modules', '.data', 'bench/results', 'test-output', '.git']) {
      assert.ok(entries.includes(entry), `.dockerignore lists ${entry}`);
    }
  });
});
