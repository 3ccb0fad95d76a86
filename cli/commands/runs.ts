import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { ModelName } from '../../contracts/pipeline-input';
import { formatTable } from '../format-table';
import { UsageError } from '../config-edge';
import { withTemporalClient } from '../temporal-client';

/** The pipeline's outcomes, then batchPredict's own ('succeeded'). */
const OUTCOMES = [
  'running',
  'awaiting-approval',
  'awaiting-operator',
  'promoted',
  'registered',
  'rejected',
  'succeeded',
  'failed',
  'cancelled',
] as const;

/** The runs listed: training pipelines and batch predictions, which set the same search attributes. */
const RUN_TYPES = ['trainingPipeline', 'batchPredict'] as const;

/** A visibility query over trainyard's search attributes; values are validated, then quoted. */
export function runsQuery(filters: { model?: string; outcome?: string }): string {
  const clauses = [`WorkflowType IN (${RUN_TYPES.map((type) => `'${type}'`).join(', ')})`];
  if (filters.model !== undefined) {
    if (!ModelName.safeParse(filters.model).success)
      throw new UsageError(`--model: "${filters.model}" is not a model name`);
    clauses.push(`TrainyardModel = '${filters.model}'`);
  }
  if (filters.outcome !== undefined) {
    if (!(OUTCOMES as readonly string[]).includes(filters.outcome)) {
      throw new UsageError(`--outcome: expected one of ${OUTCOMES.join(', ')}`);
    }
    clauses.push(`TrainyardOutcome = '${filters.outcome}'`);
  }
  return clauses.join(' AND ');
}

export function runsCommand(): Command {
  return new Command('runs')
    .description(
      'List trainingPipeline and batchPredict runs, newest first (Temporal visibility over the Trainyard search attributes)',
    )
    .option('--model <name>', 'only runs of this model')
    .option('--outcome <outcome>', `only runs with this outcome: ${OUTCOMES.join(' | ')}`)
    .option('--limit <n>', 'at most this many runs', '50')
    .option('--json', 'print JSON')
    .action(async (options: { model?: string; outcome?: string; limit: string; json?: boolean }) => {
      const query = runsQuery(options);
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit: expected a positive whole number');
      const runs = await withTemporalClient((client) => listRuns(client, query, limit));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        formatTable(
          ['WORKFLOW ID', 'TYPE', 'MODEL', 'OUTCOME', 'STAGE', 'STATUS', 'STARTED'],
          runs.map((r) => [r.workflowId, r.type, r.model, r.outcome, r.stage, r.status, r.startTime]),
        ),
      );
    });
}

interface RunRow {
  workflowId: string;
  type: string;
  model: string;
  outcome: string;
  stage: string;
  status: string;
  startTime: string;
}

async function listRuns(client: Client, query: string, limit: number): Promise<RunRow[]> {
  const runs: RunRow[] = [];
  for await (const run of client.workflow.list({ query })) {
    const attributes = run.searchAttributes as Record<string, unknown[] | undefined>;
    runs.push({
      workflowId: run.workflowId,
      type: run.type,
      model: String(attributes.TrainyardModel?.[0] ?? ''),
      outcome: String(attributes.TrainyardOutcome?.[0] ?? ''),
      stage: String(attributes.TrainyardStage?.[0] ?? ''),
      status: run.status.name,
      startTime: run.startTime.toISOString(),
    });
    if (runs.length >= limit) break;
  }
  return runs;
}
