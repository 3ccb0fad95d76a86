import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import fc from 'fast-check';
import { loadConfig, ConfigError } from '../../lib/config';
import { isSocketAddress } from '../../lib/metrics/metrics-address';
import { modelLabel, resultMetricPoints } from '../../lib/metrics/stage-metrics';
import { stageOutcomeOf } from '../../worker/metrics-interceptor';

describe('stage results → metric points', () => {
  const input = { model: 'penguins', dataset: { uri: 's3://trainyard/datasets/penguins.json' } };

  it('validateData: one rows point with the stage and model, never the dataset URI', () => {
    assert.deepEqual(resultMetricPoints('validateData', { input }, { rows: 344, columns: 7 }), [
      { metric: 'rows', value: 344, labels: { stage: 'validateData', model: 'penguins' } },
    ]);
  });

  it('splitAndSample: one rows point per split', () => {
    const result = { rows: { train: 240, validation: 52, test: 52 }, strategy: 'none' };
    assert.deepEqual(resultMetricPoints('splitAndSample', { input }, result), [
      { metric: 'rows', value: 240, labels: { stage: 'splitAndSample', model: 'penguins', split: 'train' } },
      { metric: 'rows', value: 52, labels: { stage: 'splitAndSample', model: 'penguins', split: 'validation' } },
      { metric: 'rows', value: 52, labels: { stage: 'splitAndSample', model: 'penguins', split: 'test' } },
    ]);
  });

  it('registerModel: one gauge point per finite evaluation metric, labelled by model and the registered version', () => {
    const args = { input, evaluation: { metrics: { accuracy: 0.97, logLoss: 0.08, auc: Number.NaN } } };
    assert.deepEqual(
      resultMetricPoints('registerModel', args, { model: 'penguins', version: 3, uri: 's3://x', existed: false }),
      [
        { metric: 'modelMetric', value: 0.97, labels: { model: 'penguins', version: 3, metric: 'accuracy' } },
        { metric: 'modelMetric', value: 0.08, labels: { model: 'penguins', version: 3, metric: 'logLoss' } },
      ],
    );
  });

  it('gives no points for other stages, or for results without the numbers', () => {
    assert.deepEqual(resultMetricPoints('train', { input }, { epochsRun: 3 }), []);
    assert.deepEqual(resultMetricPoints('validateData', { input }, undefined), []);
    assert.deepEqual(resultMetricPoints('validateData', { input }, { rows: -1 }), []);
    assert.deepEqual(resultMetricPoints('splitAndSample', { input }, { rows: { train: 1.5 } }), []);
    assert.deepEqual(resultMetricPoints('registerModel', { input }, { model: 'penguins', version: 1 }), []);
    assert.deepEqual(
      resultMetricPoints('registerModel', { input, evaluation: { metrics: { accuracy: 1 } } }, null),
      [],
    );
  });

  it('never throws, whatever the arguments and result look like', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('validateData', 'splitAndSample', 'registerModel', 'train'),
        fc.anything(),
        fc.anything(),
        (type, args, result) => {
          for (const point of resultMetricPoints(type, args, result)) assert.ok(Number.isFinite(point.value));
        },
      ),
    );
  });

  it('labels by the model of pipeline stages and of registry calls, and omits it otherwise', () => {
    assert.equal(modelLabel({ input }), 'penguins');
    assert.equal(modelLabel({ model: 'cars', alias: 'champion' }), 'cars');
    assert.equal(modelLabel({ uri: 's3://trainyard/x.csv' }), undefined);
    assert.equal(modelLabel(undefined), undefined);
    assert.equal(modelLabel({ model: 42 }), undefined);
  });

  it('classifies a stage outcome: cancellation apart from failure', () => {
    assert.equal(stageOutcomeOf(new CancelledFailure('cancelled')), 'cancelled');
    assert.equal(stageOutcomeOf(ApplicationFailure.create({ nonRetryable: true, message: 'bad data' })), 'failed');
    assert.equal(stageOutcomeOf(new Error('network')), 'failed');
  });
});

describe('METRICS_ADDRESS', () => {
  it('accepts IPv4:port and [IPv6]:port', () => {
    for (const address of ['127.0.0.1:9464', '0.0.0.0:1', '[::1]:9464', '[::]:65535'])
      assert.ok(isSocketAddress(address), address);
  });

  it('refuses host names, missing or out-of-range ports and bare IPv6', () => {
    for (const address of [
      'localhost:9464',
      '127.0.0.1',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '::1:9464',
      '256.0.0.1:9464',
      ':9464',
      'http://127.0.0.1:9464',
    ]) {
      assert.ok(!isSocketAddress(address), address);
    }
  });

  it('is off when unset or empty, and a bad value names the variable', () => {
    assert.equal(loadConfig({}).metrics.address, undefined);
    assert.equal(loadConfig({ METRICS_ADDRESS: '' }).metrics.address, undefined);
    assert.equal(loadConfig({ METRICS_ADDRESS: '127.0.0.1:9464' }).metrics.address, '127.0.0.1:9464');
    assert.throws(
      () => loadConfig({ METRICS_ADDRESS: 'localhost:9464' }),
      (error: unknown) =>
        error instanceof ConfigError && error.problems.length === 1 && error.problems[0]?.path === 'METRICS_ADDRESS',
    );
  });

  it('accepts exactly the IPv4 addresses with a port in range', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: -10, max: 70_000 }), (ip, port) => {
        assert.equal(isSocketAddress(`${ip}:${port}`), port >= 1 && port <= 65535);
      }),
    );
  });
});
