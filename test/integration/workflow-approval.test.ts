import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { PipelineResult } from '../../workflows';
import { approvalSignal, approvalUpdate, statusQuery } from '../../workflows/messages';
import { TrainyardOutcome } from '../../workflows/search-attributes';
import { waitForOutcome } from '../support/pipeline-runs';
import {
  callCounts,
  cannedStages,
  startStubPipelineHarness,
  stubInput,
  type StubPipelineHarness,
} from '../support/stub-pipeline';

const ALL_STAGES_ONCE = {
  getChampion: 1,
  fingerprintDataset: 1,
  validateData: 1,
  splitAndSample: 1,
  fitPreprocessor: 1,
  train: 1,
  evaluate: 1,
  registerModel: 1,
};

describe('workflow: approval with stub activities (real Temporal)', () => {
  let h: StubPipelineHarness;
  before(async () => {
    h = await startStubPipelineHarness();
  });
  after(async () => {
    await h?.close();
  });

  const outcomeAttribute = async (handle: WorkflowHandle) =>
    (await handle.describe()).typedSearchAttributes.get(TrainyardOutcome);
  const approveStage = async (handle: WorkflowHandle) =>
    (await handle.query(statusQuery)).stages.find((s) => s.name === 'approve');

  it('manual policy: waits for a person; approve through the update promotes with their name and reason', async () => {
    const { handle, calls } = await h.start(stubInput({ promotion: { policy: 'manual' } }));
    const waiting = await waitForOutcome(handle, 'awaiting-approval');
    assert.equal(waiting.version, 1);
    assert.equal(waiting.stages.at(-1)?.name, 'approve');
    assert.equal(waiting.stages.at(-1)?.state, 'running');
    assert.equal(await outcomeAttribute(handle), 'awaiting-approval');
    assert.equal(calls.promote.length, 0, 'nothing is promoted before the decision');

    const ack = await handle.executeUpdate(approvalUpdate, {
      args: [{ decision: 'approve', by: 'alice', reason: 'looks good' }],
    });
    assert.deepEqual(ack, { accepted: true, version: 1 });
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    assert.equal(result.version, 1);
    assert.deepEqual(callCounts(calls), { ...ALL_STAGES_ONCE, promote: 1 });
    assert.deepEqual(calls.promote[0], {
      model: result.model,
      version: 1,
      alias: 'champion',
      by: 'alice',
      reason: 'looks good',
    });
    assert.match((await approveStage(handle))?.note ?? '', /^approve by alice: looks good$/);
    assert.equal(await outcomeAttribute(handle), 'promoted');

    // A second decision is refused by the update's validator.
    await assert.rejects(
      handle.executeUpdate(approvalUpdate, { args: [{ decision: 'reject', by: 'bob', reason: 'too late' }] }),
    );
  });

  it('manual policy: reject through the signal registers without promoting', async () => {
    const { handle, calls } = await h.start(stubInput({ promotion: { policy: 'manual' } }));
    await waitForOutcome(handle, 'awaiting-approval');
    await handle.signal(approvalSignal, { decision: 'reject', by: 'carol', reason: 'recall too low' });
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'registered');
    assert.equal(result.version, 1);
    assert.deepEqual(callCounts(calls), ALL_STAGES_ONCE);
    const promote = result.stages.find((s) => s.name === 'promote');
    assert.equal(promote?.state, 'skipped');
    assert.equal(promote?.note, 'not approved: recall too low (carol)');
    assert.equal(await outcomeAttribute(handle), 'registered');
  });

  it('auto policy: a collapsed champion stops automatic promotion until a person approves', async () => {
    const collapse = 'the champion collapsed on this test split (accuracy 0.31, was 0.95)';
    const { handle, calls } = await h.start(stubInput(), {
      evaluate: async (input) => ({ ...(await cannedStages().evaluate(input)), approvalRequired: collapse }),
    });
    await waitForOutcome(handle, 'awaiting-approval');
    assert.equal((await approveStage(handle))?.note, `waiting for a person: ${collapse}`);
    assert.equal(calls.promote.length, 0);

    await handle.executeUpdate(approvalUpdate, { args: [{ decision: 'approve', by: 'dave', reason: 'checked' }] });
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    assert.deepEqual(callCounts(calls), { ...ALL_STAGES_ONCE, promote: 1 });
    assert.equal(calls.promote[0]?.by, 'dave');
    assert.equal(
      result.stages.find((s) => s.name === 'approve')?.note,
      `approve by dave: checked (asked because ${collapse})`,
    );
  });

  it('auto policy without a collapse promotes at once, with no approve stage', async () => {
    const { handle, calls } = await h.start(stubInput());
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    assert.deepEqual(callCounts(calls), { ...ALL_STAGES_ONCE, promote: 1 });
    assert.equal(calls.promote[0]?.by, 'trainyard');
    assert.equal(
      result.stages.find((s) => s.name === 'approve'),
      undefined,
    );
  });

  it('no decision within promotion.approvalTimeout: the model stays registered, not promoted', async () => {
    const { handle, calls } = await h.start(stubInput({ promotion: { policy: 'manual', approvalTimeout: '1s' } }));
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'registered');
    assert.deepEqual(callCounts(calls), ALL_STAGES_ONCE);
    assert.equal(result.stages.find((s) => s.name === 'approve')?.note, 'reject by trainyard: no decision within 1s');
    assert.equal(
      result.stages.find((s) => s.name === 'promote')?.note,
      'not approved: no decision within 1s (trainyard)',
    );
  });
});
