import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { TypedSearchAttributes } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { PipelineResult } from '../../workflows';
import { TrainyardModel } from '../../workflows/search-attributes';
import { formatPipelineSummary } from '../pipeline-summary';
import { ExitCode, loadConfigOrExit, workflowUiUrl } from '../config-edge';
import { readPipelineConfigFile } from '../pipeline-config-file';
import { connectClient } from '../temporal-client';
import { rootFailure } from '../../contracts/errors';

export function runCommand(): Command {
  return new Command('run')
    .description('Start a trainingPipeline run from a JSON config file')
    .requiredOption('-c, --config <file>', 'pipeline input (JSON); see "trainyard schema"')
    .option('-f, --follow', 'wait for the run to finish and print its result')
    .option('--json', 'with --follow: print the whole result as JSON')
    .option('--id <workflowId>', 'workflow id to use (default: <model>-<random>)')
    .action(async (options: { config: string; follow?: boolean; json?: boolean; id?: string }) => {
      const input = await readPipelineConfigFile(options.config);
      const config = loadConfigOrExit();
      const client = await connectClient(config);
      const workflowId = options.id ?? `${input.model}-${randomUUID().slice(0, 8)}`;
      const handle = await client.workflow.start('trainingPipeline', {
        taskQueue: config.temporal.taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: new TypedSearchAttributes([{ key: TrainyardModel, value: input.model }]),
        staticSummary: `train ${input.model} on ${input.dataset.uri}`,
      });
      process.stdout.write(`workflow id: ${workflowId}\nTemporal UI: ${workflowUiUrl(config, workflowId)}\n`);
      if (!options.follow) return;
      try {
        const result = (await handle.result()) as PipelineResult;
        process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatPipelineSummary(result));
      } catch (error) {
        if (!(error instanceof WorkflowFailedError)) throw error;
        process.stderr.write(`run ${workflowId} failed: ${formatFailure(rootFailure(error))}\n`);
        process.exitCode = ExitCode.failed;
      } finally {
        await client.connection.close();
      }
    });
}

function formatFailure(failure: { type: string; message: string }): string {
  return `${failure.type}: ${failure.message}`;
}
