import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchPredictInput, parseBatchPredictInput } from '../../contracts/batch-predict-input';
import { checkInputColumns, MissingInputColumnsError } from '../../lib/batch-predict/input-check';
import { batchLayout } from '../../lib/batch-predict/output-layout';
import type { DatasetColumn } from '../../lib/data/dataset';
import type { ServingInput } from '../../lib/serving/row-schema';

const inputs: ServingInput[] = [
  { name: 'mass', type: 'number' },
  { name: 'island', type: 'string', categories: ['Biscoe', 'Dream'] },
  { name: 'seen', type: 'timestamp' },
];
const column = (name: string, type: DatasetColumn['type'], duckdbType: string): DatasetColumn => ({
  name,
  type,
  duckdbType,
});

describe('batchPredict input', () => {
  it('applies defaults and names each bad field', () => {
    const ok = parseBatchPredictInput({ model: 'penguins@champion', dataset: { uri: 's3://bucket/d.csv' } });
    assert.ok(ok.ok);
    assert.equal(ok.value.chunkRows, 100_000);
    assert.deepEqual(ok.value.keyColumns, []);
    assert.equal(ok.value.dataset.partitions, 'all');

    const bad = parseBatchPredictInput({
      model: 'penguins',
      dataset: { uri: 'http://x' },
      keyColumns: ['id', 'id', 'predicted_class'],
      chunkRows: 0,
      extra: 1,
    });
    assert.ok(!bad.ok);
    const paths = bad.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['(root)', 'chunkRows', 'dataset.uri', 'keyColumns.1', 'keyColumns.2', 'model']);
    assert.match(bad.problems.find((p) => p.path === 'model')?.message ?? '', /<model>@<alias>/);
  });

  it('takes an optional shadow reference, described, and names it when it is not one', () => {
    const ok = parseBatchPredictInput({
      model: 'penguins@champion',
      shadow: 'penguins@challenger',
      dataset: { uri: 's3://bucket/d.csv' },
    });
    assert.ok(ok.ok);
    assert.equal(ok.value.shadow, 'penguins@challenger');
    const none = parseBatchPredictInput({ model: 'penguins:2', dataset: { uri: 's3://bucket/d.csv' } });
    assert.ok(none.ok);
    assert.equal(none.value.shadow, undefined);
    assert.match(BatchPredictInput.shape.shadow.description ?? '', /second version/);

    for (const shadow of ['penguins', 'penguins:0', 'Penguins@champion', 7]) {
      const bad = parseBatchPredictInput({ model: 'penguins:2', shadow, dataset: { uri: 's3://bucket/d.csv' } });
      assert.ok(!bad.ok, String(shadow));
      assert.deepEqual(
        bad.problems.map((p) => p.path),
        ['shadow'],
        String(shadow),
      );
    }
  });
});

describe('checkInputColumns', () => {
  const args = {
    model: 'penguins:3',
    inputs,
    trainingColumns: ['mass', 'island', 'seen', 'species'],
    keyColumns: ['id'],
  };

  it('names every missing input and key column', () => {
    assert.throws(
      () => checkInputColumns({ ...args, columns: [column('mass', 'numeric', 'DOUBLE')] }),
      (error: unknown) => {
        assert.ok(error instanceof MissingInputColumnsError);
        assert.deepEqual(
          error.problems.map((p) => p.path),
          ['island', 'seen', 'id'],
        );
        assert.match(error.message, /"island", "seen", "id"/);
        return true;
      },
    );
  });

  it('reads matching columns as they are, converts others with a warning, and warns of extra columns', () => {
    const check = checkInputColumns({
      ...args,
      columns: [
        column('mass', 'categorical', 'VARCHAR'),
        column('island', 'categorical', 'VARCHAR'),
        column('seen', 'timestamp', 'TIMESTAMP'),
        column('species', 'categorical', 'VARCHAR'),
        column('id', 'numeric', 'BIGINT'),
        column('note', 'text', 'VARCHAR'),
      ],
    });
    assert.deepEqual(check.selects, [
      {
        name: 'mass',
        sql: '(CASE WHEN isfinite(TRY_CAST("mass" AS DOUBLE)) THEN TRY_CAST("mass" AS DOUBLE) END)',
        convertedFrom: 'VARCHAR',
      },
      { name: 'island', sql: '"island"' },
      { name: 'seen', sql: 'epoch("seen")' },
    ]);
    assert.equal(check.warnings.length, 2);
    assert.match(check.warnings[0] as string, /"mass" is VARCHAR here but number in training/);
    assert.match(check.warnings[1] as string, /column "note" not in the training data/);
  });

  it('puts every part of a run under the output prefix, the model and the version', () => {
    const layout = batchLayout('out/preds/', 'penguins', 3);
    assert.equal(layout.part(12), 'out/preds/penguins/v3/parts/part-000012.parquet');
    assert.equal(layout.summary, 'out/preds/penguins/v3/summary.json');
    assert.equal(layout.comparison('penguins-mlp', 4), 'out/preds/penguins/v3/comparison-penguins-mlp-v4.json');
  });
});
