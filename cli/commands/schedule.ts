import { Command } from 'commander';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleExecutionResult,
} from '@temporalio/client';
import { formatFieldProblems, rootFailure } from '../../contracts/errors';
import { TrainyardModel, TrainyardOutcome } from '../../workflows/search-attributes';
import { scheduleUiUrl, UsageError, workflowUiUrl } from '../config-edge';
import { readJsonConfigFile } from '../pipeline-config-file';
import {
  BackfillOptions,
  CreateOptions,
  DescribeOptions,
  OVERLAP_POLICIES,
  parseOptions,
  parseScheduleId,
  PauseOptions,
  scheduleSpec,
  TriggerOptions,
  UnpauseOptions,
} from '../schedules/schedule-options';
import { prepareScheduledInput, scheduleAction, SCHEDULED_WORKFLOWS } from '../schedules/scheduled-workflows';
import {
  formatScheduleList,
  formatScheduleView,
  toScheduleListEntry,
  toScheduleView,
  type ScheduledRun,
} from '../schedules/schedule-view';
import { withTemporalClient } from '../temporal-client';

const OVERLAP_HELP = Object.keys(OVERLAP_POLICIES).join(' | ');
/** How long `trigger` waits to report the run it started. */
const TRIGGER_REPORT_TIMEOUT_MS = 10_000;

export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description(
    "Scheduled runs on Temporal Schedules (they also appear on the Temporal UI's Schedules page). Exit 2: bad option or unknown schedule",
  );

  schedule
    .command('create')
    .description(
      "Create a schedule that starts trainingPipeline (or driftMonitor, or batchPredict) with a config file's input",
    )
    .argument('<id>', "schedule id; each run's workflow id is <id>-<scheduled time>")
    .requiredOption(
      '-c, --config <file>',
      'the workflow input (JSON), stored as is: defaults apply when each run starts',
    )
    .option(
      '--model <name>',
      'fills in or overrides the config\'s "model" (batchPredict: <model>@<alias> or <model>:<version>)',
    )
    .option('--cron <expression>', 'when to run, e.g. "0 2 * * *" (UTC; prefix CRON_TZ=Europe/Berlin for a zone)')
    .option('--every <duration>', 'or: run at this interval, e.g. 1d, 6h, 30m (at least 1s)')
    .option('--overlap <policy>', `when the previous run is still going: ${OVERLAP_HELP}`, 'skip')
    .option(
      '--catchup-window <duration>',
      'after an outage, start runs missed by at most this much (default 1 year, at least 10s)',
    )
    .option('--jitter <duration>', 'delay each run by a random amount up to this')
    .option('--paused', 'create it paused')
    .option('--note <text>', "why (shown with the schedule's state)")
    .option('--workflow <name>', `what to start: ${SCHEDULED_WORKFLOWS.join(' | ')}`, 'trainingPipeline')
    .option('--task-queue <name>', 'task queue of the runs (default: TRAINYARD_TASK_QUEUE)')
    .action(async (rawId: string, rawOptions: Record<string, unknown>) => {
      const scheduleId = parseScheduleId(rawId);
      const options = parseOptions(CreateOptions, rawOptions);
      const input = prepareScheduledInput(options.workflow, await readJsonConfigFile(options.config), options.model);
      if (!input.ok) {
        throw new UsageError(
          `Config file ${options.config} is not a valid ${options.workflow} input:\n${formatFieldProblems(input.problems)}`,
        );
      }
      await withClient(async (client, config) => {
        const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
        try {
          await client.schedule.create({
            scheduleId,
            spec: scheduleSpec(options),
            action: scheduleAction(scheduleId, options.workflow, taskQueue, input.value),
            policies: {
              overlap: OVERLAP_POLICIES[options.overlap],
              ...(options.catchupWindow === undefined ? {} : { catchupWindow: options.catchupWindow }),
            },
            state: { paused: options.paused, ...(options.note === undefined ? {} : { note: options.note }) },
            memo: { model: input.value.model, dataset: input.value.datasetUri },
            typedSearchAttributes: [{ key: TrainyardModel, value: input.value.model }],
          });
        } catch (error) {
          if (error instanceof ScheduleAlreadyRunning) {
            throw new UsageError(
              `A schedule with id "${scheduleId}" already exists: delete it first or choose another id`,
            );
          }
          // The client reports a spec the server refused (a bad cron field, say) as a TypeError with the server's words.
          if (error instanceof TypeError)
            throw new UsageError(`${options.cron === undefined ? '--every' : '--cron'}: ${error.message}`);
          throw error;
        }
        const next = (await client.schedule.getHandle(scheduleId).describe()).info.nextActionTimes[0];
        process.stdout.write(
          `schedule ${scheduleId} created${options.paused ? ' (paused)' : ''}: ${options.workflow} for ${input.value.model} on task queue ${taskQueue}\n` +
            `${next ? `next run${options.paused ? ' once unpaused' : ''}: ${next.toISOString()}\n` : ''}` +
            `Temporal UI: ${scheduleUiUrl(config, scheduleId)}\n`,
        );
      });
    });

  schedule
    .command('list')
    .description('List schedules (eventually consistent: a new one may take a second to appear)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withClient(async (client) => {
        const entries = [];
        for await (const summary of client.schedule.list()) entries.push(toScheduleListEntry(summary));
        entries.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
        process.stdout.write(options.json ? `${JSON.stringify(entries, null, 2)}\n` : formatScheduleList(entries));
      });
    });

  schedule
    .command('describe')
    .description('Show a schedule: spec, policies, paused and note, next run times, recent runs with their outcomes')
    .argument('<id>', 'schedule id')
    .option('--next <n>', 'how many next run times to show (1-10)', '5')
    .option('--json', 'print JSON')
    .action(async (rawId: string, rawOptions: Record<string, unknown>) => {
      const scheduleId = parseScheduleId(rawId);
      const options = parseOptions(DescribeOptions, rawOptions);
      await withClient(async (client, config) => {
        const description = await client.schedule.getHandle(scheduleId).describe();
        const recentRuns = await Promise.all(
          description.info.recentActions.map((action) => readScheduledRun(client, action)),
        );
        const view = toScheduleView(description, recentRuns, options.next);
        process.stdout.write(
          options.json
            ? `${JSON.stringify(view, null, 2)}\n`
            : `${formatScheduleView(view)}Temporal UI: ${scheduleUiUrl(config, scheduleId)}\n`,
        );
      });
    });

  schedule
    .command('pause')
    .description("Stop the schedule's own runs until unpaused (trigger and backfill still start runs)")
    .argument('<id>', 'schedule id')
    .requiredOption('--note <text>', 'why it is paused (shown by describe and in the UI)')
    .action(async (rawId: string, rawOptions: Record<string, unknown>) => {
      const scheduleId = parseScheduleId(rawId);
      const { note } = parseOptions(PauseOptions, rawOptions);
      await withClient(async (client) => {
        await client.schedule.getHandle(scheduleId).pause(note);
        process.stdout.write(`schedule ${scheduleId} paused: ${note}\n`);
      });
    });

  schedule
    .command('unpause')
    .description("Resume the schedule's runs (missed runs within the catch-up window start now)")
    .argument('<id>', 'schedule id')
    .option('--note <text>', 'why it is resumed')
    .action(async (rawId: string, rawOptions: Record<string, unknown>) => {
      const scheduleId = parseScheduleId(rawId);
      const { note } = parseOptions(UnpauseOptions, rawOptions);
      await withClient(async (client) => {
        await client.schedule.getHandle(scheduleId).unpause(note ?? 'unpaused with trainyard schedule unpause');
        process.stdout.write(`schedule ${scheduleId} unpaused${note ? `: ${note}` : ''}\n`);
      });
    });

  schedule
    .command('trigger')
    .description('Start one run now, even while paused; prints its workflow id')
    .argument('<id>', 'schedule id')
    .option('--overlap <policy>', `instead of the schedule's policy, for this run: ${OVERLAP_HELP}`)
    .action(async (rawId: string, rawOptions: Record<string, unknown>) => {
      const scheduleId = parseScheduleId(rawId);
      const options = parseOptions(TriggerOptions, rawOptions);
      await withClient(async (client, config) => {
        const handle = client.schedule.getHandle(scheduleId);
        const before = (await handle.describe()).info;
        await handle.trigger(options.overlap === undefined ? undefined : OVERLAP_POLICIES[options.overlap]);
        const deadline = Date.now() + TRIGGER_REPORT_TIMEOUT_MS;
        while (Date.now() < deadline) {
          const info = (await handle.describe()).info;
          if (info.numActionsTaken > before.numActionsTaken) {
            const workflowId = info.recentActions.at(-1)?.action.workflow.workflowId ?? '?';
            process.stdout.write(`started ${workflowId}\nTemporal UI: ${workflowUiUrl(config, workflowId)}\n`);
            return;
          }
          if (info.numActionsSkippedOverlap > before.numActionsSkippedOverlap) {
            process.stdout.write(
              'skipped: an earlier run is still going (overlap policy); pass --overlap allow-all to start anyway\n',
            );
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        process.stdout.write(`triggered; the run will show in "trainyard schedule describe ${scheduleId}"\n`);
      });
    });

  schedule
    .command('backfill')
    .description(
      'Start the runs the schedule would have started between --from and --to (both inclusive), now; each run\'s scheduled time is its "as of" time',
    )
    .argument('<id>', 'schedule id')
    .requiredOption('--from <time>', 'ISO date or date-time with zone, e.g. 2026-11-01 or 2026-11-01T02:00:00Z')
    .requiredOption('--to <time>', 'ISO date or date-time with zone, after --from')
    .option('--overlap <policy>', `${OVERLAP_HELP}; default buffer-all: one after another, none skipped`)
    .action(async (rawId: string, rawOptions: Record<string, unknown>) => {
      const scheduleId = parseScheduleId(rawId);
      const options = parseOptions(BackfillOptions, rawOptions);
      await withClient(async (client) => {
        await client.schedule
          .getHandle(scheduleId)
          .backfill({ start: options.from, end: options.to, overlap: OVERLAP_POLICIES[options.overlap] });
        process.stdout.write(
          `backfill of ${scheduleId} requested: every scheduled time from ${options.from.toISOString()} to ${options.to.toISOString()}, overlap ${options.overlap}\n` +
            `watch it with "trainyard schedule describe ${scheduleId}"\n`,
        );
      });
    });

  schedule
    .command('delete')
    .description('Delete a schedule (runs it already started keep going)')
    .argument('<id>', 'schedule id')
    .action(async (rawId: string) => {
      const scheduleId = parseScheduleId(rawId);
      await withClient(async (client) => {
        await client.schedule.getHandle(scheduleId).delete();
        process.stdout.write(`schedule ${scheduleId} deleted\n`);
      });
    });

  return schedule;
}

/** A Temporal client for one schedule command; an unknown schedule id is a usage error. */
function withClient(use: Parameters<typeof withTemporalClient<void>>[0]): Promise<void> {
  return withTemporalClient(use).catch((error: unknown) => {
    if (error instanceof ScheduleNotFoundError) {
      throw new UsageError(`No schedule with id "${error.scheduleId}" (see "trainyard schedule list")`);
    }
    throw error;
  });
}

/** A run the schedule started, with its status and, once finished, its outcome (version, or why it failed). */
async function readScheduledRun(client: Client, action: ScheduleExecutionResult): Promise<ScheduledRun> {
  const { workflowId, firstExecutionRunId } = action.action.workflow;
  const run: ScheduledRun = {
    workflowId,
    runId: firstExecutionRunId,
    scheduledAt: action.scheduledAt.toISOString(),
    takenAt: action.takenAt.toISOString(),
    status: 'UNKNOWN',
  };
  // The latest run of the id: a long-lived driftMonitor may have continued as new.
  const handle = client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return run;
    throw error;
  }
  run.status = description.status.name;
  const outcome = description.typedSearchAttributes.get(TrainyardOutcome);
  if (outcome !== undefined) run.outcome = outcome;
  if (run.status === 'COMPLETED') {
    const result = (await handle.result()) as { outcome?: unknown; version?: unknown } | null;
    if (typeof result?.outcome === 'string') run.outcome = result.outcome;
    if (typeof result?.version === 'number') run.version = result.version;
  } else if (run.status !== 'RUNNING') {
    run.failure = await handle.result().then(
      () => undefined,
      (error: unknown) => rootFailure(error),
    );
  }
  return run;
}
