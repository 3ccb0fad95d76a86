import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchPredictInput } from '../../contracts/batch-predict-input';
import { batchPredictRetryRules, planBatchRetry } from '../../contracts/batch-predict-retry';
import { formatBatchProgress, formatBatchStatus } from '../../cli/batch-status';

const input = BatchPredictInput.parse({ model: 'penguins@champion', dataset: { uri: 's3://trainyard/broken.csv' } });

describe('planBatchRetry', () => {
  it('re-runs predictBatch with the changed fields parsed by the input schema, keeping the resolved version', () => {
    const result = planBatchRetry(input, 'predictBatch', { set: { 'dataset.uri': 's3://trainyard/fixed.csv' } });
    assert.ok(result.ok);
    assert.equal(result.plan.restartFrom, 'predictBatch');
    assert.deepEqual(result.plan.changedPaths, ['dataset.uri']);
    assert.deepEqual(result.plan.input, { ...input, dataset: { ...input.dataset, uri: 's3://trainyard/fixed.csv' } });
    assert.deepEqual(batchPredictRetryRules.kept('predictBatch'), ['resolvePredictionModel']);
    assert.equal(input.operator.timeout, '7d', 'the pipeline default');
  });

  it('names each refused field: the model, another stage, a value the schema refuses', () => {
    const result = planBatchRetry(input, 'predictBatch', {
      stage: 'resolvePredictionModel',
      set: { model: 'other@champion', 'dataset.uri': 'ftp://x' },
    });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((p) => p.path),
      ['stage', 'model'],
    );
    const badValue = planBatchRetry(input, 'predictBatch', { set: { chunkRows: 0, 'dataset.uri': 'ftp://x' } });
    assert.ok(!badValue.ok);
    assert.deepEqual(badValue.problems.map((p) => p.path).sort(), ['chunkRows', 'dataset.uri']);
  });
});

describe('trainyard status for batchPredict', () => {
  it('shows the chunk progress as a bar, the step before scoring, and a later attempt', () => {
    assert.equal(
      formatBatchProgress({ attempt: 1, step: 'scoring', chunk: 5, chunks: 10, rows: 500 }),
      `[${'█'.repeat(10)}${'░'.repeat(10)}] chunk 5/10  500 rows`,
    );
    assert.equal(
      formatBatchProgress({ attempt: 2, step: 'downloading the dataset', bytesRead: 3 * 2 ** 20 }),
      'downloading the dataset  3 MiB read  attempt 2',
    );
  });

  it('shows the version, the outcome, the operator wait and how to answer it', () => {
    const text = formatBatchStatus({
      model: 'penguins@champion',
      datasetUri: 's3://trainyard/broken.csv',
      version: 3,
      stage: 'predicting',
      outcome: 'awaiting-operator',
      awaitingOperator: {
        failedStage: 'predictBatch',
        failure: { type: 'IncompatibleSchema', message: 'the dataset lacks "Island"' },
        since: '2026-12-07T00:00:00.000Z',
        deadline: '2026-12-14T00:00:00.000Z',
      },
    });
    assert.match(text, /^batchPredict penguins@champion {2}version 3 {2}outcome awaiting-operator/);
    assert.match(
      text,
      /predictBatch failed with IncompatibleSchema: the dataset lacks "Island"; gives up at 2026-12-14/,
    );
    assert.match(text, /trainyard retry <workflowId> \[--dataset <uri>\]/);
  });
});
