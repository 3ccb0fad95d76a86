import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatModelReference, ModelReferenceText } from '../../contracts/model-reference';
import { PreprocessorSpec } from '../../lib/data/preprocessor-spec';
import type { DatasetSchema } from '../../lib/data/schema';
import { checkColumns, rowSchemaFor, rowsToColumns } from '../../lib/serving/row-schema';

const numeric = (column: string) => ({
  kind: 'numeric' as const,
  column,
  source: 'number' as const,
  impute: 0,
  log1p: false,
  center: 0,
  scale: 1,
  statistics: { count: 1, missing: 0, mean: 0, median: 0, negative: 0 },
});

const spec = PreprocessorSpec.parse({
  version: 2,
  task: 'binary',
  label: { column: 'label', source: 'string', classes: ['no', 'yes'] },
  features: [
    numeric('mass'),
    { kind: 'one-hot', column: 'island', source: 'string', impute: 'Biscoe', categories: ['Biscoe', 'Dream'] },
    { kind: 'calendar', column: 'seen', source: 'epoch-seconds', parts: ['month'] },
    { ...numeric('seen'), source: 'epoch-seconds' },
    { ...numeric('tagged'), source: 'boolean' },
  ],
  featureNames: [
    'mass',
    'island=Biscoe',
    'island=Dream',
    'island=<unseen>',
    'seen.month.sin',
    'seen.month.cos',
    'seen',
    'tagged',
  ],
  featureCount: 8,
  excluded: [
    { column: 'label', reason: 'label' },
    { column: 'id', reason: 'preprocess.exclude' },
  ],
  notes: [],
  fittedOn: { split: 'train', rows: 10 },
});

const training: DatasetSchema = {
  version: 1,
  columns: [
    { name: 'mass', type: 'numeric', required: true, nullable: false },
    { name: 'island', type: 'categorical', required: true, nullable: false, domain: ['Biscoe', 'Dream'] },
    { name: 'seen', type: 'timestamp', required: true, nullable: true },
    { name: 'tagged', type: 'boolean', required: true, nullable: true },
    { name: 'id', type: 'text', required: true, nullable: false },
    { name: 'label', type: 'categorical', required: true, nullable: false },
  ],
};

describe('serving row schema', () => {
  const { row, inputs } = rowSchemaFor(spec, training);
  const good = { mass: 4200, island: 'Torgersen', seen: '2026-12-07T10:00:00Z', tagged: true };

  it('lists each column the preprocessor reads once, with its type and the training categories', () => {
    assert.deepEqual(inputs, [
      { name: 'mass', type: 'number' },
      { name: 'island', type: 'string', categories: ['Biscoe', 'Dream'] },
      { name: 'seen', type: 'timestamp' },
      { name: 'tagged', type: 'boolean' },
    ]);
  });

  it('accepts null for a missing value, unseen categories, epoch seconds, and ignores the label and excluded columns', () => {
    assert.ok(row.safeParse(good).success);
    assert.ok(
      row.safeParse({ mass: null, island: null, seen: 1_796_600_000, tagged: null, id: 'x', label: 'yes' }).success,
    );
  });

  it('names each bad field: wrong type, absent, unparseable date, unknown column', () => {
    const result = row.safeParse({ mass: '42', seen: 'yesterday', tagged: 'yes', color: 'red' });
    assert.equal(result.success, false);
    const problems = Object.fromEntries((result.error?.issues ?? []).map((i) => [i.path.join('.'), i.message]));
    assert.deepEqual(Object.keys(problems).sort(), ['color', 'island', 'mass', 'seen', 'tagged']);
    assert.match(problems.mass as string, /expected a number or null, got the string "42"/);
    assert.match(problems.island as string, /required: send null for a missing value/);
    assert.match(problems.seen as string, /ISO-8601/);
    assert.match(problems.tagged as string, /expected true or false or null/);
    assert.match(
      problems.color as string,
      /not a column of this model's training data; its inputs are mass, island, seen, tagged/,
    );
  });

  it('turns rows into the columns encodeColumns reads, absent and null as null', () => {
    assert.deepEqual(rowsToColumns([good, { mass: 1 }], inputs), {
      mass: [4200, 1],
      island: ['Torgersen', null],
      seen: ['2026-12-07T10:00:00Z', null],
      tagged: [true, null],
    });
  });

  it('checks columns by the same type rules: every row a row schema accepts passes, each bad value is named <row>.<column>', () => {
    const rows = [good, { mass: null, island: null, seen: 1_796_600_000, tagged: null }];
    assert.ok(rows.every((r) => row.safeParse(r).success));
    assert.deepEqual(checkColumns(rowsToColumns(rows, inputs), rows.length, inputs), []);
    const problems = checkColumns(
      { mass: [1, '2', Number.NaN], island: ['Dream', 3, null], seen: [0, 'yesterday', null], tagged: [true, false] },
      3,
      inputs,
    );
    assert.deepEqual(
      problems.map((p) => p.path),
      ['1.mass', '2.mass', '1.island', '1.seen', 'tagged'],
    );
    assert.match(problems[0]?.message ?? '', /expected a number or null, got the string "2"/);
    assert.match(problems[4]?.message ?? '', /a column of 3 values/);
  });
});

describe('model references', () => {
  it('parses <model>@<alias> and <model>:<version> and writes them back', () => {
    const alias = ModelReferenceText.parse('penguins@champion');
    assert.deepEqual(alias, { model: 'penguins', alias: 'champion' });
    assert.deepEqual(ModelReferenceText.parse(' penguins:3 '), { model: 'penguins', version: 3 });
    assert.equal(formatModelReference(alias), 'penguins@champion');
    assert.equal(formatModelReference({ model: 'penguins', version: 3 }), 'penguins:3');
  });

  it('refuses anything else, saying what was expected', () => {
    for (const text of [
      'penguins',
      'Penguins@champion',
      'penguins@Champion',
      'penguins:0',
      'penguins:1.5',
      'penguins:',
      '@champion',
    ]) {
      const parsed = ModelReferenceText.safeParse(text);
      assert.equal(parsed.success, false, text);
    }
    assert.match(ModelReferenceText.safeParse('penguins').error?.issues[0]?.message ?? '', /<model>@<alias>/);
    assert.match(ModelReferenceText.safeParse('penguins:0').error?.issues[0]?.message ?? '', /whole number from 1/);
  });
});
