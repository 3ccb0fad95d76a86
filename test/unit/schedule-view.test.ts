import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CalendarSpecDescription, ScheduleDescription } from '@temporalio/client';
import { calendarAsCron, formatScheduleView, summarizeSpec, toScheduleView } from '../../cli/schedules/schedule-view';

/** A calendar as the dev server returns it for a cron line (recorded from `describe`), with overrides. */
function calendar(overrides: Partial<CalendarSpecDescription>): CalendarSpecDescription {
  return {
    second: [{ start: 0, end: 0, step: 1 }],
    minute: [{ start: 0, end: 0, step: 1 }],
    hour: [{ start: 0, end: 0, step: 1 }],
    dayOfMonth: [{ start: 1, end: 31, step: 1 }],
    month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }],
    year: [],
    dayOfWeek: [{ start: 'SUNDAY', end: 'SATURDAY', step: 1 }],
    comment: '',
    ...overrides,
  };
}

describe('schedule spec summaries', () => {
  it("turns the server's structured calendars back into the cron lines they came from", () => {
    assert.equal(calendarAsCron(calendar({ hour: [{ start: 2, end: 2, step: 1 }] })), '0 2 * * *');
    assert.equal(calendarAsCron(calendar({})), '0 0 * * *'); // @daily
    assert.equal(
      calendarAsCron(
        calendar({
          minute: [{ start: 0, end: 59, step: 15 }],
          hour: [{ start: 9, end: 17, step: 1 }],
          dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }],
        }),
      ),
      '*/15 9-17 * * 1-5',
    );
    assert.equal(
      calendarAsCron(
        calendar({
          minute: [{ start: 30, end: 30, step: 1 }],
          dayOfMonth: [{ start: 1, end: 1, step: 1 }],
          month: [
            { start: 'JANUARY', end: 'JANUARY', step: 1 },
            { start: 'JUNE', end: 'JUNE', step: 1 },
          ],
          year: [{ start: 2027, end: 2027, step: 1 }],
        }),
      ),
      '30 0 1 1,6 * 2027',
    );
    assert.equal(
      calendarAsCron(calendar({ second: [{ start: 30, end: 30, step: 1 }], hour: [{ start: 12, end: 12, step: 1 }] })),
      '30 0 12 * * *',
    );
  });

  it("names intervals in the CLI's duration syntax, and says when there are none", () => {
    assert.equal(summarizeSpec({ intervals: [{ every: 86_400_000, offset: 0 }] }), 'every 1d');
    assert.equal(summarizeSpec({ intervals: [{ every: 3_600_000, offset: 900_000 }] }), 'every 1h (offset 15m)');
    assert.equal(summarizeSpec({ intervals: [], calendars: [] }), 'no automatic runs (trigger or backfill only)');
  });
});

describe('schedule describe view', () => {
  const description = {
    scheduleId: 'nightly-penguins',
    spec: { intervals: [{ every: 7_200_000, offset: 0 }], calendars: [], timezone: '', jitter: 300_000 },
    action: {
      type: 'startWorkflow',
      workflowType: 'trainingPipeline',
      taskQueue: 'trainyard',
      workflowId: 'nightly-penguins',
      args: [{ model: 'penguins' }],
    },
    policies: { overlap: 'BUFFER_ONE', catchupWindow: 3_600_000, pauseOnFailure: false },
    memo: { model: 'penguins', dataset: 's3://trainyard/penguins/' },
    state: { paused: true, note: 'holiday freeze' },
    info: {
      recentActions: [],
      nextActionTimes: [1, 2, 3].map((h) => new Date(Date.UTC(2026, 10, 20, h))),
      numActionsTaken: 4,
      numActionsMissedCatchupWindow: 1,
      numActionsSkippedOverlap: 2,
      createdAt: new Date(Date.UTC(2026, 10, 19)),
      lastUpdatedAt: undefined,
      runningActions: [
        {
          type: 'startWorkflow',
          workflow: { workflowId: 'nightly-penguins-2026-11-20T00:00:00Z', firstExecutionRunId: 'r1' },
        },
      ],
    },
  } as unknown as ScheduleDescription;
  const run = {
    workflowId: 'nightly-penguins-2026-11-19T22:00:00Z',
    runId: 'r0',
    scheduledAt: '2026-11-19T22:00:00.000Z',
    takenAt: '2026-11-19T22:00:01.000Z',
    status: 'COMPLETED',
    outcome: 'promoted',
    version: 3,
  };

  it('keeps what an operator needs: spec, policies, paused with its note, next times, runs', () => {
    const view = toScheduleView(description, [run], 2);
    assert.deepEqual(view.spec, { summary: 'every 2h', timezone: 'UTC', jitter: '5m' });
    assert.deepEqual(view.policies, { overlap: 'buffer-one', catchupWindow: '1h', pauseOnFailure: false });
    assert.deepEqual(view.state, { paused: true, note: 'holiday freeze' });
    assert.deepEqual(view.actions, { taken: 4, skippedOverlap: 2, missedCatchupWindow: 1 });
    assert.deepEqual(view.nextActionTimes, ['2026-11-20T01:00:00.000Z', '2026-11-20T02:00:00.000Z']);
    assert.deepEqual(view.runningWorkflowIds, ['nightly-penguins-2026-11-20T00:00:00Z']);
    assert.deepEqual(view.input, { model: 'penguins' });
    assert.equal(view.model, 'penguins');

    const text = formatScheduleView(view);
    assert.match(text, /state\s+paused: holiday freeze/);
    assert.match(text, /spec\s+every 2h, UTC, jitter 5m/);
    assert.match(text, /overlap buffer-one, catch-up window 1h/);
    assert.match(text, /nightly-penguins-2026-11-19T22:00:00Z\s+COMPLETED\s+promoted v3/);
  });
});
