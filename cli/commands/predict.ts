import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { TypedSearchAttributes } from '@temporalio/common';
import { CancelledFailure, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  BatchPredictInput,
  type BatchPredictInputDraft,
  type BatchPredictResult,
} from '../../contracts/batch-predict-input';
import { rootFailure } from '../../contracts/errors';
import { TrainyardModel } from '../../workflows/search-attributes';
import { CommandFailedError, UsageError, workflowUiUrl } from '../config-edge';
import { formatBatchProgress, formatBatchStatus, readBatchStatus } from '../batch-status';
import { resultUnlessOperatorNeeded } from '../follow-run';
import { withTemporalClient } from '../temporal-client';
import { StatusExit } from './status';

interface PredictOptions {
  model: string;
  shadow?: string;
  dataset: string;
  output?: string;
  key: string[];
  chunkRows?: string;
  format?: string;
  operatorTimeout?: string;
  follow?: boolean;
  json?: boolean;
  id?: string;
}

/** Which flag each input field comes from, for usage errors. */
const FLAG_OF: Record<string, string> = {
  model: '--model',
  shadow: '--shadow',
  dataset: '--dataset',
  output: '--output',
  keyColumns: '--key',
  chunkRows: '--chunk-rows',
  operator: '--operator-timeout',
};

/** `trainyard predict --model penguins@champion --dataset s3://…`: starts a batchPredict run. */
export function predictCommand(): Command {
  return new Command('predict')
    .description('Score a dataset with a registered version (a batchPredict run); predictions go to Parquet')
    .requiredOption('--model <reference>', '<model>@<alias> (resolved once, at the start) or <model>:<version>')
    .option(
      '--shadow <reference>',
      'shadow scoring: a second version (<model>@<alias> or <model>:<version>) scores the same rows, compared with --model',
    )
    .requiredOption('--dataset <uri>', 'the dataset in the artifact store (a prefix ending in "/" for partitions)')
    .option('--output <uri>', 'where the predictions go (default: batch-predictions/<dataset fingerprint>)')
    .option('--key <column>', 'an input column copied into each prediction (repeatable)', collect, [])
    .option('--chunk-rows <n>', 'rows scored and written per Parquet part (default 100000)')
    .option('--format <format>', 'the dataset format: auto, csv, tsv, parquet, json, jsonl (default auto)')
    .option(
      '--operator-timeout <duration>',
      'how long bad data waits for trainyard retry / abort before the run fails, e.g. 24h; 0s fails at once (default 7d)',
    )
    .option('-f, --follow', 'wait for the run to finish and print its result')
    .option('--json', 'with --follow: print the whole result as JSON')
    .option('--id <workflowId>', 'workflow id to use (default: predict-<model>-<random>)')
    .action(async (options: PredictOptions) => {
      const input = parseInput(options);
      const model = input.model.split(/[@:]/, 1)[0] as string;
      await withTemporalClient(async (client, config) => {
        const workflowId = options.id ?? `predict-${model}-${randomUUID().slice(0, 8)}`;
        const handle = await client.workflow.start('batchPredict', {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: new TypedSearchAttributes([{ key: TrainyardModel, value: model }]),
          staticSummary: `predict ${input.model} on ${input.dataset.uri}`,
        });
        process.stdout.write(`workflow id: ${workflowId}\nTemporal UI: ${workflowUiUrl(config, workflowId)}\n`);
        if (options.follow) await follow(client, handle, options);
      });
    });
}

/**
 * Waits for the run's end and prints its result (or JSON), with run --follow's exit codes: 1 when it failed or
 * was cancelled, 4 (its status printed) when bad data waits for `trainyard retry` / `abort`.
 */
async function follow(client: Client, handle: WorkflowHandle, options: PredictOptions): Promise<void> {
  const { workflowId } = handle;
  const look = async () => {
    const status = await readBatchStatus(client, workflowId, await handle.describe());
    return { awaitingOperator: status.outcome === 'awaiting-operator', status };
  };
  try {
    const ended = await resultUnlessOperatorNeeded<BatchPredictResult>(
      handle,
      async () => {
        const { awaitingOperator, status } = await look();
        const progress = status.progress ? formatBatchProgress(status.progress) : '';
        return { awaitingOperator, line: `${status.stage}…${progress ? `  ${progress}` : ''}` };
      },
      (line) => process.stderr.write(`${line}\n`),
    );
    if (ended === 'awaiting-operator') {
      process.stderr.write(
        `run ${workflowId} is waiting for an operator:\n${formatBatchStatus((await look()).status)}`,
      );
      process.exitCode = StatusExit.awaitingOperator;
      return;
    }
    process.stdout.write(options.json ? `${JSON.stringify(ended, null, 2)}\n` : formatResult(ended));
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const failure = rootFailure(error);
    throw new CommandFailedError(
      error.cause instanceof CancelledFailure
        ? `run ${workflowId} was cancelled`
        : `run ${workflowId} failed: ${failure.type}: ${failure.message}`,
    );
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The flags as the workflow's input, checked by the same schema the workflow uses; each bad flag named. */
function parseInput(options: PredictOptions): BatchPredictInput {
  const draft: Record<string, unknown> = {
    model: options.model,
    ...(options.shadow !== undefined ? { shadow: options.shadow } : {}),
    dataset: { uri: options.dataset, ...(options.format !== undefined ? { format: options.format } : {}) },
    ...(options.output !== undefined ? { output: { uri: options.output } } : {}),
    keyColumns: options.key,
    ...(options.chunkRows !== undefined ? { chunkRows: Number(options.chunkRows) } : {}),
    ...(options.operatorTimeout !== undefined ? { operator: { timeout: options.operatorTimeout } } : {}),
  } satisfies Partial<Record<keyof BatchPredictInputDraft, unknown>>;
  const parsed = BatchPredictInput.safeParse(draft);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const [field, sub] = issue.path.map(String);
    const flag = field === 'dataset' && sub === 'format' ? '--format' : (FLAG_OF[field ?? ''] ?? field);
    return `  - ${flag}${field === 'keyColumns' && sub !== undefined ? ` (#${Number(sub) + 1})` : ''}: ${issue.message}`;
  });
  throw new UsageError(`Invalid options:\n${lines.join('\n')}`);
}

function formatResult(result: BatchPredictResult): string {
  const lines = [
    `model:       ${result.model}:${result.version}${result.alias ? ` (${result.model}@${result.alias})` : ''}`,
    `dataset:     ${result.dataset.uri}${result.dataset.partitions ? ` (${result.dataset.partitions.join(', ')})` : ''}`,
    `rows:        ${result.rows} in ${result.chunks} chunk${result.chunks === 1 ? '' : 's'} (${result.chunksWritten} written by this run)`,
    `predictions: ${result.predictionsUri}`,
    `summary:     ${result.summaryUri}`,
    `report:      ${result.reportUrl}`,
    ...shadowLines(result),
    ...(result.warnings.length > 0 ? ['warnings:', ...result.warnings.map((w) => `  - ${w}`)] : []),
  ];
  return `${lines.join('\n')}\n`;
}

function shadowLines({ shadow, comparison }: BatchPredictResult): string[] {
  if (!shadow || !comparison) return [];
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  const { agreement, ks, psi } = comparison;
  const scoreOf = (score: string) => (score ? ` on ${score}` : '');
  return [
    `shadow:      ${shadow.model}:${shadow.version}${shadow.alias ? ` (${shadow.model}@${shadow.alias})` : ''}, ${shadow.chunksWritten} chunks written`,
    `  predictions: ${shadow.predictionsUri}`,
    `comparison:  ${comparison.rowsCompared} rows compared${
      agreement
        ? `; agreement ${percent(agreement.rate)} (95% CI ${percent(agreement.lower)}–${percent(agreement.upper)})`
        : ''
    }; KS ${fixed(ks.statistic)}${scoreOf(ks.score)}; PSI ${fixed(psi.value)}${scoreOf(psi.score)}`,
    `  ${comparison.uri}`,
  ];
}

/** A statistic to 4 decimals; a missing one (no rows) as "n/a" (JSON carries NaN as null). */
function fixed(x: number | null): string {
  return x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(4);
}
