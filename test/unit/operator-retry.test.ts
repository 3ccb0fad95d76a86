import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planRetry, stagesBefore } from '../../contracts/operator-retry';
import { PipelineInput } from '../../contracts/pipeline-input';

const input = PipelineInput.parse({
  model: 'm',
  dataset: { uri: 's3://trainyard/d.csv' },
  task: { type: 'binary', label: 'y' },
});

describe('planRetry', () => {
  it('restarts from the failed stage when nothing changes', () => {
    const result = planRetry(input, 'train', {});
    assert.ok(result.ok);
    assert.equal(result.plan.restartFrom, 'train');
    assert.deepEqual(result.plan.input, input);
  });

  it('restarts from the first stage that reads a changed field', () => {
    const cases: [string, unknown, string][] = [
      ['dataset.uri', 's3://trainyard/fixed.csv', 'fingerprintDataset'],
      ['validation.maxMissingFraction', 0.5, 'validateData'],
      ['sampling.strategy', 'none', 'splitAndSample'],
      ['seed', 7, 'splitAndSample'],
      ['preprocess.standardize', false, 'fitPreprocessor'],
      ['train.epochs', 3, 'train'],
      ['evaluate.slices', [], 'evaluate'],
    ];
    for (const [path, value, expected] of cases) {
      const result = planRetry(input, 'evaluate', { set: { [path]: value } });
      assert.ok(result.ok, `${path}: ${JSON.stringify(!result.ok && result.problems)}`);
      assert.equal(result.plan.restartFrom, expected, path);
      assert.deepEqual(result.plan.changedPaths, [path]);
    }
  });

  it('a change read only by later stages does not move the restart point later than the failed stage', () => {
    const result = planRetry(input, 'validateData', { set: { 'train.epochs': 3 } });
    assert.ok(result.ok);
    assert.equal(result.plan.restartFrom, 'validateData');
    assert.equal(result.plan.input.train.epochs, 3);
  });

  it('an explicit earlier stage wins; a later one, the model, a bad path or a bad value is refused with the field named', () => {
    const earlier = planRetry(input, 'train', { stage: 'splitAndSample' });
    assert.ok(earlier.ok && earlier.plan.restartFrom === 'splitAndSample');
    const refusals: [Parameters<typeof planRetry>[2], string][] = [
      [{ stage: 'promote' }, 'stage'],
      [{ stage: 'validateInput' }, 'stage'],
      [{ set: { model: 'other' } }, 'model'],
      [{ set: { 'dataset..uri': 'x' } }, 'dataset..uri'],
      [{ set: { 'train.epochs': -1 } }, 'train.epochs'],
      [{ set: { 'dataset.uri': 'http://elsewhere/data.csv' } }, 'dataset.uri'],
    ];
    for (const [request, field] of refusals) {
      const result = planRetry(input, 'train', request);
      assert.ok(!result.ok, JSON.stringify(request));
      assert.ok(
        result.problems.some((p) => p.path === field),
        `${JSON.stringify(request)} → ${JSON.stringify(result.problems)}`,
      );
    }
  });

  it('never restarts after the failed stage, and never mutates the input (property)', () => {
    const stages = [
      'fingerprintDataset',
      'validateData',
      'splitAndSample',
      'fitPreprocessor',
      'train',
      'evaluate',
      'register',
      'promote',
    ] as const;
    const order = (s: string) => stages.indexOf(s as (typeof stages)[number]);
    fc.assert(
      fc.property(
        fc.constantFrom(...stages),
        fc.option(fc.constantFrom(...stages), { nil: undefined }),
        fc.subarray(['dataset.uri', 'train.epochs', 'evaluate.slices', 'seed']),
        (failed, requested, paths) => {
          const before = JSON.stringify(input);
          const values: Record<string, unknown> = {
            'dataset.uri': 's3://trainyard/x.csv',
            'train.epochs': 2,
            'evaluate.slices': [],
            seed: 1,
          };
          const result = planRetry(input, failed, {
            ...(requested ? { stage: requested } : {}),
            set: Object.fromEntries(paths.map((p) => [p, values[p]])),
          });
          assert.equal(JSON.stringify(input), before);
          if (requested && order(requested) > order(failed)) return assert.ok(!result.ok);
          assert.ok(result.ok);
          assert.ok(order(result.plan.restartFrom) <= order(requested ?? failed));
        },
      ),
    );
  });

  it('stagesBefore lists what a retry keeps', () => {
    assert.deepEqual(stagesBefore('splitAndSample'), ['validateInput', 'fingerprintDataset', 'validateData']);
  });
});
