import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchPredictResult } from '../../contracts/batch-predict-input';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import type { ScheduleListEntry, ScheduleView } from '../../cli/schedules/schedule-view';
import { resolveChampion } from '../../lib/registry';
import type { PipelineResult } from '../../workflows';
import { TemporalScheduledStartTime, TrainyardModel } from '../../workflows/search-attributes';
import { runCli, type CliResult } from '../support/cli';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';

/**
 * `trainyard schedule …` through the real bin, against the real dev server's Schedules and a real worker
 * on a private task queue. Every schedule made here is deleted in `after`, and every run still going on
 * the private queue is terminated, even when a test fails.
 */
describe('trainyard schedule on Temporal Schedules (real Temporal, MinIO and worker)', () => {
  let h: TestHarness;
  let configDir: string;
  let penguinsConfig: string;
  let missingDataConfig: string;
  const model = `sched-${randomUUID().slice(0, 6)}`;
  const created = new Set<string>();

  before(async () => {
    h = await startTestHarness();
    const key = `${h.prefix}/datasets/penguins.json`;
    await h.store.put(key, await readFile(publicDatasetPath('penguins.json')));
    configDir = await mkdtemp(path.join(tmpdir(), 'trainyard-schedule-'));
    // The model comes from --model; the file holds the rest, as a schedule config would.
    const penguins: Omit<PipelineInputDraft, 'model'> = {
      dataset: { uri: h.store.uriFor(key) },
      task: { type: 'multiclass', label: 'Species' },
      train: { model: 'mlp', epochs: 10, batchSize: 32, hiddenLayers: [8] },
    };
    penguinsConfig = path.join(configDir, 'penguins.json');
    await writeFile(penguinsConfig, JSON.stringify(penguins));
    // Runs that fail in their first activity: cheap to start many of (pause and backfill count runs, not models).
    missingDataConfig = path.join(configDir, 'missing-data.json');
    await writeFile(
      missingDataConfig,
      JSON.stringify({
        ...penguins,
        dataset: { uri: h.store.uriFor(`${h.prefix}/datasets/missing.json`) },
        operator: { timeout: '0s' },
      }),
    );
  });

  after(async () => {
    for (const scheduleId of created) {
      await h?.client.schedule
        .getHandle(scheduleId)
        .delete()
        .catch(() => undefined);
    }
    if (h) {
      for await (const run of h.client.workflow.list({
        query: `TaskQueue = '${h.taskQueue}' AND ExecutionStatus = 'Running'`,
      })) {
        await h.client.workflow
          .getHandle(run.workflowId, run.runId)
          .terminate('schedule test cleanup')
          .catch(() => undefined);
      }
    }
    await h?.close();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  const schedule = (...args: string[]) => runCli(['schedule', ...args]);

  function ok(result: CliResult): string {
    assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    return result.stdout;
  }

  async function create(name: string, config: string, ...spec: string[]): Promise<string> {
    const scheduleId = `test-${name}-${randomUUID().slice(0, 8)}`;
    created.add(scheduleId);
    ok(
      await schedule('create', scheduleId, '--model', model, '--config', config, '--task-queue', h.taskQueue, ...spec),
    );
    return scheduleId;
  }

  async function describeSchedule(scheduleId: string): Promise<ScheduleView> {
    return JSON.parse(ok(await schedule('describe', scheduleId, '--json'))) as ScheduleView;
  }

  async function waitFor<T>(
    what: string,
    read: () => Promise<T>,
    done: (value: T) => boolean,
    timeoutMs = 60_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let value = await read();
    while (!done(value)) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      value = await read();
    }
    return value;
  }

  it('create → trigger: the run starts from the schedule, completes and registers a version', async () => {
    const scheduleId = await create(
      'trigger',
      penguinsConfig,
      '--cron',
      '0 0 1 1 *',
      '--note',
      'yearly, triggered by hand',
    );

    const triggered = ok(await schedule('trigger', scheduleId));
    const workflowId = /started (\S+)/.exec(triggered)?.[1];
    assert.ok(workflowId !== undefined && workflowId.startsWith(`${scheduleId}-`), triggered);

    const run = h.client.workflow.getHandle(workflowId);
    const result = (await run.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    assert.equal(result.version, 1);
    assert.equal((await resolveChampion(h.store, model))?.version, 1);
    const attributes = (await run.describe()).typedSearchAttributes;
    assert.equal(attributes.get(TrainyardModel), model);
    assert.ok(attributes.get(TemporalScheduledStartTime) instanceof Date, 'Temporal marks the run as scheduled');

    const view = await describeSchedule(scheduleId);
    assert.equal(view.spec.summary, 'cron 0 0 1 1 *');
    assert.deepEqual(view.state, { paused: false, note: 'yearly, triggered by hand' });
    assert.equal(view.nextActionTimes.length, 5);
    assert.match(view.nextActionTimes[0] ?? '', /-01-01T00:00:00/);
    assert.deepEqual(
      view.recentRuns.map((r) => [r.workflowId, r.status, r.outcome, r.version]),
      [[workflowId, 'COMPLETED', 'promoted', 1]],
    );
    assert.deepEqual(
      view.input,
      { ...JSON.parse(await readFile(penguinsConfig, 'utf8')), model },
      'the draft input is stored, --model filled in',
    );

    const text = ok(await schedule('describe', scheduleId));
    assert.match(text, new RegExp(`${workflowId}\\s+COMPLETED\\s+promoted v1`));

    // Listing is eventually consistent.
    const listed = await waitFor(
      'the schedule in list',
      async () => JSON.parse(ok(await schedule('list', '--json'))) as ScheduleListEntry[],
      (entries) => entries.some((e) => e.scheduleId === scheduleId),
    );
    assert.deepEqual(listed.find((e) => e.scheduleId === scheduleId)?.model, model);
  });

  it('a batchPredict schedule (--workflow batchPredict) scores with the version its alias named, recorded in the result and memo', async () => {
    // Scores with the champion the first test registered. The file is the small JSON a Temporal UI user pastes.
    const predictConfig = path.join(configDir, 'predict.json');
    await writeFile(
      predictConfig,
      JSON.stringify({ dataset: { uri: h.store.uriFor(`${h.prefix}/datasets/penguins.json`) }, chunkRows: 100 }),
    );
    const scheduleId = `test-predict-${randomUUID().slice(0, 8)}`;
    created.add(scheduleId);
    const createdText = ok(
      await schedule(
        'create',
        scheduleId,
        '--workflow',
        'batchPredict',
        '--model',
        `${model}@champion`,
        '--config',
        predictConfig,
        '--task-queue',
        h.taskQueue,
        '--cron',
        '0 0 1 1 *',
      ),
    );
    assert.match(createdText, new RegExp(`batchPredict for ${model} on task queue`));

    const triggered = ok(await schedule('trigger', scheduleId));
    const workflowId = /started (\S+)/.exec(triggered)?.[1];
    assert.ok(workflowId !== undefined && workflowId.startsWith(`${scheduleId}-`), triggered);
    const run = h.client.workflow.getHandle(workflowId);
    const result = (await run.result()) as BatchPredictResult;
    assert.equal(result.version, 1);
    assert.equal(result.alias, 'champion');
    assert.equal(result.rows, 344);
    const description = await run.describe();
    assert.equal(description.type, 'batchPredict');
    assert.equal(description.typedSearchAttributes.get(TrainyardModel), model);
    assert.ok(description.typedSearchAttributes.get(TemporalScheduledStartTime) instanceof Date, 'a scheduled run');
    assert.equal((description.memo as { version?: number }).version, 1, 'the version is recorded in the memo');

    const view = await describeSchedule(scheduleId);
    assert.deepEqual(
      view.recentRuns.map((r) => [r.workflowId, r.status, r.outcome, r.version]),
      [[workflowId, 'COMPLETED', 'succeeded', 1]],
    );
    assert.deepEqual(view.input, { ...JSON.parse(await readFile(predictConfig, 'utf8')), model: `${model}@champion` });
  });

  it("pause stops the schedule's own runs (trigger still starts one); unpause resumes them", async () => {
    const scheduleId = await create('pause', missingDataConfig, '--every', '2s', '--overlap', 'allow-all');
    const taken = async () => (await describeSchedule(scheduleId)).actions.taken;
    await waitFor('two scheduled runs', taken, (n) => n >= 2, 30_000);

    ok(await schedule('pause', scheduleId, '--note', 'data freeze'));
    const paused = await describeSchedule(scheduleId);
    assert.deepEqual(paused.state, { paused: true, note: 'data freeze' });
    assert.match(ok(await schedule('describe', scheduleId)), /state\s+paused: data freeze/);

    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a tick already under way may still land
    const whilePaused = await taken();
    await new Promise((resolve) => setTimeout(resolve, 7_000)); // more than three intervals
    assert.equal(await taken(), whilePaused, 'no scheduled run while paused');

    // Temporal's trigger ignores pause: an operator can still start one run by hand.
    assert.match(ok(await schedule('trigger', scheduleId)), new RegExp(`started ${scheduleId}-`));
    assert.equal(await taken(), whilePaused + 1);

    ok(await schedule('unpause', scheduleId, '--note', 'freeze over'));
    const resumed = await waitFor(
      'scheduled runs again',
      () => describeSchedule(scheduleId),
      (v) => v.actions.taken >= whilePaused + 3,
      30_000,
    );
    assert.equal(resumed.state.paused, false);
    ok(await schedule('pause', scheduleId, '--note', 'test done'));

    // describe reports each finished run's outcome: these read a missing dataset.
    const settled = await waitFor(
      'finished runs in describe',
      () => describeSchedule(scheduleId),
      (v) => v.recentRuns.some((r) => r.status === 'FAILED'),
    );
    const failed = settled.recentRuns.find((r) => r.status === 'FAILED');
    assert.equal(failed?.failure?.type, 'DatasetNotFound', JSON.stringify(failed));
  });

  it('backfill starts one run per scheduled time in the window (both ends inclusive), each as of its own time', async () => {
    const scheduleId = await create(
      'backfill',
      missingDataConfig,
      '--every',
      '1h',
      '--paused',
      '--note',
      'backfill only',
    );
    const from = '2026-01-01T00:00:00Z';
    ok(await schedule('backfill', scheduleId, '--from', from, '--to', '2026-01-01T03:00:00Z'));

    // buffer-all (the default for backfills) starts them one after another.
    const view = await waitFor(
      'four backfilled runs to finish',
      () => describeSchedule(scheduleId),
      (v) => v.actions.taken >= 4 && v.recentRuns.every((r) => r.status !== 'RUNNING'),
      120_000,
    );
    const hours = ['00', '01', '02', '03'];
    assert.equal(view.actions.taken, 4);
    assert.equal(view.actions.skippedOverlap, 0);
    assert.deepEqual(
      view.recentRuns.map((r) => r.workflowId),
      hours.map((hh) => `${scheduleId}-2026-01-01T${hh}:00:00Z`),
    );
    assert.deepEqual(
      view.recentRuns.map((r) => r.scheduledAt),
      hours.map((hh) => `2026-01-01T${hh}:00:00.000Z`),
    );
    // The pipeline reads "the latest data" as of TemporalScheduledStartTime: the backfilled hour, not now.
    for (const run of view.recentRuns) {
      const scheduled = (await h.client.workflow.getHandle(run.workflowId).describe()).typedSearchAttributes.get(
        TemporalScheduledStartTime,
      );
      assert.equal(scheduled?.toISOString(), run.scheduledAt);
    }
    assert.equal(view.state.paused, true, 'a backfill leaves the schedule paused');
  });

  it('delete removes the schedule; unknown schedules exit 2', async () => {
    const scheduleId = await create('delete', penguinsConfig, '--every', '1d', '--paused');
    assert.match(ok(await schedule('delete', scheduleId)), /deleted/);
    created.delete(scheduleId);
    for (const args of [
      ['describe', scheduleId],
      ['delete', scheduleId],
      ['trigger', scheduleId],
      ['pause', scheduleId, '--note', 'x'],
    ]) {
      const result = await schedule(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`No schedule with id "${scheduleId}"`));
    }
  });

  it('bad options and bad inputs exit 2, naming the option or field, before any schedule exists', async () => {
    const scheduleId = `test-bad-${randomUUID().slice(0, 8)}`;
    const badTask = path.join(configDir, 'bad-task.json');
    await writeFile(
      badTask,
      JSON.stringify({ dataset: { uri: 'ftp://nowhere/x.csv' }, task: { type: 'ranking', label: 'y' } }),
    );
    const cases: [string[], RegExp][] = [
      [['create', scheduleId, '--config', penguinsConfig, '--model', model], /--cron: give exactly one of --cron/],
      [
        [
          'create',
          scheduleId,
          '--config',
          penguinsConfig,
          '--model',
          model,
          '--every',
          '1x',
          '--overlap',
          'never',
          '--catchup-window',
          '3s',
        ],
        /--every: expected a duration[\s\S]*--overlap: expected one of[\s\S]*--catchup-window: must be at least 10s/,
      ],
      [
        ['create', scheduleId, '--config', penguinsConfig, '--model', model, '--cron', '61 * * * *'],
        /--cron: Minute is not in range \[0-59\]/,
      ],
      [
        ['create', scheduleId, '--config', badTask, '--model', model, '--every', '1d'],
        /dataset\.uri:[\s\S]*task\.type:/,
      ],
      [['create', scheduleId, '--config', penguinsConfig, '--every', '1d'], /model: .*pass --model/],
      [['backfill', scheduleId, '--from', '2026-01-02', '--to', '2026-01-01'], /--to: must be after --from/],
      [['backfill', scheduleId, '--from', 'last week', '--to', '2026-01-01'], /--from: expected an ISO date/],
    ];
    const results = await Promise.all(cases.map(([args]) => schedule(...args)));
    results.forEach((result, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    });
    const unknown = await schedule('describe', scheduleId);
    assert.equal(unknown.code, 2, 'no schedule was created by the refused commands');
  });
});
