import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PipelineResult } from '../../workflows';
import { abortUpdate, retryStageUpdate } from '../../workflows/messages';
import { TrainyardOutcome } from '../../workflows/search-attributes';
import { failureOf, waitForOutcome } from '../support/pipeline-runs';
import {
  badData,
  callCounts,
  cannedStages,
  startStubPipelineHarness,
  stubInput,
  type StageStubs,
  type StubPipelineHarness,
} from '../support/stub-pipeline';

/** validateData fails on bad data until the run reads `fixedUri`. */
function validateUnless(fixedUri?: string): Pick<StageStubs, 'validateData'> {
  return {
    validateData: async (input) => {
      if (input.dataset.uri !== fixedUri) throw badData();
      return cannedStages().validateData(input);
    },
  };
}

/** validateData fails on its first call only (the data was fixed in place). */
function validateFailsOnce(): Pick<StageStubs, 'validateData'> {
  let calls = 0;
  return {
    validateData: async (input) => {
      calls += 1;
      if (calls === 1) throw badData();
      return cannedStages().validateData(input);
    },
  };
}

describe('workflow: operator retry and abort with stub activities (real Temporal)', () => {
  let h: StubPipelineHarness;
  before(async () => {
    h = await startStubPipelineHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('bad data waits for an operator; a retry re-runs the failed stage only and the run promotes', async () => {
    const { handle, calls } = await h.start(stubInput(), validateFailsOnce());
    const waiting = await waitForOutcome(handle, 'awaiting-operator');
    assert.equal(waiting.awaitingOperator?.failedStage, 'validateData');
    assert.equal(waiting.awaitingOperator?.failure.type, 'DataValidationFailed');
    assert.equal((await handle.describe()).typedSearchAttributes.get(TrainyardOutcome), 'awaiting-operator');
    assert.deepEqual(callCounts(calls), { getChampion: 1, fingerprintDataset: 1, validateData: 1 });

    const ack = await handle.executeUpdate(retryStageUpdate, { args: [{ by: 'erin', reason: 'labels restored' }] });
    assert.deepEqual(ack, {
      accepted: true,
      restartFrom: 'validateData',
      kept: ['validateInput', 'fingerprintDataset'],
    });
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    assert.deepEqual(callCounts(calls), {
      getChampion: 1,
      fingerprintDataset: 1,
      validateData: 2,
      splitAndSample: 1,
      fitPreprocessor: 1,
      train: 1,
      evaluate: 1,
      registerModel: 1,
      promote: 1,
    });
    assert.deepEqual(
      result.stages.map((s) => `${s.name}:${s.state}`),
      [
        'validateInput:completed',
        'fingerprintDataset:completed',
        'validateData:completed',
        'splitAndSample:completed',
        'fitPreprocessor:completed',
        'train:completed',
        'evaluate:completed',
        'register:completed',
        'promote:completed',
      ],
    );
  });

  it('a retry with a changed dataset restarts from the fingerprint and the stages read the new input', async () => {
    const fixedUri = 's3://trainyard/test/stub/penguins-fixed.json';
    const { handle, calls } = await h.start(stubInput(), validateUnless(fixedUri));
    await waitForOutcome(handle, 'awaiting-operator');
    const ack = await handle.executeUpdate(retryStageUpdate, {
      args: [{ set: { 'dataset.uri': fixedUri }, by: 'erin', reason: 'fixed copy' }],
    });
    assert.equal(ack.restartFrom, 'fingerprintDataset');
    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted');
    assert.deepEqual(
      calls.fingerprintDataset.map((c) => c.uri),
      ['s3://trainyard/test/stub/penguins.json', fixedUri],
    );
    assert.equal(calls.validateData.length, 2);
    assert.equal(calls.validateData[1]?.input.dataset.uri, fixedUri);
    assert.equal(calls.getChampion.length, 1, 'the champion is resolved once per run');
    assert.equal(calls.train[0]?.input.dataset.uri, fixedUri);
  });

  it('abort after a bad-data failure fails the run as PipelineAborted without running later stages', async () => {
    const { handle, calls } = await h.start(stubInput(), validateUnless());
    await waitForOutcome(handle, 'awaiting-operator');
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'frank', reason: 'bad batch' }] });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'PipelineAborted');
    assert.match(
      failure.message,
      /^Aborted by frank \(bad batch\) after validateData failed with DataValidationFailed/,
    );
    assert.deepEqual(callCounts(calls), { getChampion: 1, fingerprintDataset: 1, validateData: 1 });
    assert.equal((await handle.describe()).typedSearchAttributes.get(TrainyardOutcome), 'failed');
  });

  it('no operator within operator.timeout: the run fails with the stage error', async () => {
    const { handle, calls } = await h.start(stubInput({ operator: { timeout: '1s' } }), validateUnless());
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'DataValidationFailed');
    assert.deepEqual(callCounts(calls), { getChampion: 1, fingerprintDataset: 1, validateData: 1 });
    assert.equal((await handle.describe()).typedSearchAttributes.get(TrainyardOutcome), 'failed');
  });
});
