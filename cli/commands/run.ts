import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { TypedSearchAttributes } from '@temporalio/common';
import { CancelledFailure, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { PipelineInput } from '../../contracts/pipeline-input';
import { CACHEABLE_STAGES, type CacheableStage } from '../../contracts/stage-config';
import { statusQuery, type PipelineStatus } from '../../workflows/messages';
import { formatProgress, formatStatus, readStatus, StatusExit, type StageProgress } from './status';
import type { PipelineResult } from '../../workflows';
import { TrainyardModel } from '../../workflows/search-attributes';
import { formatPipelineSummary } from '../pipeline-summary';
import { CommandFailedError, workflowUiUrl } from '../config-edge';
import { readPipelineConfigFile } from '../pipeline-config-file';
import { resultUnlessOperatorNeeded } from '../follow-run';
import { withTemporalClient } from '../temporal-client';
import { rootFailure, type FailureSummary } from '../../contracts/errors';

export function runCommand(): Command {
  return new Command('run')
    .description('Start a trainingPipeline run from a JSON config file')
    .requiredOption('-c, --config <file>', 'pipeline input (JSON); see "trainyard schema"')
    .option('-f, --follow', 'wait for the run to finish and print its result')
    .option('--json', 'with --follow: print the whole result as JSON')
    .option('--id <workflowId>', 'workflow id to use (default: <model>-<random>)')
    .option('--no-cache', 'run every stage even when the re-run cache holds its result')
    .option(
      '--rerun <stage>',
      `run this stage even if cached (repeatable): ${CACHEABLE_STAGES.join(', ')}`,
      collectStage,
      [],
    )
    .action(async (options: RunOptions) => {
      const input = withCacheOptions(await readPipelineConfigFile(options.config), options);
      await withTemporalClient(async (client, config) => {
        const workflowId = options.id ?? `${input.model}-${randomUUID().slice(0, 8)}`;
        const handle = await client.workflow.start('trainingPipeline', {
          taskQueue: config.temporal.taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: new TypedSearchAttributes([{ key: TrainyardModel, value: input.model }]),
          staticSummary: `train ${input.model} on ${input.dataset.uri}`,
        });
        process.stdout.write(`workflow id: ${workflowId}\nTemporal UI: ${workflowUiUrl(config, workflowId)}\n`);
        if (options.follow) await follow(client, handle, options);
      });
    });
}

/** Waits for the run's end and prints its summary (or JSON); exit 1 when it failed or was cancelled, 4 when it waits for an operator. */
async function follow(client: Client, handle: WorkflowHandle, options: RunOptions): Promise<void> {
  const { workflowId } = handle;
  try {
    const ended = await resultUnlessOperatorNeeded<PipelineResult>(
      handle,
      async () => {
        const status = await readStatus(client, workflowId);
        return { awaitingOperator: status.outcome === 'awaiting-operator', line: progressLine(status) };
      },
      (line) => process.stderr.write(`${line}\n`),
    );
    if (ended === 'awaiting-operator') {
      const status = formatStatus(await handle.query(statusQuery));
      process.stderr.write(`run ${workflowId} is waiting for an operator:\n${status}`);
      process.exitCode = StatusExit.awaitingOperator;
      return;
    }
    process.stdout.write(options.json ? `${JSON.stringify(ended, null, 2)}\n` : formatPipelineSummary(ended));
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    throw new CommandFailedError(
      error.cause instanceof CancelledFailure
        ? `run ${workflowId} was cancelled`
        : `run ${workflowId} failed: ${formatFailure(rootFailure(error))}`,
    );
  }
}

interface RunOptions {
  config: string;
  follow?: boolean;
  json?: boolean;
  id?: string;
  cache: boolean;
  rerun: CacheableStage[];
}

function collectStage(value: string, stages: CacheableStage[]): CacheableStage[] {
  if (!(CACHEABLE_STAGES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`"${value}" is not a cached stage; one of: ${CACHEABLE_STAGES.join(', ')}.`);
  }
  return [...stages, value as CacheableStage];
}

/** --no-cache and --rerun override the config file's cache section. */
function withCacheOptions(input: PipelineInput, options: RunOptions): PipelineInput {
  return {
    ...input,
    cache: {
      enabled: input.cache.enabled && options.cache,
      rerun: [...new Set([...input.cache.rerun, ...options.rerun])],
    },
  };
}

/** "train … [████░░] epoch 3/10  loss 0.41  ~1m 5s left": the running stage and its live progress. */
function progressLine(status: PipelineStatus): string {
  const running = status.stages.find((stage) => stage.state === 'running');
  if (!running) return status.outcome === 'awaiting-approval' ? 'awaiting approval' : '';
  const live = (running as { progress?: StageProgress }).progress;
  const detail = live ? formatProgress(live) : '';
  return `${running.name}…${detail ? `  ${detail}` : ''}`;
}

function formatFailure(failure: FailureSummary): string {
  return `${failure.type}: ${failure.message}`;
}
