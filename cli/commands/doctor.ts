import { Command } from 'commander';
import { Connection } from '@temporalio/client';
import { ConfigError, type Config, type EnvName, type SettingSource } from '../../lib/config';
import { loadConfigFindingDevServices, type LoadedConfig } from '../../lib/dev-services/config-with-dev-services';
import { createArtifactStore } from '../../lib/store/create-store';
import { loadTfjs } from '../../lib/tfjs-backend';
import { ExitCode } from '../config-edge';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about it, when not ok. */
  fix?: string;
  /** More lines under the check. */
  notes?: string[];
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('Check configuration, services and the TensorFlow.js backend; print each problem with its fix')
    .action(async () => {
      const checks: Check[] = [checkNode()];
      const config = await checkConfig(checks);
      if (config) checks.push(await checkTemporal(config), await checkStore(config));
      checks.push(await checkTfjs());
      for (const c of checks) {
        process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
        for (const note of c.notes ?? []) process.stdout.write(`     ${note}\n`);
        if (!c.ok && c.fix) process.stdout.write(`     fix: ${c.fix}\n`);
      }
      process.exitCode = checks.every((c) => c.ok) ? ExitCode.ok : ExitCode.failed;
    });
}

function checkNode(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 3);
  return { name: 'node', ok, detail: `v${process.versions.node}`, fix: 'install Node.js 20.3 or newer' };
}

async function checkConfig(checks: Check[]): Promise<Config | undefined> {
  try {
    const loaded = await loadConfigFindingDevServices();
    const { config } = loaded;
    const store =
      config.store.kind === 's3'
        ? `s3 ${config.store.s3.endPoint}:${config.store.s3.port}/${config.store.s3.bucket}`
        : `fs ${config.store.root}`;
    checks.push({
      name: 'config',
      ok: true,
      detail: `temporal ${config.temporal.address}, queue ${config.temporal.taskQueue}, store ${store}`,
      notes: describeSources(loaded),
    });
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.push({ name: 'config', ok: false, detail: error.message, fix: 'correct the variables listed above' });
    return undefined;
  }
}

const SOURCE_LABELS: Record<SettingSource, string> = {
  env: 'from the environment',
  'dev services': 'from the running dev services',
  default: 'defaults',
};

/** Which variables came from where: environment, running dev services (which ones, found where), defaults. */
function describeSources({ sources, devServices }: LoadedConfig): string[] {
  const lines = (Object.keys(SOURCE_LABELS) as SettingSource[]).flatMap((source) => {
    const names = (Object.keys(sources) as EnvName[]).filter((name) => sources[name] === source);
    return names.length === 0 ? [] : [`${SOURCE_LABELS[source]}: ${names.join(', ')}`];
  });
  if (devServices) {
    const found = devServices.services.length > 0 ? devServices.services.join(' and ') : 'none';
    lines.push(`dev services running from ${devServices.dataDir}: ${found}`);
  }
  return lines;
}

async function checkTemporal(config: Config): Promise<Check> {
  const name = 'temporal';
  try {
    const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '3 seconds' });
    try {
      const health = await connection.healthService.check({});
      return { name, ok: health.status === 1, detail: `${config.temporal.address} health status ${health.status}` };
    } finally {
      await connection.close();
    }
  } catch (error) {
    return {
      name,
      ok: false,
      detail: `${config.temporal.address} unreachable: ${(error as Error).message}`,
      fix: 'run "trainyard dev up" (or set TEMPORAL_ADDRESS to your server)',
    };
  }
}

async function checkStore(config: Config): Promise<Check> {
  const name = 'artifact store';
  const store = createArtifactStore(config.store);
  try {
    const probe = 'doctor/probe';
    await store.exists(probe);
    return { name, ok: true, detail: `${store.kind} reachable (${store.uriFor(probe).replace(/doctor\/probe$/, '')})` };
  } catch (error) {
    return {
      name,
      ok: false,
      detail: `${store.kind} unreachable: ${(error as Error).message}`,
      fix:
        config.store.kind === 's3'
          ? 'run "trainyard dev up", or check S3_ENDPOINT / S3_ACCESS_KEY / S3_SECRET_KEY'
          : 'check TRAINYARD_FS_ROOT is writable',
    };
  }
}

async function checkTfjs(): Promise<Check> {
  const { backend, fallbackReasons } = await loadTfjs();
  return {
    name: 'tfjs backend',
    ok: true,
    detail: backend + (fallbackReasons.length > 0 ? ` (${fallbackReasons.join('; ')})` : ''),
  };
}
