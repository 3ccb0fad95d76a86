import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { Browser, Locator, Page } from 'playwright-core';
import { getVersion, resolveAlias } from '../../lib/registry';
import type { PipelineResult } from '../../workflows';
import { statusQuery, type PipelineOutcome, type PipelineStatus } from '../../workflows/messages';
import { ensureChromium, launchChromium, screenshotter } from '../support/browser';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';
import { scheduledActivityCounts } from '../support/workflow-history';

/** The UI polls the server all the time, so "network idle" never comes: wait for what the page shows. */
const UI_WAIT_MS = 60_000;
const RUN_WAIT_MS = 5 * 60_000;
const TIMELINE_VIEWPORT_HEIGHT = 1500;
const CLOSED_OUTCOMES: readonly PipelineOutcome[] = ['failed', 'promoted', 'rejected'];

/**
 * A person's path through the Temporal UI, as the README's "From the Temporal UI" section tells it:
 * Start Workflow with the small JSON input, then approve (or retry a stage) through "Send a Signal".
 */
describe('the Temporal UI starts, approves and retries a trainingPipeline (real UI, Temporal, MinIO, chromium)', () => {
  let h: TestHarness;
  let browser: Browser;
  let page: Page;
  let penguinsUri: string;
  let unlabelledUri: string;
  const startedRuns: WorkflowHandle[] = [];
  let screenshot: Awaited<ReturnType<typeof screenshotter>>;

  before(async () => {
    ensureChromium();
    h = await startTestHarness();
    const rows = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as Record<string, unknown>[];
    penguinsUri = await upload('penguins.json', JSON.stringify(rows));
    // The bad batch: the label column is missing, so validateData fails non-retryably.
    unlabelledUri = await upload('unlabelled.json', JSON.stringify(rows.map(({ Species: _species, ...rest }) => rest)));
    screenshot = await screenshotter('ui');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(UI_WAIT_MS);
  });

  after(async () => {
    // A failed test must not leave a run waiting days for an approval or an operator on a queue nobody polls.
    for (const run of startedRuns) await run.terminate('temporal-ui test ended before the run closed').catch(() => undefined);
    await browser?.close();
    await h?.close();
  });

  async function upload(name: string, body: string): Promise<string> {
    const key = `${h.prefix}/datasets/${name}`;
    await h.store.put(key, body);
    return h.store.uriFor(key);
  }

  const workflowsUrl = () => `${h.config.temporal.uiUrl}/namespaces/${encodeURIComponent(h.config.temporal.namespace)}/workflows`;

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
      await waitForOutcome(run, 'awaiting-approval');
      await showOutcomeOnRunPage(run.workflowId, 'awaiting-approval');
      await sendSignal('approvalSignal', { decision: 'approve', by: 'ui-test', reason: 'looks good' }, 'signal-form-filled');

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
      const waiting = await waitForOutcome(run, 'awaiting-operator');
      assert.equal(waiting.awaitingOperator?.failedStage, 'validateData');
      assert.equal(waiting.awaitingOperator?.failure.type, 'DataValidationFailed');
      await showOutcomeOnRunPage(run.workflowId, 'awaiting-operator');
      await sendSignal('retryStageSignal', { set: { 'dataset.uri': penguinsUri }, by: 'ui-test', reason: 'labels restored' }, 'retry-signal-filled');
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

async function waitForOutcome(handle: WorkflowHandle, outcome: PipelineOutcome): Promise<PipelineStatus> {
  return waitForStatus(handle, `outcome ${outcome}`, (status) => status.outcome === outcome);
}

/** A signal cannot answer: the run records a retry it took, and notes one it ignored on the failed stage. */
async function waitForRetryAccepted(handle: WorkflowHandle): Promise<void> {
  await waitForStatus(handle, 'the retry signal taken', (status) => {
    const ignored = status.stages.map((stage) => stage.note ?? '').find((note) => note.startsWith('retry request ignored'));
    if (ignored) assert.fail(ignored);
    return (status.retries?.length ?? 0) > 0;
  });
}

async function waitForStatus(handle: WorkflowHandle, what: string, reached: (status: PipelineStatus) => boolean): Promise<PipelineStatus> {
  const deadline = Date.now() + RUN_WAIT_MS;
  let last: string | undefined;
  while (Date.now() < deadline) {
    // Until the UI's start reaches the worker the query can fail: keep asking.
    const status = await handle.query(statusQuery).catch((error: unknown) => String(error));
    if (typeof status !== 'string') {
      if (reached(status)) return status;
      if (CLOSED_OUTCOMES.includes(status.outcome)) assert.fail(`run ended ${status.outcome} while waiting for ${what}`);
    }
    last = typeof status === 'string' ? status : status.outcome;
    await sleep(500);
  }
  assert.fail(`run never reached ${what}; last: ${last}`);
}
