import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { Browser, Locator, Page } from 'playwright-core';
import { getVersion, resolveAlias } from '../../lib/registry';
import type { PipelineResult } from '../../workflows';
import { statusQuery, type PipelineOutcome } from '../../workflows/messages';
import { ensureChromium, launchChromium, screenshotter } from '../support/browser';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';

/** The UI polls the server all the time, so "network idle" never comes: wait for what the page shows. */
const UI_WAIT_MS = 60_000;
const RUN_WAIT_MS = 5 * 60_000;

/**
 * A person's path through the Temporal UI, as the README's "From the Temporal UI" section tells it:
 * Start Workflow with the small JSON input, then approve through "Send a Signal".
 */
describe('the Temporal UI starts and approves a trainingPipeline (real UI, Temporal, MinIO, chromium)', () => {
  let h: TestHarness;
  let browser: Browser;
  let page: Page;
  let penguinsUri: string;
  let started: WorkflowHandle | undefined;
  let screenshot: Awaited<ReturnType<typeof screenshotter>>;

  before(async () => {
    ensureChromium();
    h = await startTestHarness();
    const key = `${h.prefix}/datasets/penguins.json`;
    await h.store.put(key, await readFile(publicDatasetPath('penguins.json')));
    penguinsUri = h.store.uriFor(key);
    screenshot = await screenshotter('ui');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(UI_WAIT_MS);
  });

  after(async () => {
    // A failed test must not leave a run waiting 24 h for an approval on a queue nobody polls.
    await started?.terminate('temporal-ui test ended before the run closed').catch(() => undefined);
    await browser?.close();
    await h?.close();
  });

  const workflowsUrl = () => `${h.config.temporal.uiUrl}/namespaces/${encodeURIComponent(h.config.temporal.namespace)}/workflows`;

  it('Start Workflow form → awaiting-approval → Send a Signal approvalSignal → promoted, version 1 registered', () =>
    withFailureScreenshot(async () => {
      const model = `ui-penguins-${randomUUID().slice(0, 8)}`;
      const workflowId = `ui-test-${randomUUID()}`;
      // Exactly what the README tells a person to paste, with this test's dataset and model name.
      const input = {
        model,
        dataset: { uri: penguinsUri },
        task: { type: 'multiclass', label: 'Species' },
        promotion: { policy: 'manual' },
      };

      await page.goto(workflowsUrl());
      await page.getByRole('button', { name: 'Start Workflow' }).click();
      await page.getByRole('heading', { name: 'Start a Workflow' }).waitFor();
      await page.getByLabel('Workflow ID').fill(workflowId);
      await page.getByLabel('Task Queue').fill(h.taskQueue);
      await page.getByLabel('Workflow Type').fill('trainingPipeline');
      await page.getByText('Task Queue is Active').waitFor(); // checked once the task queue field loses focus
      await pasteJson(page, page, input);
      await screenshot(page, 'start-form-filled');
      started = h.client.workflow.getHandle(workflowId);
      await page.getByRole('button', { name: 'Start Workflow' }).click();
      await page.getByText('Workflow started successfully').waitFor();
      await waitForOutcome(started, 'awaiting-approval');

      await page.goto(`${workflowsUrl()}/${encodeURIComponent(workflowId)}`);
      await page.getByRole('heading', { name: workflowId }).waitFor();
      await page.getByRole('tab', { name: 'Search Attributes' }).click();
      await page.getByText('"awaiting-approval"').waitFor();
      await screenshot(page, 'awaiting-approval');

      await page.getByRole('button', { name: 'More Actions' }).click();
      await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
      const dialog = page.getByRole('dialog').filter({ hasText: 'Send a Signal' });
      await chooseSignal(dialog, 'approvalSignal');
      await pasteJson(page, dialog, { decision: 'approve', by: 'ui-test', reason: 'looks good' });
      await screenshot(page, 'signal-form-filled');
      await dialog.getByRole('button', { name: 'Submit' }).click();

      const result = (await started.result()) as PipelineResult;
      assert.equal(result.outcome, 'promoted');
      assert.equal(result.version, 1);
      assert.match(result.stages.find((s) => s.name === 'approve')?.note ?? '', /approve by ui-test: looks good/);

      const registered = await getVersion(h.store, model, 1);
      assert.equal(registered.lineage.dataset.uri, penguinsUri);
      assert.equal(await resolveAlias(h.store, model), 1, 'the champion alias points at version 1');

      await page.reload();
      await page.getByText('Completed', { exact: true }).first().waitFor();
      await page.getByRole('tab', { name: /^History/ }).click();
      await page.getByText('"outcome": "promoted"').first().waitFor();
      await screenshot(page, 'completed');
  }));

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

async function waitForOutcome(handle: WorkflowHandle, outcome: PipelineOutcome): Promise<void> {
  const deadline = Date.now() + RUN_WAIT_MS;
  let last: string | undefined;
  while (Date.now() < deadline) {
    // Until the UI's start reaches the worker the query can fail: keep asking.
    const status = await handle.query(statusQuery).catch((error: unknown) => ({ outcome: String(error) }));
    if (status.outcome === outcome) return;
    if (status.outcome === 'failed' || status.outcome === 'promoted' || status.outcome === 'rejected') {
      assert.fail(`run ended ${status.outcome} while waiting for ${outcome}`);
    }
    last = status.outcome;
    await sleep(500);
  }
  assert.fail(`run never reached ${outcome}; last: ${last}`);
}
