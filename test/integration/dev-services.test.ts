/**
 * `trainyard dev` against the real pinned binaries, on an isolated set of free ports and a temp data dir, so the
 * developer's own services on 7233 / 9000 are never touched. The steps run in order and share one service set.
 * Binaries come from the usual resolution (cache under ~/.cache/trainyard, or a one-time go build).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { statusExitCode } from '../../cli/commands/dev';
import { MINIO_SERVER, resolveBinary } from '../../scripts/dev/binaries';
import { resolveDevOptions, type DevOptions } from '../../scripts/dev/dev-options';
import {
  findFreePort,
  isPidAlive,
  isPortInUse,
  readState,
  runCapture,
  spawnDetached,
  stopProcess,
  waitUntil,
} from '../../scripts/dev/processes';
import { createMinioClient, minioService } from '../../scripts/dev/service-specs';
import { devEnvironment, formatExports } from '../../scripts/dev/dev-env';
import { devDown, devStatus, devUp, stateFile } from '../../scripts/dev/services';
import { findRunningDevServices } from '../../lib/dev-services/running-dev-services';

const root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-dev-services-'));
const helperPids: number[] = [];
const optionSets: DevOptions[] = [];

async function isolatedOptions(name: string, env: NodeJS.ProcessEnv = process.env): Promise<DevOptions> {
  const lines: string[] = [];
  const o = resolveDevOptions({
    dataDir: path.join(root, name),
    temporalPort: await findFreePort(),
    temporalUiPort: await findFreePort(),
    minioPort: await findFreePort(),
    minioConsolePort: await findFreePort(),
    readyTimeoutMs: 60_000,
    env,
    log: (line) => lines.push(line),
  });
  optionSets.push(o);
  return o;
}

after(async () => {
  for (const o of optionSets) await devDown(o).catch(() => {});
  for (const pid of helperPids) await stopProcess(pid, 2_000).catch(() => {});
  await rm(root, { recursive: true, force: true });
});

const byService = <T extends { service: string }>(items: T[], service: string): T => {
  const found = items.find((item) => item.service === service);
  assert.ok(found, `no entry for ${service}`);
  return found;
};

const modelKey = defineSearchAttributeKey('TrainyardModel', SearchAttributeType.KEYWORD);

describe('trainyard dev services (isolated ports, temp data dir)', () => {
  let o: DevOptions;
  let firstPids: Record<string, number | undefined> = {};

  before(async () => {
    o = await isolatedOptions('main-set');
  });

  it('status before up says nothing is running (exit code 1)', async () => {
    const statuses = await devStatus(o);
    assert.deepEqual(
      statuses.map((s) => [s.service, s.running, s.ownership, s.healthy]),
      [
        ['temporal', false, 'none', false],
        ['minio', false, 'none', false],
      ],
    );
    assert.equal(statusExitCode(statuses), 1);
  });

  it('up starts both, healthy, with state files naming the exact command; a concurrent up reuses them', async () => {
    const [a, b] = await Promise.all([devUp(o), devUp(o)]);
    // Per service, whichever call takes the lock first starts it; the other waits, then reuses the same process.
    const results = a.map((r) => (r.action === 'started' ? r : byService(b, r.service)));
    for (const r of results) {
      const other = [...a, ...b].filter((x) => x.service === r.service && x !== r);
      assert.deepEqual(
        other.map((x) => [x.action, x.pid]),
        [['reused', r.pid]],
      );
    }
    for (const r of results) {
      assert.equal(r.action, 'started', `${r.service} should be started`);
      assert.equal(r.ownership, 'ours');
      assert.ok(r.pid && (await isPidAlive(r.pid)));
      const state = await readState(stateFile(o, r.service));
      assert.equal(state?.pid, r.pid);
      const cmdline = (await readFile(`/proc/${r.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      assert.deepEqual(cmdline, [state?.binary, ...(state?.args ?? [])]);
    }
    firstPids = Object.fromEntries(results.map((r) => [r.service, r.pid]));
    const temporal = byService(results, 'temporal');
    assert.ok(temporal.binary?.path);
    assert.deepEqual(temporal.urls, {
      grpc: `127.0.0.1:${o.temporal.port}`,
      ui: `http://127.0.0.1:${o.temporal.uiPort}`,
    });

    const statuses = await devStatus(o);
    assert.ok(
      statuses.every((s) => s.running && s.healthy && s.ownership === 'ours'),
      JSON.stringify(statuses),
    );
    assert.equal(statusExitCode(statuses), 0);
    assert.equal(byService(statuses, 'minio').pid, firstPids.minio);
    assert.equal((await fetch(`http://127.0.0.1:${o.temporal.uiPort}/`)).status, 200, 'Temporal UI answers');
  });

  it('a second up reuses the running services (same pids)', async () => {
    const results = await devUp(o);
    for (const r of results) {
      assert.equal(r.action, 'reused');
      assert.equal(r.ownership, 'ours');
      assert.equal(r.pid, firstPids[r.service]);
    }
  });

  it('state files carry what `dev env` prints, so the CLI finds these services on their own ports', async () => {
    const found = await findRunningDevServices(o.dataDir);
    assert.deepEqual(found.services, ['temporal', 'minio']);
    assert.deepEqual(found.env, devEnvironment(o));
  });

  it('creates the bucket, with the configured credentials', async () => {
    const client = createMinioClient(o);
    assert.equal(await client.bucketExists(o.minio.bucket), true);
  });

  it('keeps Temporal and MinIO state across down and up', async () => {
    const connection = await Connection.connect({ address: `127.0.0.1:${o.temporal.port}` });
    await connection.workflowService.registerNamespace({
      namespace: 'trainyard-persisted',
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    const client = new Client({ connection, namespace: 'default' });
    // No worker polls this queue: the run simply stays open, which is what must survive the restart.
    await client.workflow.start('trainingPipeline', {
      taskQueue: 'nobody-polls-this',
      workflowId: 'persisted-run',
      typedSearchAttributes: [{ key: modelKey, value: 'churn' }],
    });
    await connection.close();
    await createMinioClient(o).putObject(o.minio.bucket, 'persisted/object.txt', 'still here');

    const down = await devDown(o);
    assert.deepEqual(
      down.map((d) => [d.service, d.action]),
      [
        ['temporal', 'stopped'],
        ['minio', 'stopped'],
      ],
    );
    assert.equal(statusExitCode(await devStatus(o)), 1);

    const up = await devUp(o);
    assert.ok(up.every((r) => r.action === 'started'));
    const again = await Connection.connect({ address: `127.0.0.1:${o.temporal.port}` });
    try {
      const namespace = await again.workflowService.describeNamespace({ namespace: 'trainyard-persisted' });
      assert.equal(namespace.namespaceInfo?.name, 'trainyard-persisted');
      const run = await new Client({ connection: again }).workflow.getHandle('persisted-run').describe();
      assert.equal(run.status.name, 'RUNNING');
      assert.equal(run.typedSearchAttributes.get(modelKey), 'churn');
    } finally {
      await again.close();
    }
    const object = await createMinioClient(o).getObject(o.minio.bucket, 'persisted/object.txt');
    assert.equal(await streamToString(object), 'still here');
  });

  it('down stops only what up started; an unrelated process survives, even one posing as ours', async () => {
    const bystander = await spawnDetached({
      binary: 'sleep',
      args: ['600'],
      logFile: path.join(root, 'bystander.log'),
    });
    helperPids.push(bystander);
    const ours = Object.fromEntries((await devStatus(o)).map((s) => [s.service, s.pid]));

    const down = await devDown(o);
    assert.ok(down.every((d) => d.action === 'stopped'));
    for (const pid of Object.values(ours)) assert.equal(await isPidAlive(pid as number), false);
    assert.equal(await isPidAlive(bystander), true, 'bystander still alive');

    // A state file whose pid now runs something else (pid reuse) must not make `down` kill it.
    const forged = stateFile(o, 'temporal');
    await writeFile(
      forged,
      JSON.stringify({
        pid: bystander,
        binary: '/usr/bin/temporal',
        args: ['server', 'start-dev'],
        ports: {},
        startedAt: new Date().toISOString(),
      }),
    );
    const statuses = await devStatus(o);
    assert.equal(byService(statuses, 'temporal').running, false);
    assert.match(
      byService(statuses, 'temporal').summary,
      new RegExp(`stale state file \\(pid ${bystander} no longer runs what dev up started\\)`),
    );
    const second = await devDown(o);
    assert.equal(byService(second, 'temporal').action, 'removed-stale-state');
    assert.equal(await isPidAlive(bystander), true, 'bystander survives a forged state file');
    assert.equal(await readState(forged), undefined);
  });

  /** A MinIO that `dev up` did not start, on the set's MinIO ports. */
  async function startExternalMinio(name: string, accessKey: string, secretKey: string): Promise<number> {
    const minio = await resolveBinary(MINIO_SERVER, { cacheDir: o.cacheDir, env: o.env });
    const pid = await spawnDetached({
      binary: minio.path,
      args: [
        'server',
        path.join(root, name),
        '--address',
        `127.0.0.1:${o.minio.port}`,
        '--console-address',
        `127.0.0.1:${o.minio.consolePort}`,
      ],
      logFile: path.join(root, `${name}.log`),
      env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey },
    });
    helperPids.push(pid);
    assert.ok(await waitUntil(() => minioService.isHealthy(o), 30_000), `${name} became ready`);
    return pid;
  }

  it('reports a service it did not start as external, reuses it, and leaves it running on down', async () => {
    const external = await startExternalMinio('external-minio', o.minio.accessKey, o.minio.secretKey);

    const before = byService(await devStatus(o), 'minio');
    assert.deepEqual(
      [before.running, before.ownership, before.healthy, before.pid],
      [true, 'external', true, undefined],
    );

    const up = await devUp(o);
    assert.deepEqual([byService(up, 'minio').action, byService(up, 'minio').ownership], ['reused', 'external']);
    assert.equal(byService(up, 'temporal').action, 'started');
    assert.equal(await createMinioClient(o).bucketExists(o.minio.bucket), true, 'bucket created in the external MinIO');

    const down = await devDown(o);
    assert.equal(byService(down, 'minio').action, 'left-external');
    assert.equal(byService(down, 'temporal').action, 'stopped');
    assert.equal(await isPidAlive(external), true);
    assert.equal(await minioService.isHealthy(o), true);
    await stopProcess(external);
  });

  it('says plainly when an external MinIO uses other credentials', async () => {
    const external = await startExternalMinio('foreign-minio', 'someone-else', 'someone-elses-secret');
    try {
      await assert.rejects(
        devUp(o),
        /MinIO at http:\/\/127\.0\.0\.1:\d+ rejected S3_ACCESS_KEY\/S3_SECRET_KEY \((InvalidAccessKeyId|AccessDenied)\); it was probably started with other credentials/,
      );
      assert.equal(byService(await devDown(o), 'minio').action, 'left-external');
      assert.equal(await isPidAlive(external), true);
    } finally {
      await devDown(o);
      await stopProcess(external);
    }
  });

  it('refuses to start on a port taken by something that is not the service', async () => {
    const sockets = new Set<net.Socket>();
    const squatter = net.createServer((socket) => sockets.add(socket)).listen(o.temporal.port, '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    try {
      const status = byService(await devStatus(o), 'temporal');
      assert.deepEqual([status.running, status.ownership, status.healthy], [true, 'external', false]);
      assert.match(
        status.summary,
        new RegExp(`port ${o.temporal.port} is taken by something that is not a healthy temporal`),
      );
      await assert.rejects(
        devUp(o),
        new RegExp(`temporal: grpc port 127\\.0\\.0\\.1:${o.temporal.port} is in use by another process`),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => squatter.close(resolve));
      await devDown(o);
    }
    assert.equal(await isPortInUse('127.0.0.1', o.temporal.port), false);
  });

  it('env prints export lines a shell can eval', async () => {
    const exports = formatExports(devEnvironment(o));
    const { stdout } = await runCapture('/bin/sh', [
      '-c',
      `${exports}\necho "$S3_ENDPOINT|$TEMPORAL_ADDRESS|$S3_BUCKET|$TRAINYARD_STORE"`,
    ]);
    assert.equal(stdout.trim(), `http://127.0.0.1:${o.minio.port}|127.0.0.1:${o.temporal.port}|trainyard|s3`);
  });
});

describe('trainyard dev up when a service cannot start', () => {
  it('stops what it started and shows the last lines of each failing log', async () => {
    const fakes = path.join(root, 'fake-bin');
    const failing = async (name: string) => {
      const file = path.join(fakes, name);
      await writeFile(file, `#!/bin/sh\necho "${name}: simulated startup failure" >&2\nexit 3\n`, { mode: 0o755 });
      return file;
    };
    await mkdir(fakes, { recursive: true });
    const o = await isolatedOptions('failing-set', {
      ...process.env,
      TEMPORAL_CLI_PATH: await failing('temporal'),
      MINIO_PATH: await failing('minio'),
    });
    await assert.rejects(devUp(o), (error: Error) => {
      assert.match(
        error.message,
        /temporal \(.*fake-bin\/temporal\) exited during startup\. Last lines of .*temporal\.log:\n--- .*\ntemporal: simulated startup failure/,
      );
      assert.match(
        error.message,
        /minio \(.*fake-bin\/minio\) exited during startup\. Last lines of .*minio\.log:\n--- .*\nminio: simulated startup failure/,
      );
      return true;
    });
    assert.equal(await readState(stateFile(o, 'temporal')), undefined);
    assert.equal(await readState(stateFile(o, 'minio')), undefined);
  });
});

async function streamToString(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
