import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { Browser, Locator, Page } from 'playwright-core';
import { getVersion, resolveAlias } from '../../lib/registry';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import type { PipelineResult } from '../../workflows';
import { statusQuery, type PipelineOutcome } from '../../workflows/messages';
import { ensureChromium, launchChromium, screenshotter } from '../support/browser';
import { runCli } from '../support/cli';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';
import { scheduledActivityCounts, waitForOutcome, waitForStatus } from '../support/pipeline-runs';

/** The UI polls the server all the time, so "network idle" never comes: wait for what the page shows. */
const UI_WAIT_MS = 60_000;
const RUN_WAIT_MS = 5 * 60_000;
const TIMELINE_VIEWPORT_HEIGHT = 1500;

/**
 * A person's path through the Temporal UI, as the README's "From the Temporal UI" section tells it:
 * Start Workflow with the small JSON input, then approve (or retry a stage) through "Send a Signal";
 * and a schedule made with `trainyard schedule create`, found on the Schedules page and triggered there.
 */
describe('the Temporal UI starts, approves, retries and triggers trainingPipeline runs (real UI, Temporal, MinIO, chromium)', () => {
  let h: TestHarness;
  let browser: Browser;
  let page: Page;
  let penguinsUri: string;
  let unlabelledUri: string;
  const startedRuns: WorkflowHandle[] = [];
  const createdSchedules: string[] = [];
  let configDir: string;
  let screenshot: Awaited<ReturnType<typeof screenshotter>>;

  before(async () => {
    ensureChromium();
    h = await startTestHarness();
    const rows = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as Record<string, unknown>[];
    penguinsUri = await upload('penguins.json', JSON.stringify(rows));
    // The bad batch: the label column is missing, so validateData fails non-retryably.
    unlabelledUri = await upload('unlabelled.json', JSON.stringify(rows.map(({ Species: _species, ...rest }) => rest)));
    configDir = await mkdtemp(path.join(tmpdir(), 'trainyard-ui-'));
    screenshot = await screenshotter('ui');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(UI_WAIT_MS);
  });

  after(async () => {
    for (const scheduleId of createdSchedules) await deleteSchedule(scheduleId);
    // A failed test must not leave a run waiting days for an approval or an operator on a queue nobody polls.
    for (const run of startedRuns)
      await run.terminate('temporal-ui test ended before the run closed').catch(() => undefined);
    await browser?.close();
    await h?.close();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  async function upload(name: string, body: string): Promise<string> {
    const key = `${h.prefix}/datasets/${name}`;
    await h.store.put(key, body);
    return h.store.uriFor(key);
  }

  const namespaceUrl = () => `${h.config.temporal.uiUrl}/namespaces/${encodeURIComponent(h.config.temporal.namespace)}`;
  const workflowsUrl = () => `${namespaceUrl()}/workflows`;

  it('Start Workflow form → awaiting-approval → Send a Signal approvalSignal → promoted, version 1 registered', () =>
    withFailureScreenshot(async () => {
      const model = `ui-penguins-${randomUUID().slice(0, 8)}`;
      // Exactly what the README tells a person to paste, with this test's dataset and model name.
      const input = {
        model,
        dataset: { uri: penguinsUri },
        task: { type: 'multiclass', label: 'Species' },
        promotion: { policy: 'manual' },
      };

      const run = await startFromUi(input, 'start-form-filled');
      await waitForOutcome(run, 'awaiting-approval', RUN_WAIT_MS);
      await showOutcomeOnRunPage(run.workflowId, 'awaiting-approval');
      await sendSignal(
        'approvalSignal',
        { decision: 'approve', by: 'ui-test', reason: 'looks good' },
        'signal-form-filled',
      );

      const result = (await run.result()) as PipelineResult;
      assert.equal(result.outcome, 'promoted');
      assert.equal(result.version, 1);
      assert.match(result.stages.find((s) => s.name === 'approve')?.note ?? '', /approve by ui-test: looks good/);

      const registered = await getVersion(h.store, model, 1);
      assert.equal(registered.lineage.dataset.uri, penguinsUri);
      assert.equal(await resolveAlias(h.store, model), 1, 'the champion alias points at version 1');

      await showCompletedOnRunPage('completed');
    }));

  it('bad data → awaiting-operator → Send a Signal retryStageSignal with the fixed dataset → promoted, earlier lookups kept', () =>
    withFailureScreenshot(async () => {
      const model = `ui-retry-${randomUUID().slice(0, 8)}`;
      const input = {
        model,
        dataset: { uri: unlabelledUri },
        task: { type: 'multiclass', label: 'Species' },
        promotion: { policy: 'auto' },
      };

      const run = await startFromUi(input);
      const waiting = await waitForOutcome(run, 'awaiting-operator', RUN_WAIT_MS);
      assert.equal(waiting.awaitingOperator?.failedStage, 'validateData');
      assert.equal(waiting.awaitingOperator?.failure.type, 'DataValidationFailed');
      await showOutcomeOnRunPage(run.workflowId, 'awaiting-operator');
      await sendSignal(
        'retryStageSignal',
        { set: { 'dataset.uri': penguinsUri }, by: 'ui-test', reason: 'labels restored' },
        'retry-signal-filled',
      );
      await waitForRetryAccepted(run);

      const result = (await run.result()) as PipelineResult;
      assert.equal(result.outcome, 'promoted');
      assert.equal(result.version, 1);
      const registered = await getVersion(h.store, model, 1);
      assert.equal(registered.lineage.dataset.uri, penguinsUri, 'the version was trained on the fixed dataset');

      const final = await run.query(statusQuery);
      assert.equal(final.retries?.length, 1);
      assert.equal(final.retries?.[0]?.restartFrom, 'fingerprintDataset');
      assert.deepEqual(final.retries?.[0]?.changedPaths, ['dataset.uri']);
      assert.equal(final.retries?.[0]?.by, 'ui-test');
      const scheduled = await scheduledActivityCounts(run);
      assert.equal(scheduled.getChampion, 1, 'the champion lookup before the failed stage was kept, not run again');
      assert.equal(scheduled.fingerprintDataset, 2, 'the fixed dataset was fingerprinted');

      await showCompletedOnRunPage('retried-completed');
    }));

  it('trainyard schedule create → listed on the Schedules page → Trigger from Schedule Actions → promoted, version 1', () =>
    withFailureScreenshot(async () => {
      const suffix = randomUUID().slice(0, 8);
      const model = `ui-sched-${suffix}`;
      const scheduleId = `ui-test-sched-${suffix}`;
      await createSchedule(scheduleId, model, {
        dataset: { uri: penguinsUri },
        task: { type: 'multiclass', label: 'Species' },
        train: { model: 'mlp', epochs: 10 },
      });

      await page.goto(`${namespaceUrl()}/schedules`);
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: scheduleId, exact: true }) });
      // Schedules are listed from visibility, a moment after they exist; the list does not refresh itself.
      await waitWithReloads(row);
      for (const shown of ['Paused', 'trainingPipeline', '"interval": "86400s"'])
        await row.getByText(shown).first().waitFor();
      await screenshot(page, 'schedules-page');

      await row.getByRole('link', { name: scheduleId, exact: true }).click();
      await page.getByRole('heading', { name: scheduleId, level: 1 }).waitFor();
      await innermostBlock(page.getByRole('heading', { name: 'Notes' }), 'ui test').waitFor();
      await page.getByText('Paused', { exact: true }).first().waitFor();
      const takenBefore = (await h.client.schedule.getHandle(scheduleId).describe()).info.numActionsTaken;
      await triggerOnSchedulePage();

      const run = await waitForScheduledRun(scheduleId, takenBefore);
      assert.ok(run.workflowId.startsWith(`${scheduleId}-`), run.workflowId);
      const result = (await run.result()) as PipelineResult;
      assert.equal(result.outcome, 'promoted');
      assert.equal(result.version, 1);
      assert.equal(await resolveAlias(h.store, model), 1, 'the champion alias points at version 1');
      const listed: string[] = [];
      for await (const execution of h.client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` }))
        listed.push(execution.workflowId);
      assert.deepEqual(
        listed,
        [run.workflowId],
        'visibility knows the run as started by the schedule ("View All Runs" on its page)',
      );

      // The schedule page lists its recent runs, each a link to the run with its status.
      await page.reload();
      const runLink = page.getByRole('link', { name: run.workflowId, exact: true });
      // No heading inside: the run's own row reads Completed, not the panel around it (which counts "1 Completed").
      await innermostBlock(runLink, 'Completed')
        .filter({ hasNot: page.getByRole('heading') })
        .waitFor();
      await screenshot(page, 'schedule-triggered');
    }));

  /** Writes `config` to a file and runs `trainyard schedule create <id> --every 1d --paused` for this test's task queue. */
  async function createSchedule(
    scheduleId: string,
    model: string,
    config: Omit<PipelineInputDraft, 'model'>,
  ): Promise<void> {
    const configFile = path.join(configDir, `${scheduleId}.json`);
    await writeFile(configFile, JSON.stringify(config));
    createdSchedules.push(scheduleId);
    const created = await runCli(
      [
        'schedule',
        'create',
        scheduleId,
        '--model',
        model,
        '--config',
        configFile,
        '--every',
        '1d',
        '--paused',
        '--note',
        'ui test',
      ],
      { TRAINYARD_TASK_QUEUE: h.taskQueue },
    );
    assert.equal(created.code, 0, `schedule create exited ${created.code}\n${created.stdout}${created.stderr}`);
  }

  /** Deletes the schedule and terminates any run it started that is still going. */
  async function deleteSchedule(scheduleId: string): Promise<void> {
    const schedule = h.client.schedule.getHandle(scheduleId);
    const recent = await schedule.describe().then(
      (d) => d.info.recentActions,
      () => [],
    );
    await schedule.delete().catch(() => undefined);
    for (const { action } of recent) {
      await h.client.workflow
        .getHandle(action.workflow.workflowId)
        .terminate('temporal-ui test ended')
        .catch(() => undefined);
    }
  }

  /** On the open schedule page: Schedule Actions → Trigger → "Trigger Immediately" with the schedule's own overlap policy. */
  async function triggerOnSchedulePage(): Promise<void> {
    await page.getByRole('button', { name: 'Schedule Actions' }).click();
    await page.getByRole('menuitem', { name: 'Trigger', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Trigger Immediately' });
    await dialog.getByRole('radio', { name: 'Use Policy' }).check();
    await dialog.getByRole('button', { name: 'Trigger', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
  }

  /** The run the schedule starts after it had taken `takenBefore` actions, from its describe (consistent, unlike visibility). */
  async function waitForScheduledRun(scheduleId: string, takenBefore: number): Promise<WorkflowHandle> {
    const schedule = h.client.schedule.getHandle(scheduleId);
    const deadline = Date.now() + UI_WAIT_MS;
    while (Date.now() < deadline) {
      const { info } = await schedule.describe();
      const started = info.numActionsTaken > takenBefore ? info.recentActions.at(-1) : undefined;
      if (started) {
        const run = h.client.workflow.getHandle(started.action.workflow.workflowId);
        startedRuns.push(run);
        return run;
      }
      await sleep(500);
    }
    assert.fail(`schedule ${scheduleId} started no run after Trigger`);
  }

  /** The smallest block holding both `part` and `text`: a row or panel of the page, whatever its markup. */
  function innermostBlock(part: Locator, text: string): Locator {
    return page.locator('div').filter({ has: part }).filter({ hasText: text }).last();
  }

  /** Reloads the page until `target` shows, for pages that read visibility and do not poll. */
  async function waitWithReloads(target: Locator): Promise<void> {
    const deadline = Date.now() + UI_WAIT_MS;
    while (!(await target.first().isVisible())) {
      if (Date.now() > deadline) assert.fail(`${target} never showed on ${page.url()}`);
      await sleep(1_000);
      await page.reload();
      await target
        .first()
        .waitFor({ timeout: 5_000 })
        .catch(() => undefined);
    }
  }

  /** Fills the Start Workflow form with `input` on this test's task queue and submits it. */
  async function startFromUi(input: unknown, screenshotName?: string): Promise<WorkflowHandle> {
    const workflowId = `ui-test-${randomUUID()}`;
    await page.goto(workflowsUrl());
    await page.getByRole('button', { name: 'Start Workflow' }).click();
    await page.getByRole('heading', { name: 'Start a Workflow' }).waitFor();
    await page.getByLabel('Workflow ID').fill(workflowId);
    await page.getByLabel('Task Queue').fill(h.taskQueue);
    await page.getByLabel('Workflow Type').fill('trainingPipeline');
    await page.getByText('Task Queue is Active').waitFor(); // checked once the task queue field loses focus
    await pasteJson(page, page, input);
    if (screenshotName) await screenshot(page, screenshotName);
    const run = h.client.workflow.getHandle(workflowId);
    startedRuns.push(run);
    await page.getByRole('button', { name: 'Start Workflow' }).click();
    await page.getByText('Workflow started successfully').waitFor();
    return run;
  }

  /** Opens the run's page on its Search Attributes tab, waits for TrainyardOutcome to read `outcome`, and screenshots it. */
  async function showOutcomeOnRunPage(workflowId: string, outcome: PipelineOutcome): Promise<void> {
    await page.goto(`${workflowsUrl()}/${encodeURIComponent(workflowId)}`);
    await page.getByRole('heading', { name: workflowId }).waitFor();
    await page.getByRole('tab', { name: 'Search Attributes' }).click();
    await page.getByText(`"${outcome}"`).waitFor();
    await screenshot(page, outcome);
  }

  /** On the open run page: More Actions → Send a Signal → `name` with `data`, screenshot, Submit. */
  async function sendSignal(name: string, data: unknown, screenshotName: string): Promise<void> {
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
    const dialog = page.getByRole('dialog').filter({ hasText: 'Send a Signal' });
    await chooseSignal(dialog, name);
    await pasteJson(page, dialog, data);
    await screenshot(page, screenshotName);
    await dialog.getByRole('button', { name: 'Submit' }).click();
  }

  /**
   * Reloads the open run page once the run has closed and screenshots its History with the promoted result.
   * The page scrolls inside itself, so a full-page shot is one viewport: a tall one shows the whole event timeline.
   */
  async function showCompletedOnRunPage(screenshotName: string): Promise<void> {
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: viewport?.width ?? 1400, height: TIMELINE_VIEWPORT_HEIGHT });
    await page.reload();
    await page.getByText('Completed', { exact: true }).first().waitFor();
    await page.getByRole('tab', { name: /^History/ }).click();
    await page.getByText('"outcome": "promoted"').first().waitFor();
    await screenshot(page, screenshotName);
    if (viewport) await page.setViewportSize(viewport);
  }

  async function withFailureScreenshot(steps: () => Promise<void>): Promise<void> {
    try {
      await steps();
    } catch (error) {
      await screenshot(page, 'failure').catch(() => undefined);
      throw error;
    }
  }
});

/** Types JSON into the CodeMirror "Data" editor inside `scope`; insertText skips the editor's bracket auto-closing. */
async function pasteJson(page: Page, scope: Locator | Page, value: unknown): Promise<void> {
  await scope.locator('.cm-content').click();
  await page.keyboard.insertText(JSON.stringify(value, null, 2));
}

async function chooseSignal(dialog: Locator, name: string): Promise<void> {
  // The "Signal name" label points at a disabled input inside the menu button; the button opens the list
  // of signals the worker declares (from the SDK's workflow metadata query).
  await dialog.getByTestId('signal-select-button').click();
  await dialog.getByRole('option', { name, exact: true }).click();
}

/** A signal cannot answer: the run records a retry it took, and notes one it ignored on the failed stage. */
async function waitForRetryAccepted(handle: WorkflowHandle): Promise<void> {
  await waitForStatus(
    handle,
    'the retry signal taken',
    (status) => {
      const ignored = status.stages
        .map((stage) => stage.note ?? '')
        .find((note) => note.startsWith('retry request ignored'));
      if (ignored) assert.fail(ignored);
      return (status.retries?.length ?? 0) > 0;
    },
    RUN_WAIT_MS,
  );
}
