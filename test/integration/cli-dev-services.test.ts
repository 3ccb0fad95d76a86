/**
 * The CLI finds the running dev services without `eval "$(trainyard dev env)"`: spawned with every variable
 * the services answer for removed, it reaches them through their state files under TRAINYARD_DATA_DIR;
 * an explicit variable still wins, one by one; `doctor` says where each setting came from.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../lib/config';
import { DEV_SERVICE_VARIABLES } from '../../lib/dev-services/running-dev-services';
import { readServiceState, serviceStateFile } from '../../lib/dev-services/service-state';
import { createArtifactStore } from '../../lib/store/create-store';
import { REPO_ROOT, runCli, startWorkerProcess } from '../support/cli';

/** The running services' data dir, as scripts/test.mjs and `dev up` resolve it. */
const dataDir = path.resolve(process.env.TRAINYARD_DATA_DIR || path.join(REPO_ROOT, '.data'));

/** The test's environment without anything that points at the services: only their state files can. */
function withoutServiceVariables(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const removed = [...Object.values(DEV_SERVICE_VARIABLES).flat(), 'S3_PORT', 'S3_USE_SSL', 'TRAINYARD_FS_ROOT'];
  return { ...Object.fromEntries(removed.map((name) => [name, undefined])), TRAINYARD_DATA_DIR: dataDir, ...extra };
}

describe('the CLI finds the running dev services', () => {
  let dir: string;
  const uri = `s3://trainyard/test/cli-dev-services-${randomUUID().slice(0, 8)}/rows.csv`;
  const content = 'x,y\n1,0\n2,1\n3,0\n';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trainyard-cli-dev-services-'));
    for (const service of ['temporal', 'minio'] as const) {
      assert.ok(
        await readServiceState(serviceStateFile(dataDir, service)),
        `no state file for ${service} under ${dataDir}/run: start the services with "trainyard dev up"`,
      );
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('data put to s3:// reaches MinIO with no S3_* or TRAINYARD_STORE set, and the object reads back', async () => {
    const file = path.join(dir, 'rows.csv');
    await writeFile(file, content);
    const put = await runCli(['data', 'put', file, uri], withoutServiceVariables());
    assert.equal(put.code, 0, put.stderr);
    assert.equal((JSON.parse(put.stdout) as { uri: string }).uri, uri);
    // Read back through the test's own configuration (scripts/test.mjs exports the services' variables).
    const store = createArtifactStore(loadConfig().store);
    assert.equal(store.kind, 's3');
    const key = store.keyFor(uri);
    assert.equal(await text(await store.get(key)), content);
    await store.delete(key);
  });

  it('doctor names the dev services as the source of the addresses, and reaches both', async () => {
    const { code, stdout } = await runCli(['doctor'], withoutServiceVariables());
    assert.equal(code, 0, stdout);
    assert.match(
      stdout,
      /from the running dev services: TEMPORAL_ADDRESS, .*TEMPORAL_UI_URL, TRAINYARD_STORE, S3_ENDPOINT/,
    );
    assert.ok(stdout.includes(`dev services running from ${dataDir}: temporal and minio`), stdout);
    assert.match(stdout, /ok {3}temporal: /);
    assert.match(stdout, /ok {3}artifact store: s3 reachable/);
  });

  it('the worker finds them too, and says which settings it took from them', async () => {
    const taskQueue = `cli-dev-services-${randomUUID().slice(0, 8)}`;
    const worker = startWorkerProcess(withoutServiceVariables({ TRAINYARD_TASK_QUEUE: taskQueue, LOG_LEVEL: 'info' }));
    try {
      const took = JSON.parse(await worker.waitForLine(/come from the running dev services/)) as {
        variables: string[];
      };
      for (const name of ['TEMPORAL_ADDRESS', 'TRAINYARD_STORE', 'S3_ENDPOINT'])
        assert.ok(took.variables.includes(name), `${name} not taken from the dev services: ${JSON.stringify(took)}`);
      const started = JSON.parse(await worker.waitForLine(/trainyard worker started/)) as {
        store: string;
        taskQueue: string;
      };
      assert.equal(started.taskQueue, taskQueue);
      assert.match(started.store, /^s3 /);
    } finally {
      const exited = once(worker.child, 'exit');
      worker.child.kill('SIGTERM');
      await exited;
    }
  });

  it('an explicit variable wins over the dev services, variable by variable', async () => {
    const doctor = await runCli(['doctor'], withoutServiceVariables({ TEMPORAL_ADDRESS: '127.0.0.1:1' }));
    assert.equal(doctor.code, 1);
    assert.match(doctor.stdout, /from the environment: TEMPORAL_ADDRESS[,\n]/);
    assert.match(doctor.stdout, /FAIL temporal: 127\.0\.0\.1:1 unreachable/);
    // The store's variables, which the environment left unset, still come from the running MinIO.
    const fromServices = /from the running dev services: (.*)/.exec(doctor.stdout)?.[1]?.split(', ') ?? [];
    for (const name of ['TRAINYARD_STORE', 'S3_ENDPOINT']) assert.ok(fromServices.includes(name), name);
    assert.ok(!fromServices.includes('TEMPORAL_ADDRESS'));
    assert.match(doctor.stdout, /ok {3}artifact store: s3 reachable/);

    const file = path.join(dir, 'explicit.csv');
    await writeFile(file, content);
    const fsRoot = path.join(dir, 'artifacts');
    const put = await runCli(
      ['data', 'put', file, uri],
      withoutServiceVariables({ TRAINYARD_STORE: 'fs', TRAINYARD_FS_ROOT: fsRoot }),
    );
    assert.equal(put.code, 2, put.stdout);
    assert.match(put.stderr, /this store holds files under/);
  });

  it('without running services (an empty data dir) the defaults apply, and doctor says none were found', async () => {
    const empty = path.join(dir, 'no-services');
    await mkdir(path.join(empty, 'run'), { recursive: true });
    const { stdout } = await runCli(['doctor'], withoutServiceVariables({ TRAINYARD_DATA_DIR: empty }));
    assert.ok(stdout.includes(`dev services running from ${empty}: none`), stdout);
    assert.match(stdout, /store fs /);
    assert.doesNotMatch(stdout, /from the running dev services/);
  });
});
