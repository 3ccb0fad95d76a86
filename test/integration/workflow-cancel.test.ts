import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { readStatus } from '../../cli/commands/status';
import { TrainyardOutcome } from '../../workflows/search-attributes';
import { runCli } from '../support/cli';
import { waitForOutcome, waitForStatus } from '../support/pipeline-runs';
import {
  badData,
  callCounts,
  cannedStages,
  startStubPipelineHarness,
  stubInput,
  type StubPipelineHarness,
} from '../support/stub-pipeline';

describe('workflow: a cancelled run shows outcome cancelled, not failed (stub activities, real Temporal)', () => {
  let h: StubPipelineHarness;
  /** Lets blocked train stubs return once their run has been cancelled and checked. */
  const releases: (() => void)[] = [];
  before(async () => {
    h = await startStubPipelineHarness();
  });
  after(async () => {
    for (const release of releases) release();
    await h?.close();
  });

  async function assertCancelled(handle: WorkflowHandle): Promise<void> {
    const error = await handle.result().then(
      () => assert.fail('the run should end cancelled'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure, String(error));
    const description = await handle.describe();
    assert.equal(description.status.name, 'CANCELLED');
    assert.equal(description.typedSearchAttributes.get(TrainyardOutcome), 'cancelled');
    const status = await readStatus(h.client, handle.workflowId);
    assert.equal(status.outcome, 'cancelled');
    assert.equal(status.failure, undefined);
    assert.equal(status.awaitingOperator, undefined);
    // The recorded history replays cleanly against the current workflow code (determinism guard).
    await Worker.runReplayHistory({ workflowBundle: h.workflowBundle }, await handle.fetchHistory(), handle.workflowId);
  }

  it('cancelled while a stage runs: search attribute, status and `trainyard status` say cancelled', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    releases.push(release);
    const { handle, calls } = await h.start(stubInput(), {
      train: async (input) => {
        await released;
        return cannedStages().train(input);
      },
    });
    await waitForStatus(handle, 'train running', (s) =>
      s.stages.some((x) => x.name === 'train' && x.state === 'running'),
    );
    await handle.cancel();
    await assertCancelled(handle);
    assert.deepEqual(callCounts(calls), {
      getChampion: 1,
      fingerprintDataset: 1,
      validateData: 1,
      splitAndSample: 1,
      fitPreprocessor: 1,
      train: 1,
    });

    const cli = await runCli(['status', handle.workflowId]);
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /outcome cancelled/);
    assert.doesNotMatch(cli.stdout, /outcome failed/);
  });

  it('cancelled while awaiting an operator', async () => {
    const { handle, calls } = await h.start(stubInput(), {
      validateData: async () => {
        throw badData();
      },
    });
    await waitForOutcome(handle, 'awaiting-operator');
    await handle.cancel();
    await assertCancelled(handle);
    assert.deepEqual(callCounts(calls), { getChampion: 1, fingerprintDataset: 1, validateData: 1 });
  });

  it('cancelled while awaiting approval', async () => {
    const { handle, calls } = await h.start(stubInput({ promotion: { policy: 'manual' } }));
    await waitForOutcome(handle, 'awaiting-approval');
    await handle.cancel();
    await assertCancelled(handle);
    assert.equal(calls.promote.length, 0);
  });
});
