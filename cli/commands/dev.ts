import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { resolveDevOptions, type DevOptions, type DevOverrides } from '../../scripts/dev/dev-options';
import { devEnvironment, formatExports } from '../../scripts/dev/dev-env';
import type { DownResult, ServiceStatus, UpResult } from '../../scripts/dev/services';
import { CommandFailedError } from '../config-edge';

/** Loaded on demand: `dev env` runs in every `eval` and should not pay for the Temporal and MinIO clients. */
const services = () => import('../../scripts/dev/services');

const PortSchema = z.coerce.number().int().min(1).max(65535);

function parsePort(value: string): number {
  const parsed = PortSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError('expected a port number between 1 and 65535');
  return parsed.data;
}

interface DevFlags {
  host?: string;
  dataDir?: string;
  temporalPort?: number;
  temporalUiPort?: number;
  minioPort?: number;
  minioConsolePort?: number;
}

/** `trainyard dev up | down | status | env`: pinned local Temporal and MinIO as plain processes. */
export function devCommand(): Command {
  const dev = new Command('dev')
    .description('run a local Temporal dev server and MinIO for development and tests')
    .option('--host <ip>', 'loopback address to bind', '127.0.0.1')
    .option('--data-dir <dir>', 'state, logs and data (default: $TRAINYARD_DATA_DIR or <repo>/.data)')
    .option('--temporal-port <port>', 'Temporal gRPC port (default 7233)', parsePort)
    .option('--temporal-ui-port <port>', 'Temporal UI port (default: gRPC port + 1000)', parsePort)
    .option('--minio-port <port>', 'MinIO API port (default 9000)', parsePort)
    .option('--minio-console-port <port>', 'MinIO console port (default: API port + 1)', parsePort);

  dev
    .command('up')
    .description('start both services (or reuse healthy ones) and wait until they are ready')
    .action(async (_options, command: Command) => {
      const o = optionsFrom(command);
      printUp(await explained((await services()).devUp(o)), o);
    });

  dev
    .command('down')
    .description('stop the services that `dev up` started; never touches anything else')
    .action(async (_options, command: Command) => {
      printDown(await explained((await services()).devDown(optionsFrom(command))));
    });

  dev
    .command('status')
    .description('report each service: running (ours / external), healthy, pid, ports; exit 1 unless all healthy')
    .action(async (_options, command: Command) => {
      const statuses = await (await services()).devStatus(optionsFrom(command));
      printStatus(statuses);
      process.exitCode = statusExitCode(statuses);
    });

  dev
    .command('env')
    .description('print export lines for the services: eval "$(npx trainyard dev env)"')
    .action((_options, command: Command) => {
      console.log(formatExports(devEnvironment(optionsFrom(command))));
    });

  return dev;
}

export function statusExitCode(statuses: ServiceStatus[]): 0 | 1 {
  return statuses.every((s) => s.healthy) ? 0 : 1;
}

function optionsFrom(command: Command): DevOptions {
  const flags = command.optsWithGlobals<DevFlags>();
  const overrides: DevOverrides = {
    host: flags.host,
    dataDir: flags.dataDir,
    temporalPort: flags.temporalPort,
    temporalUiPort: flags.temporalUiPort,
    minioPort: flags.minioPort,
    minioConsolePort: flags.minioConsolePort,
  };
  return resolveDevOptions(overrides);
}

function printUp(results: UpResult[], o: DevOptions): void {
  for (const r of results) {
    const who = r.ownership === 'ours' ? `ours, pid ${r.pid}` : 'external, not started by dev up';
    const from = r.binary ? `, ${r.binary.path} (${r.binary.source})` : '';
    console.log(`${r.service}: ${r.action} (${who}${from}), ready in ${(r.readyMs / 1000).toFixed(1)} s`);
  }
  const temporal = results.find((r) => r.service === 'temporal')?.urls;
  const minio = results.find((r) => r.service === 'minio')?.urls;
  console.log('');
  console.log(`Temporal gRPC  ${temporal?.grpc}`);
  console.log(`Temporal UI    ${temporal?.ui}`);
  console.log(`MinIO API      ${minio?.api}   (bucket ${o.minio.bucket})`);
  console.log(`MinIO console  ${minio?.console}`);
  console.log(`Data           ${o.dataDir}`);
  console.log('\nThe CLI and worker find them on their own; for other tools: eval "$(npx trainyard dev env)"');
}

function printDown(results: DownResult[]): void {
  const words: Record<DownResult['action'], string> = {
    stopped: 'stopped',
    'not-running': 'was not running',
    'left-external': 'left running (external, not started by dev up)',
    'removed-stale-state': 'was not running; removed a stale state file',
  };
  for (const r of results) {
    const pid = r.pid === undefined ? '' : ` (pid ${r.pid}${r.forced ? ', needed SIGKILL' : ''})`;
    console.log(`${r.service}: ${words[r.action]}${pid}`);
  }
}

function printStatus(statuses: ServiceStatus[]): void {
  for (const s of statuses) {
    const ports = Object.entries(s.ports)
      .map(([name, port]) => `${name} ${port}`)
      .join(', ');
    const urls = Object.values(s.urls).join('  ');
    console.log(`${s.service.padEnd(9)} ${s.summary}`);
    console.log(`${''.padEnd(9)} ports: ${ports}   ${urls}`);
  }
}

/** `up` and `down` explain their failures in words: exit 1 with the message, no stack trace. */
function explained<T>(work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    throw new CommandFailedError(error instanceof Error ? error.message : String(error));
  });
}
