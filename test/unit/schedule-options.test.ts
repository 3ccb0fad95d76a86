import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { UsageError } from '../../cli/config-edge';
import { formatDurationMs, parseDurationMs } from '../../cli/schedules/durations';
import {
  BackfillOptions,
  CreateOptions,
  parseOptions,
  parseScheduleId,
  scheduleSpec,
} from '../../cli/schedules/schedule-options';
import { prepareScheduledInput, scheduleAction } from '../../cli/schedules/scheduled-workflows';
import { TrainyardModel } from '../../workflows/search-attributes';

function usageMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
    return error.message;
  }
  return assert.fail('expected a UsageError');
}

describe('schedule durations', () => {
  it('formats in the largest unit that divides exactly, so the text can be typed back', () => {
    assert.equal(formatDurationMs(86_400_000), '1d');
    assert.equal(formatDurationMs(5_400_000), '90m');
    assert.equal(formatDurationMs(31_536_000_000), '365d');
    assert.equal(formatDurationMs(10_000), '10s');
    assert.equal(formatDurationMs(1_500), '1500ms');
    assert.equal(formatDurationMs(0), '0s');
  });

  it('parse(format(ms)) is ms for every duration', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 * 365 * 86_400_000 }), (ms) => parseDurationMs(formatDurationMs(ms)) === ms),
    );
  });

  it("parses the pipeline input's duration syntax and nothing else", () => {
    assert.equal(parseDurationMs('2s'), 2_000);
    assert.equal(parseDurationMs(' 1d '), 86_400_000);
    for (const bad of ['', '1', 'd', '1w', '-1h', '1h30m', 'soon']) assert.equal(parseDurationMs(bad), undefined, bad);
  });
});

describe('schedule create options', () => {
  const base = { config: 'schedule.json' };

  it('applies defaults and turns durations into milliseconds', () => {
    const options = parseOptions(CreateOptions, { ...base, every: '6h', catchupWindow: '1h', jitter: '5m' });
    assert.equal(options.every, 21_600_000);
    assert.equal(options.catchupWindow, 3_600_000);
    assert.equal(options.jitter, 300_000);
    assert.equal(options.overlap, 'skip');
    assert.equal(options.paused, false);
    assert.equal(options.workflow, 'trainingPipeline');
    assert.deepEqual(scheduleSpec(options), { intervals: [{ every: 21_600_000 }], jitter: 300_000 });
    assert.deepEqual(scheduleSpec(parseOptions(CreateOptions, { ...base, cron: ' 0 2 * * * ' })), {
      cronExpressions: ['0 2 * * *'],
    });
  });

  it('names every bad option as typed on the command line', () => {
    const message = usageMessage(() =>
      parseOptions(CreateOptions, {
        ...base,
        model: 'Penguins!',
        every: '500ms',
        catchupWindow: '5s',
        jitter: 'soon',
        overlap: 'sometimes',
        workflow: 'other',
      }),
    );
    assert.match(message, /--model: model name must be lowercase/);
    assert.match(message, /--every: must be at least 1s/);
    assert.match(message, /--catchup-window: must be at least 10s/);
    assert.match(message, /--jitter: expected a duration like 30s/);
    assert.match(
      message,
      /--overlap: expected one of skip, buffer-one, buffer-all, cancel-other, terminate-other, allow-all/,
    );
    assert.match(message, /--workflow: expected one of trainingPipeline, driftMonitor/);
  });

  it('wants exactly one of --cron and --every, and whole seconds', () => {
    assert.match(
      usageMessage(() => parseOptions(CreateOptions, base)),
      /--cron: give exactly one of --cron/,
    );
    assert.match(
      usageMessage(() => parseOptions(CreateOptions, { ...base, cron: '@daily', every: '1d' })),
      /exactly one/,
    );
    assert.match(
      usageMessage(() => parseOptions(CreateOptions, { ...base, every: '1500ms' })),
      /--every: must be whole seconds/,
    );
  });

  it('accepts plain schedule ids only', () => {
    assert.equal(parseScheduleId('nightly-penguins_v2.1'), 'nightly-penguins_v2.1');
    for (const bad of ['', '-x', 'a b', "x' OR 1=1", 'a/b', 'x'.repeat(201)]) {
      assert.match(
        usageMessage(() => parseScheduleId(bad)),
        /schedule id/,
        bad,
      );
    }
  });
});

describe('schedule backfill options', () => {
  it('reads ISO dates (midnight UTC) and zoned date-times, defaulting to buffer-all', () => {
    const options = parseOptions(BackfillOptions, { from: '2026-11-01', to: '2026-11-01T03:00:00+01:00' });
    assert.equal(options.from.toISOString(), '2026-11-01T00:00:00.000Z');
    assert.equal(options.to.toISOString(), '2026-11-01T02:00:00.000Z');
    assert.equal(options.overlap, 'buffer-all');
  });

  it('refuses a time without a zone, a non-date and a window that ends before it starts', () => {
    assert.match(
      usageMessage(() => parseOptions(BackfillOptions, { from: '2026-11-01T00:00:00', to: '2026-11-02' })),
      /--from: expected an ISO date/,
    );
    assert.match(
      usageMessage(() => parseOptions(BackfillOptions, { from: '2026-11-01', to: 'yesterday' })),
      /--to: expected an ISO date/,
    );
    assert.match(
      usageMessage(() => parseOptions(BackfillOptions, { from: '2026-11-02', to: '2026-11-01' })),
      /--to: must be after --from/,
    );
    assert.match(
      usageMessage(() => parseOptions(BackfillOptions, { from: '2026-11-01', to: '2026-11-01' })),
      /--to: must be after --from/,
    );
  });
});

describe('scheduled workflow input', () => {
  const file = {
    dataset: { uri: 's3://trainyard/events/', partitions: 'latest' },
    task: { type: 'binary', label: 'churned' },
    train: { warmStart: true },
  };

  it('fills in --model and keeps the draft as given (defaults apply when each run starts)', () => {
    const prepared = prepareScheduledInput('trainingPipeline', file, 'churn');
    assert.ok(prepared.ok);
    assert.deepEqual(prepared.value, {
      draft: { ...file, model: 'churn' },
      model: 'churn',
      datasetUri: 's3://trainyard/events/',
    });
    const overridden = prepareScheduledInput('trainingPipeline', { ...file, model: 'old' }, 'new');
    assert.ok(overridden.ok);
    assert.equal(overridden.value.model, 'new');
  });

  it('names each bad field, and says where a missing model comes from', () => {
    const prepared = prepareScheduledInput('trainingPipeline', {
      dataset: { uri: 'ftp://x' },
      task: { type: 'ranking', label: 'y' },
    });
    assert.ok(!prepared.ok);
    const paths = prepared.problems.map((p) => p.path);
    assert.deepEqual(paths.sort(), ['dataset.uri', 'model', 'task.type']);
    assert.match(prepared.problems.find((p) => p.path === 'model')?.message ?? '', /pass --model/);
    assert.deepEqual(prepareScheduledInput('trainingPipeline', [1, 2]), {
      ok: false,
      problems: [{ path: '(root)', message: 'expected a JSON object' }],
    });
  });

  it('validates a driftMonitor input with its own contract', () => {
    const monitor = {
      dataset: { uri: 's3://trainyard/events/' },
      pipeline: { task: { type: 'binary', label: 'churned' } },
    };
    const prepared = prepareScheduledInput('driftMonitor', monitor, 'churn');
    assert.ok(prepared.ok, JSON.stringify(prepared));
    assert.equal(prepared.value.model, 'churn');
    const asPipeline = prepareScheduledInput('trainingPipeline', monitor, 'churn');
    assert.ok(!asPipeline.ok);
    assert.ok(asPipeline.problems.some((p) => p.path === 'task'));
  });

  it('starts the workflow with the schedule id as workflow id prefix, the model search attribute and a memo', () => {
    const prepared = prepareScheduledInput('trainingPipeline', file, 'churn');
    assert.ok(prepared.ok);
    const action = scheduleAction('nightly-churn', 'trainingPipeline', 'trainyard', prepared.value);
    assert.equal(action.workflowType, 'trainingPipeline');
    assert.equal(action.workflowId, 'nightly-churn');
    assert.equal(action.taskQueue, 'trainyard');
    assert.deepEqual(action.args, [{ ...file, model: 'churn' }]);
    assert.deepEqual(action.typedSearchAttributes, [{ key: TrainyardModel, value: 'churn' }]);
    assert.deepEqual(action.memo, { model: 'churn', dataset: 's3://trainyard/events/', schedule: 'nightly-churn' });
  });
});
