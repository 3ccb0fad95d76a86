import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parsePipelineInput, pipelineInputJsonSchema } from '../../contracts/pipeline-input';
import { rootFailure } from '../../contracts/errors';

const minimal = {
  model: 'penguins',
  dataset: { uri: 's3://trainyard/datasets/penguins.json' },
  task: { type: 'multiclass', label: 'Species' },
};

describe('pipeline input', () => {
  it('needs only model, dataset.uri, task.type and task.label; the rest defaults', () => {
    const parsed = parsePipelineInput(minimal);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.seed, 42);
    assert.equal(parsed.value.dataset.format, 'auto');
  });

  it('names each bad field', () => {
    const parsed = parsePipelineInput({ model: '', dataset: {}, task: { type: 'ranking', label: 'y' }, surprise: 1 });
    assert.ok(!parsed.ok);
    const paths = parsed.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['(root)', 'dataset.uri', 'model', 'task.type']);
    assert.match(parsed.problems.find((p) => p.path === '(root)')?.message ?? '', /surprise/);
  });

  it('names gate metrics the task does not compute, before any stage runs', () => {
    const parsed = parsePipelineInput({
      ...minimal,
      evaluate: {
        thresholds: [
          { metric: 'accuracy', op: '>=', value: 0.9 },
          { metric: 'rmse', op: '<=', value: 1 },
        ],
        slices: [{ column: 'Island', metric: 'r2', floor: 0.5 }],
      },
    });
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.problems, [
      {
        path: 'evaluate.thresholds.1.metric',
        message: '"rmse" is not a multiclass metric; use one of accuracy, macro_f1, micro_f1, log_loss',
      },
      {
        path: 'evaluate.slices.0.metric',
        message: '"r2" is not a multiclass metric; use one of accuracy, macro_f1, micro_f1, log_loss',
      },
    ]);
  });

  it('rejects dataset URIs that are not artifact URIs', () => {
    for (const uri of ['http://x/y.csv', '/etc/passwd', 's3://B/key', 'file://relative/path', 's3://bucket/']) {
      const parsed = parsePipelineInput({ ...minimal, dataset: { uri } });
      assert.ok(!parsed.ok, uri);
      assert.equal(parsed.problems[0]?.path, 'dataset.uri');
    }
  });

  it('never throws, whatever JSON arrives from the UI', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = parsePipelineInput(value);
        return parsed.ok || parsed.problems.length > 0;
      }),
    );
  });

  it('publishes a JSON Schema that lists the required fields', () => {
    const schema = pipelineInputJsonSchema() as {
      required: string[];
      properties: Record<string, { required?: string[] }>;
    };
    assert.deepEqual([...schema.required].sort(), ['dataset', 'model', 'task']);
    assert.deepEqual(schema.properties.task?.required?.sort(), ['label', 'type']);
  });
});

describe('rootFailure', () => {
  it('finds the innermost ApplicationFailure in a wrapper chain', () => {
    const inner = Object.assign(new Error('no dataset'), { name: 'ApplicationFailure', type: 'DatasetNotFound' });
    const activity = Object.assign(new Error('activity failed', { cause: inner }), { name: 'ActivityFailure' });
    const workflow = Object.assign(new Error('workflow failed', { cause: activity }), { name: 'WorkflowFailedError' });
    assert.deepEqual(rootFailure(workflow), { type: 'DatasetNotFound', message: 'no dataset' });
  });

  it('falls back to the outer error when there is no ApplicationFailure', () => {
    assert.deepEqual(rootFailure(new TypeError('boom')), { type: 'TypeError', message: 'boom' });
    assert.deepEqual(rootFailure('text'), { type: 'Error', message: 'text' });
  });
});
