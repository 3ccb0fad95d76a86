import { Command, InvalidArgumentError, Option } from 'commander';
import type { AliasEvent, VersionRecord } from '../../contracts/registry';
import {
  aliasHistory,
  CHAMPION,
  getLatestVersion,
  getVersion,
  listModels,
  listVersionNumbers,
  ModelVersionNotFoundError,
  NothingToRollBackError,
  promoteAlias,
  readAliases,
  RegistryCorruptError,
  RegistryInputError,
  rollbackAlias,
  type AliasMove,
} from '../../lib/registry';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { CommandFailedError, loadCliConfig, UsageError } from '../config-edge';
import { formatTable } from '../format-table';

interface JsonOption {
  json?: boolean;
}
interface MoveOptions extends JsonOption {
  alias: string;
  by: string;
  reason: string;
}

/** `trainyard models …`: the model registry — versions, their lineage, and aliases such as champion. */
export function modelsCommand(): Command {
  const models = new Command('models').description(
    'The model registry: versions with lineage, and aliases such as champion',
  );

  models
    .command('list')
    .description('Every registered model with its version count and aliases')
    .option('--json', 'print JSON instead of a table')
    .action((options: JsonOption) =>
      withRegistry(async (store) => {
        const summaries = await listModels(store);
        if (options.json) return printJson(summaries);
        if (summaries.length === 0)
          return print('No registered models yet. A pipeline run registers one when it finishes.\n');
        print(
          formatTable(
            ['MODEL', 'VERSIONS', 'LATEST', 'ALIASES', 'UPDATED'],
            summaries.map((s) => [
              s.model,
              String(s.versions),
              `v${s.latestVersion}`,
              s.problem ? '(aliases unreadable: run "trainyard models history" for details)' : formatAliases(s.aliases),
              s.updatedAt?.toISOString() ?? '',
            ]),
          ),
        );
      }),
    );

  models
    .command('show')
    .description('One version (the latest by default): its lineage, metrics and aliases')
    .argument('<model>', 'model name')
    .option('--version <n>', 'version number (default: the latest)', parseVersion)
    .option('--json', 'print the version record as JSON')
    .action((model: string, options: JsonOption & { version?: number }) =>
      withRegistry(async (store) => {
        const record =
          options.version === undefined
            ? await getLatestVersion(store, model)
            : await getVersion(store, model, options.version);
        const { aliases } = await readAliases(store, model);
        const pointing = Object.entries(aliases)
          .filter(([, state]) => state.version === record.version)
          .map(([alias]) => alias)
          .sort();
        if (options.json) return printJson({ ...record, aliases: pointing });
        print(describeVersion(record, pointing));
      }),
    );

  models
    .command('promote')
    .description('Point an alias (champion by default) at a version')
    .argument('<model>', 'model name')
    .argument('<version>', 'version number to promote', parseVersion)
    .addOption(aliasOption())
    .requiredOption('--by <who>', 'who is promoting (recorded in the alias history)')
    .requiredOption('--reason <why>', 'why (recorded in the alias history)')
    .option('--json', 'print the move as JSON')
    .action((model: string, version: number, options: MoveOptions) =>
      withRegistry(async (store) => {
        const move = await promoteAlias(store, {
          model,
          version,
          alias: options.alias,
          by: options.by,
          reason: options.reason,
          at: new Date().toISOString(),
        });
        printMove(move, options);
      }),
    );

  models
    .command('rollback')
    .description('Move an alias back to the version it pointed at before its latest promotion')
    .argument('<model>', 'model name')
    .addOption(aliasOption())
    .requiredOption('--by <who>', 'who is rolling back (recorded in the alias history)')
    .requiredOption('--reason <why>', 'why (recorded in the alias history)')
    .option('--json', 'print the move as JSON')
    .action((model: string, options: MoveOptions) =>
      withRegistry(async (store) => {
        const move = await rollbackAlias(store, {
          model,
          alias: options.alias,
          by: options.by,
          reason: options.reason,
          at: new Date().toISOString(),
        });
        printMove(move, options);
      }),
    );

  models
    .command('history')
    .description('Every alias move of a model: who, when, why, from which version to which')
    .argument('<model>', 'model name')
    .option('--alias <name>', 'only this alias (default: all)')
    .option('--json', 'print JSON instead of a table')
    .action((model: string, options: JsonOption & { alias?: string }) =>
      withRegistry(async (store) => {
        if ((await listVersionNumbers(store, model)).length === 0)
          throw new ModelVersionNotFoundError(model, undefined, []);
        const history = await aliasHistory(store, model, options.alias);
        if (options.json) return printJson(history);
        if (history.length === 0)
          return print(`No alias moves for ${model}${options.alias ? ` alias "${options.alias}"` : ''} yet.\n`);
        print(formatTable(['SEQ', 'AT', 'ALIAS', 'ACTION', 'FROM', 'TO', 'BY', 'REASON'], history.map(historyRow)));
      }),
    );

  return models;
}

function aliasOption(): Option {
  return new Option('--alias <name>', 'alias to move').default(CHAMPION);
}

/** A version argument: a whole number from 1; anything else is a usage error before any I/O. */
function parseVersion(value: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(value.trim()))
    throw new InvalidArgumentError(`expected a version number (1, 2, 3, …), got "${value}".`);
  return Number(value);
}

/**
 * Opens the store and runs one command. Registry errors a person can fix (a wrong name, version or
 * alias) exit 2 with the message; a corrupt document exits 1 with the message, never a stack trace.
 */
async function withRegistry(action: (store: ArtifactStore) => Promise<void>): Promise<void> {
  const config = await loadCliConfig();
  const store = createArtifactStore(config.store);
  await store.ensureReady();
  try {
    await action(store);
  } catch (error) {
    if (
      error instanceof ModelVersionNotFoundError ||
      error instanceof NothingToRollBackError ||
      error instanceof RegistryInputError
    ) {
      throw new UsageError(error.message);
    }
    if (error instanceof RegistryCorruptError) throw new CommandFailedError(error.message);
    throw error;
  }
}

function printMove(move: AliasMove, options: JsonOption): void {
  if (options.json) return printJson(move);
  const { model, alias, version, previousVersion } = move;
  if (!move.moved) return print(`${model} ${alias} already points at v${version}; nothing changed.\n`);
  print(`${model} ${alias}: ${previousVersion === undefined ? '(unset)' : `v${previousVersion}`} → v${version}\n`);
}

function describeVersion(record: VersionRecord, aliases: string[]): string {
  const { lineage } = record;
  const lines: Array<[string, string]> = [
    ['model', record.model],
    ['version', `v${record.version}${aliases.length > 0 ? `  (${aliases.join(', ')})` : ''}`],
    ['created', record.createdAt],
    ['model artifact', record.modelRef.uri],
    [
      'dataset',
      `${lineage.dataset.uri}  sha256 ${lineage.dataset.sha256.slice(0, 12)}…  ${lineage.dataset.bytes} bytes`,
    ],
    [
      'task',
      `${lineage.training.task.type}, label ${typeof lineage.training.task.label === 'string' ? lineage.training.task.label : JSON.stringify(lineage.training.task.label)}`,
    ],
    [
      'training',
      `${String(lineage.training.params.model ?? '?')} on ${lineage.backend}, ${lineage.training.epochsRun} epochs (best ${lineage.training.bestEpoch}), seed ${lineage.training.seed}, ${lineage.training.trainMs} ms`,
    ],
    [
      'warm start',
      lineage.warmStart.used ? `from v${lineage.warmStart.parentVersion ?? '?'}` : `no (${lineage.warmStart.reason})`,
    ],
    ['evaluation', `${lineage.evaluation.decision}: ${lineage.evaluation.reasons.join('; ') || '(no reasons given)'}`],
    ['evaluation artifact', lineage.evaluation.ref.uri],
    ['report', lineage.evaluation.report.uri],
    ['schema', lineage.schema.uri],
    ['statistics', lineage.statistics.uri],
    ['split manifest', lineage.splitManifest.uri],
    ['preprocessor', lineage.preprocessor.uri],
    ['code', `${lineage.code.version}${lineage.code.gitSha ? ` (${lineage.code.gitSha.slice(0, 12)})` : ''}`],
    ['run', `${lineage.run.workflowId} / ${lineage.run.runId}`],
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  const metrics = Object.entries(lineage.evaluation.metrics).sort(([a], [b]) => (a < b ? -1 : 1));
  return (
    lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') +
    '\n\n' +
    (metrics.length > 0
      ? formatTable(
          ['METRIC', 'VALUE'],
          metrics.map(([name, value]) => [name, formatNumber(value)]),
        )
      : 'no metrics recorded\n')
  );
}

function historyRow(event: AliasEvent): string[] {
  return [
    String(event.seq),
    event.at,
    event.alias,
    event.action,
    event.from === undefined ? '-' : `v${event.from}`,
    `v${event.to}`,
    event.by,
    event.reason,
  ];
}

function formatAliases(aliases: Record<string, number>): string {
  const entries = Object.entries(aliases).sort(([a], [b]) =>
    a === CHAMPION ? -1 : b === CHAMPION ? 1 : a < b ? -1 : 1,
  );
  return entries.length === 0 ? '-' : entries.map(([alias, version]) => `${alias}=v${version}`).join(', ');
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
}

function print(text: string): void {
  process.stdout.write(text);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
