import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationConfig } from '../../contracts/stage-config';
import type { Anomaly } from '../../contracts/stage-results';
import { detectAnomalies, type AnomalyInput } from '../../lib/data/anomalies';
import { inferSchema, type DatasetSchema } from '../../lib/data/schema';
import type { ColumnStatistics, DatasetStatistics } from '../../lib/data/statistics';
import { categoricalStatistics } from '../support/column-statistics';

const config = ValidationConfig.parse({});

function numeric(
  name: string,
  over: Partial<ColumnStatistics> = {},
  numericOver: Partial<NonNullable<ColumnStatistics['numeric']>> = {},
): ColumnStatistics {
  return {
    name,
    type: 'numeric',
    duckdbType: 'DOUBLE',
    count: 100,
    missingCount: 0,
    missingFraction: 0,
    distinctCount: 90,
    numeric: {
      min: 0,
      max: 10,
      mean: 5,
      std: 2,
      quantiles: [{ q: 0.5, value: 5 }],
      nanCount: 0,
      infinityCount: 0,
      histogram: { edges: [0, 5, 10], counts: [50, 50] },
      ...numericOver,
    },
    ...over,
  };
}

function categorical(
  name: string,
  categories: Record<string, number>,
  over: Partial<ColumnStatistics> = {},
): ColumnStatistics {
  return categoricalStatistics(name, categories, { over });
}

const label = categorical('label', { yes: 50, no: 50 });

function dataset(columns: ColumnStatistics[], over: Partial<DatasetStatistics> = {}): DatasetStatistics {
  const labelStats = columns.find((c) => c.name === 'label');
  return {
    version: 1,
    rowCount: 100,
    columnCount: columns.length,
    duplicateRowCount: 0,
    duplicateRowShare: 0,
    columns,
    ...(labelStats?.categorical
      ? {
          label: { column: 'label', classes: labelStats.categorical.categories, missingCount: labelStats.missingCount },
        }
      : {}),
    ...over,
  };
}

function detect(statistics: DatasetStatistics, over: Partial<AnomalyInput> = {}): Anomaly[] {
  return detectAnomalies({
    statistics,
    schemaSource: 'inferred',
    config,
    task: { type: 'binary', label: 'label' },
    ...over,
  }).anomalies;
}

const checks = (anomalies: Anomaly[]) =>
  anomalies.map((a) => `${a.severity}:${a.check}${a.column ? `:${a.column}` : ''}`);

describe('detectAnomalies', () => {
  it('reports nothing for a clean dataset', () => {
    assert.deepEqual(detect(dataset([numeric('x'), categorical('c', { a: 60, b: 40 }), label])), []);
  });

  it('empty dataset and too few rows', () => {
    assert.ok(
      checks(detect(dataset([numeric('x', { count: 0 }), label], { rowCount: 0 }))).includes('error:empty-dataset'),
    );
    const few = detect(dataset([numeric('x'), label], { rowCount: 5 }));
    const anomaly = few.find((a) => a.check === 'too-few-rows');
    assert.equal(anomaly?.severity, 'error');
    assert.equal(
      anomaly?.message,
      'The dataset has only 5 rows (minimum 20): add data, or lower validation.minRows if this is intended.',
    );
  });

  it('missing fraction above the threshold, and an all-null column, with an actionable sentence', () => {
    const found = detect(
      dataset([
        numeric('income', { count: 58, missingCount: 42, missingFraction: 0.42 }),
        numeric('empty', { count: 0, missingCount: 100, missingFraction: 1 }, { min: null, max: null }),
        label,
      ]),
    );
    const income = found.find((a) => a.column === 'income');
    assert.equal(
      income?.message,
      'Column "income" is missing in 42% of rows (threshold 30%): fill or drop it, or raise validation.maxMissingFraction.',
    );
    assert.equal(income?.observed, 0.42);
    assert.equal(income?.threshold, 0.3);
    assert.match(found.find((a) => a.column === 'empty')?.message ?? '', /is missing in every row/);
  });

  it('NaN and Infinity in numeric columns', () => {
    const found = detect(dataset([numeric('ratio', {}, { nanCount: 3, infinityCount: 2 }), label]));
    const a = found.find((x) => x.check === 'non-finite-values');
    assert.equal(a?.severity, 'error');
    assert.equal(a?.observed, 5);
    assert.match(a?.message ?? '', /holds 3 NaN and 2 infinite values/);
  });

  it('constant column (warning) and duplicate rows (error)', () => {
    const found = detect(
      dataset([numeric('k', { distinctCount: 1 }), label], { duplicateRowCount: 30, duplicateRowShare: 0.3 }),
    );
    assert.deepEqual(checks(found), ['error:duplicate-rows', 'warning:constant-column:k']);
  });

  it('label missing, label with a single class, binary task with three classes, label values missing', () => {
    assert.deepEqual(checks(detect(dataset([numeric('x')]))), ['error:label-missing:label']);
    const derived = detect(dataset([numeric('x')]), {
      task: { type: 'binary', label: { column: 'delay', op: '>', value: 15, name: 'late' } },
    });
    assert.match(derived[0]?.message ?? '', /derived from column "delay", which the dataset does not have/);
    assert.deepEqual(checks(detect(dataset([numeric('x'), categorical('label', { yes: 100 })]))), [
      'error:single-class:label',
    ]);
    assert.deepEqual(checks(detect(dataset([numeric('x'), categorical('label', { a: 40, b: 30, c: 30 })]))), [
      'error:label-classes:label',
    ]);
    const partial = detect(
      dataset([numeric('x'), categorical('label', { yes: 45, no: 45 }, { missingCount: 10, missingFraction: 0.1 })]),
    );
    assert.deepEqual(checks(partial), ['warning:label-values-missing:label']);
  });

  it('regression needs a numeric, non-constant label', () => {
    const task = { type: 'regression' as const, label: 'label' };
    assert.deepEqual(checks(detect(dataset([numeric('x'), categorical('label', { a: 50, b: 50 })]), { task })), [
      'error:label-type:label',
    ]);
    assert.deepEqual(checks(detect(dataset([numeric('x'), numeric('label', { distinctCount: 1 })]), { task })), [
      'error:single-class:label',
    ]);
    assert.deepEqual(checks(detect(dataset([numeric('x'), numeric('label')]), { task })), []);
  });

  it('class imbalance is a warning above the configured ratio', () => {
    const found = detect(dataset([numeric('x'), categorical('label', { no: 94, yes: 6 })]));
    assert.deepEqual(checks(found), ['warning:class-imbalance:label']);
    assert.ok(Math.abs((found[0]?.observed as number) - 94 / 6) < 1e-12);
    assert.match(found[0]?.message ?? '', /"class-weights"/);
  });

  it('label leakage by AUC or correlation is an error, a warning when allowed', () => {
    const stats = dataset([
      numeric('leak', { labelAssociation: { auc: 0.999, aucMethod: 'rank' } }),
      numeric('corr', { labelAssociation: { correlation: -0.99 } }),
      numeric('fine', { labelAssociation: { auc: 0.8, correlation: 0.5 } }),
      label,
    ]);
    assert.deepEqual(checks(detect(stats)), ['error:label-leakage:leak', 'error:label-leakage:corr']);
    const allowed = detect(stats, { config: ValidationConfig.parse({ leakage: { allow: ['leak'] } }) });
    assert.deepEqual(checks(allowed), ['error:label-leakage:corr', 'warning:label-leakage:leak']);
    assert.match(allowed[0]?.message ?? '', /correlation with the label is -0.99 \(threshold ±0.98\)/);
  });

  describe('against a schema', () => {
    const reference = dataset([
      numeric('age', {}, { min: 0, max: 99 }),
      categorical('city', { paris: 50, rome: 50 }),
      numeric('income'),
      label,
    ]);
    const schema: DatasetSchema = inferSchema(reference);

    it('finds nothing when the data matches', () => {
      assert.deepEqual(detect(reference, { schema, schemaSource: 'champion' }), []);
    });

    it('missing required column, unexpected column, type mismatch with a fix-it hint', () => {
      const current = dataset([
        numeric('age', {}, { min: 0, max: 99 }),
        categorical('city', { paris: 50, rome: 50 }),
        categorical(
          'income',
          { '100': 95, 'n/a': 5 },
          {
            categorical: {
              categories: [
                { value: '100', count: 95 },
                { value: 'n/a', count: 5 },
              ],
              otherCount: 0,
              otherShare: 0,
              numericShare: 0.95,
              nonNumericExamples: ['n/a'],
            },
          },
        ),
        numeric('extra'),
        label,
      ]);
      const withoutAge = { ...current, columns: current.columns.filter((c) => c.name !== 'age') };
      const found = detect(withoutAge, { schema, schemaSource: 'champion' });
      assert.deepEqual(checks(found), [
        'error:missing-column:age',
        'error:type-mismatch:income',
        'warning:unexpected-column:extra',
      ]);
      assert.match(found[1]?.message ?? '', /95% of its values are numbers; fix values like "n\/a"/);
    });

    it('values out of range: a warning against the champion, an error against a provided schema', () => {
      const current = dataset([
        numeric('age', {}, { min: -3, max: 212 }),
        categorical('city', { paris: 50, rome: 50 }),
        numeric('income'),
        label,
      ]);
      assert.deepEqual(checks(detect(current, { schema, schemaSource: 'champion' })), ['warning:out-of-range:age']);
      const found = detect(current, { schema, schemaSource: 'provided' });
      assert.deepEqual(checks(found), ['error:out-of-range:age']);
      assert.match(found[0]?.message ?? '', /values from -3 to 212, outside the provided schema's range 0 to 99/);
    });

    it('share of unseen categories above the threshold', () => {
      const few = dataset([
        numeric('age', {}, { min: 0, max: 99 }),
        categorical('city', { paris: 48, rome: 49, oslo: 3 }),
        numeric('income'),
        label,
      ]);
      assert.deepEqual(detect(few, { schema, schemaSource: 'champion' }), []);
      const many = dataset([
        numeric('age', {}, { min: 0, max: 99 }),
        categorical('city', { paris: 40, rome: 40, oslo: 20 }),
        numeric('income'),
        label,
      ]);
      const found = detect(many, { schema, schemaSource: 'champion' });
      assert.deepEqual(checks(found), ['error:unseen-categories:city']);
      assert.equal(found[0]?.observed, 0.2);
      assert.match(found[0]?.message ?? '', /e\.g\. "oslo"/);
    });

    it('label classes the schema does not know', () => {
      const current = dataset([
        numeric('age', {}, { min: 0, max: 99 }),
        categorical('city', { paris: 50, rome: 50 }),
        numeric('income'),
        categorical('label', { yes: 50, maybe: 50 }),
      ]);
      assert.deepEqual(checks(detect(current, { schema, schemaSource: 'champion' })), ['error:label-classes:label']);
    });
  });

  describe('drift', () => {
    // 1,000 rows: x on two bins, c on two categories; the batch moves both far.
    const reference = dataset(
      [
        numeric('x', { count: 1000 }, { histogram: { edges: [0, 5, 10], counts: [500, 500] } }),
        categorical('c', { a: 500, b: 500 }),
        label,
      ],
      { rowCount: 1000 },
    );
    const shifted = dataset(
      [
        numeric(
          'x',
          { count: 200 },
          {
            histogram: { edges: [5, 10, 15], counts: [100, 100] },
            histogramOnReferenceBins: { edges: [0, 5, 10], counts: [20, 180] },
          },
        ),
        categorical('c', { a: 180, b: 20 }),
        label,
      ],
      { rowCount: 200 },
    );

    it('significant shifts above the floor become anomalies with the configured severity, and fill the drift table', () => {
      const report = detectAnomalies({
        statistics: shifted,
        reference,
        schemaSource: 'inferred',
        config,
        task: { type: 'binary', label: 'label' },
      });
      assert.deepEqual(checks(report.anomalies), ['warning:drift-psi:x', 'warning:drift-jensen-shannon:c']);
      assert.equal(report.drift?.outcome, 'judged');
      assert.deepEqual(
        report.drift?.columns.map((d) => [d.column, d.drifted]),
        [
          ['x', true],
          ['c', true],
          ['label', false],
        ],
      );
      assert.match(
        report.anomalies[0]?.message ?? '',
        /^Column "x" has drifted from the reference beyond chance and beyond the floor: PSI [\d.]+ > floor 0\.01, p [\d.e-]+ < 0\.005 after Holm/,
      );
      const strict = detectAnomalies({
        statistics: shifted,
        reference,
        schemaSource: 'inferred',
        config: ValidationConfig.parse({ drift: { severity: 'error' } }),
        task: { type: 'binary', label: 'label' },
      });
      assert.deepEqual(checks(strict.anomalies), ['error:drift-psi:x', 'error:drift-jensen-shannon:c']);
    });

    it('no drift against itself', () => {
      const same = dataset(
        [
          numeric('x', { count: 1000 }, { histogramOnReferenceBins: { edges: [0, 5, 10], counts: [500, 500] } }),
          categorical('c', { a: 500, b: 500 }),
          label,
        ],
        { rowCount: 1000 },
      );
      const report = detectAnomalies({
        statistics: same,
        reference,
        schemaSource: 'inferred',
        config,
        task: { type: 'binary', label: 'label' },
      });
      assert.deepEqual(report.anomalies, []);
      assert.ok(report.drift?.columns.every((d) => d.value < 1e-12 && !d.drifted));
    });

    it('a batch below validation.drift.minRows is not judged: no drift anomaly, and the table says why', () => {
      const small = dataset(shifted.columns, { rowCount: 60 });
      const report = detectAnomalies({
        statistics: small,
        reference,
        schemaSource: 'inferred',
        config,
        task: { type: 'binary', label: 'label' },
      });
      assert.deepEqual(
        checks(report.anomalies).filter((c) => c.includes('drift')),
        [],
      );
      assert.equal(report.drift?.outcome, 'too-few-rows');
      assert.match(report.drift?.note ?? '', /too few rows to judge drift: the batch has 60 rows/);
    });
  });

  it('lists errors before warnings', () => {
    const found = detect(dataset([numeric('k', { distinctCount: 1 }), numeric('r', {}, { nanCount: 1 }), label]));
    assert.deepEqual(
      found.map((a) => a.severity),
      ['error', 'warning'],
    );
  });
});
