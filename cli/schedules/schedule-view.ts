import {
  DAYS_OF_WEEK,
  MONTHS,
  type CalendarSpecDescription,
  type Range,
  type ScheduleDescription,
  type ScheduleSpecDescription,
  type ScheduleSummary,
} from '@temporalio/client';
import { formatTable } from '../format-table';
import { formatDurationMs } from './durations';
import { OVERLAP_POLICIES, type OverlapOption } from './schedule-options';
import type { FailureSummary } from '../../contracts/errors';

/** One run a schedule started, with its outcome once it has one. */
export interface ScheduledRun {
  workflowId: string;
  runId: string;
  scheduledAt: string;
  takenAt: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, … (UNKNOWN once it is past retention). */
  status: string;
  /** Trainyard's outcome (search attribute TrainyardOutcome): promoted, registered, rejected, failed, … */
  outcome?: string;
  version?: number;
  failure?: FailureSummary;
}

/** What `trainyard schedule describe` shows, and prints with --json. */
export interface ScheduleView {
  scheduleId: string;
  workflow: string;
  taskQueue: string;
  model?: string;
  dataset?: string;
  spec: { summary: string; timezone: string; jitter?: string };
  policies: { overlap: OverlapOption; catchupWindow: string; pauseOnFailure: boolean };
  state: { paused: boolean; note?: string; remainingActions?: number };
  actions: { taken: number; skippedOverlap: number; missedCatchupWindow: number };
  nextActionTimes: string[];
  runningWorkflowIds: string[];
  recentRuns: ScheduledRun[];
  /** The input each run starts with: the config file's JSON as given (defaults apply at run time). */
  input: unknown;
  createdAt: string;
}

const OVERLAP_OPTIONS = Object.fromEntries(
  Object.entries(OVERLAP_POLICIES).map(([option, policy]) => [policy, option]),
) as Record<string, OverlapOption>;

export function toScheduleView(
  description: ScheduleDescription,
  recentRuns: ScheduledRun[],
  nextCount: number,
): ScheduleView {
  const memo = (description.memo ?? {}) as Record<string, unknown>;
  return {
    scheduleId: description.scheduleId,
    workflow: description.action.workflowType,
    taskQueue: description.action.taskQueue,
    model: typeof memo.model === 'string' ? memo.model : undefined,
    dataset: typeof memo.dataset === 'string' ? memo.dataset : undefined,
    spec: {
      summary: summarizeSpec(description.spec),
      timezone: description.spec.timezone || 'UTC',
      ...(description.spec.jitter ? { jitter: formatDurationMs(description.spec.jitter) } : {}),
    },
    policies: {
      overlap: OVERLAP_OPTIONS[description.policies.overlap ?? 'SKIP'] ?? 'skip',
      catchupWindow: formatDurationMs(description.policies.catchupWindow),
      pauseOnFailure: description.policies.pauseOnFailure,
    },
    state: {
      paused: description.state.paused,
      ...(description.state.note ? { note: description.state.note } : {}),
      ...(description.state.remainingActions === undefined
        ? {}
        : { remainingActions: description.state.remainingActions }),
    },
    actions: {
      taken: description.info.numActionsTaken,
      skippedOverlap: description.info.numActionsSkippedOverlap,
      missedCatchupWindow: description.info.numActionsMissedCatchupWindow,
    },
    nextActionTimes: description.info.nextActionTimes.slice(0, nextCount).map((time) => time.toISOString()),
    runningWorkflowIds: description.info.runningActions.map((action) => action.workflow.workflowId),
    recentRuns,
    input: description.action.args?.[0],
    createdAt: description.info.createdAt.toISOString(),
  };
}

/** "every 1d", "every 1h (offset 15m)", "cron 0 2 * * *" — the spec the way a person would have typed it. */
export function summarizeSpec(spec: Pick<ScheduleSpecDescription, 'intervals' | 'calendars'>): string {
  const parts = [
    ...(spec.intervals ?? []).map(
      (i) => `every ${formatDurationMs(i.every)}${i.offset ? ` (offset ${formatDurationMs(i.offset)})` : ''}`,
    ),
    ...(spec.calendars ?? []).map((c) => `cron ${calendarAsCron(c)}`),
  ];
  return parts.length ? parts.join(' + ') : 'no automatic runs (trigger or backfill only)';
}

/** A structured calendar back as a cron line: 5 fields, plus seconds first / year last when they are not the default. */
export function calendarAsCron(calendar: CalendarSpecDescription): string {
  const field = <T>(ranges: Range<T>[], min: number, max: number, toNumber: (value: T) => number) => {
    if (ranges.length === 0) return '*';
    return ranges
      .map((range) => {
        const start = toNumber(range.start);
        const end = toNumber(range.end);
        const step = range.step > 1 ? `/${range.step}` : '';
        if (start === min && end === max) return `*${step}`;
        return start === end ? `${start}${step}` : `${start}-${end}${step}`;
      })
      .join(',');
  };
  const asIs = (value: number) => value;
  const second = field(calendar.second, 0, 59, asIs);
  const fields = [
    field(calendar.minute, 0, 59, asIs),
    field(calendar.hour, 0, 23, asIs),
    field(calendar.dayOfMonth, 1, 31, asIs),
    field(calendar.month, 1, 12, (month) => MONTHS.indexOf(month) + 1),
    field(calendar.dayOfWeek, 0, 6, (day) => DAYS_OF_WEEK.indexOf(day)),
  ];
  const year = field(calendar.year, Number.NaN, Number.NaN, asIs);
  return [...(second === '0' ? [] : [second]), ...fields, ...(year === '*' ? [] : [year])].join(' ');
}

export function formatScheduleView(view: ScheduleView): string {
  const state = view.state.paused
    ? `paused${view.state.note ? `: ${view.state.note}` : ''}`
    : `active${view.state.note ? ` (note: ${view.state.note})` : ''}`;
  const lines = [
    `schedule ${view.scheduleId}: starts ${view.workflow} on task queue ${view.taskQueue}`,
    `  model     ${view.model ?? '?'}   dataset ${view.dataset ?? '?'}`,
    `  spec      ${view.spec.summary}, ${view.spec.timezone}${view.spec.jitter ? `, jitter ${view.spec.jitter}` : ''}`,
    `  policies  overlap ${view.policies.overlap}, catch-up window ${view.policies.catchupWindow}${view.policies.pauseOnFailure ? ', pause on failure' : ''}`,
    `  state     ${state}${view.state.remainingActions === undefined ? '' : `, ${view.state.remainingActions} actions left`}`,
    `  actions   ${view.actions.taken} taken, ${view.actions.skippedOverlap} skipped (overlap), ${view.actions.missedCatchupWindow} missed (catch-up window)`,
    `next runs${view.state.paused ? ' (once unpaused)' : ''}:`,
    ...(view.nextActionTimes.length ? view.nextActionTimes.map((time) => `  ${time}`) : ['  none']),
    'recent runs:',
  ];
  const runs = view.recentRuns.length
    ? formatTable(
        ['SCHEDULED FOR', 'WORKFLOW ID', 'STATUS', 'OUTCOME'],
        view.recentRuns.map((run) => [run.scheduledAt, run.workflowId, run.status, describeOutcome(run)]),
      ).replace(/^/gm, '  ')
    : '  none\n';
  return `${lines.join('\n')}\n${runs}`;
}

function describeOutcome(run: ScheduledRun): string {
  const version = run.version === undefined ? '' : ` v${run.version}`;
  const failure = run.failure ? ` ${run.failure.type}: ${run.failure.message.split('\n')[0]}` : '';
  return `${run.outcome ?? ''}${version}${failure}`.trim();
}

/** One row per schedule for `trainyard schedule list`. */
export interface ScheduleListEntry {
  scheduleId: string;
  workflow: string;
  model?: string;
  spec: string;
  paused: boolean;
  note?: string;
  nextActionTime?: string;
}

export function toScheduleListEntry(summary: ScheduleSummary): ScheduleListEntry {
  const memo = (summary.memo ?? {}) as Record<string, unknown>;
  return {
    scheduleId: summary.scheduleId,
    workflow: summary.action?.workflowType ?? '?',
    ...(typeof memo.model === 'string' ? { model: memo.model } : {}),
    spec: summary.spec ? summarizeSpec(summary.spec) : '?',
    paused: summary.state.paused,
    ...(summary.state.note ? { note: summary.state.note } : {}),
    ...(summary.info.nextActionTimes[0] ? { nextActionTime: summary.info.nextActionTimes[0].toISOString() } : {}),
  };
}

export function formatScheduleList(entries: ScheduleListEntry[]): string {
  if (!entries.length) return 'No schedules. Create one with "trainyard schedule create".\n';
  return formatTable(
    ['SCHEDULE ID', 'WORKFLOW', 'MODEL', 'SPEC', 'STATE', 'NEXT RUN'],
    entries.map((e) => [
      e.scheduleId,
      e.workflow,
      e.model ?? '',
      e.spec,
      e.paused ? 'paused' : 'active',
      e.paused ? '' : (e.nextActionTime ?? ''),
    ]),
  );
}
