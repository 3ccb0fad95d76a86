import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { devServicesDataDir, findRunningDevServices } from '../lib/dev-services/running-dev-services';
import { devEnvironment } from '../scripts/dev/dev-env';
import { resolveDevOptions } from '../scripts/dev/dev-options';
import { formatTable, writeResult, type Suite } from './harness';

const suitesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'suites');

async function availableSuites(): Promise<string[]> {
  return (await readdir(suitesDir))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

/**
 * Benchmarks run against the dev services (`trainyard dev up`) unless the environment says otherwise: the
 * running ones where they are (whatever ports they were started on), else `dev env`'s default addresses.
 */
async function defaultToDevServices(): Promise<void> {
  const running = await findRunningDevServices(devServicesDataDir());
  const env = { LOG_LEVEL: 'error', ...devEnvironment(resolveDevOptions()), ...running.env };
  for (const [name, value] of Object.entries(env)) process.env[name] ??= value;
}

async function main(): Promise<void> {
  await defaultToDevServices();
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const known = await availableSuites();
  if (names.length === 0 || names.some((n) => !known.includes(n))) {
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length > 0) console.error(`Unknown suite(s): ${unknown.join(', ')}`);
    console.error(`Usage: npm run bench -- <suite>\nSuites: ${known.join(', ')}`);
    process.exit(2);
  }
  for (const name of names) {
    const suite = (await import(path.join(suitesDir, `${name}.ts`))).default as Suite;
    console.log(`\n== ${name}: ${suite.description}\n`);
    const result = await suite.run();
    if (result.rows.length > 0 || !result.tables?.length) console.log(formatTable(result.rows));
    for (const table of result.tables ?? []) console.log(`\n${table.title}:\n${formatTable(table.rows)}`);
    for (const note of result.notes ?? []) console.log(`- ${note}`);
    console.log(`\nwrote ${path.relative(process.cwd(), await writeResult(name, result))}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
