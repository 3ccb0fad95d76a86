import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeZodIssues } from '../../contracts/errors';
import { DatasetSchema, inferSchema } from '../../lib/data/schema';
import type { DatasetStatistics } from '../../lib/data/statistics';

describe('DatasetSchema (zod)', () => {
  it('reads a hand-written schema, filling defaults', () => {
    const schema = DatasetSchema.parse({
      columns: [
        { name: 'age', type: 'numeric', range: { min: 0, max: 120 } },
        { name: 'city', type: 'categorical', domain: ['paris', 'rome'], required: false },
      ],
      label: { column: 'churned', classes: ['no', 'yes'] },
    });
    assert.equal(schema.version, 1);
    assert.deepEqual(schema.columns[0], {
      name: 'age',
      type: 'numeric',
      required: true,
      nullable: true,
      range: { min: 0, max: 120 },
    });
    assert.equal(schema.columns[1]?.required, false);
  });

  it('names every bad field and what was expected', () => {
    const result = DatasetSchema.safeParse({
      version: 2,
      columns: [
        { name: 'age', type: 'number', range: { min: 5, max: 1 } },
        { name: 'age', type: 'numeric', sql: 'DROP TABLE x' },
      ],
    });
    assert.equal(result.success, false);
    const problems = describeZodIssues(result.error!);
    const paths = problems.map((p) => p.path);
    assert.ok(paths.includes('version'), JSON.stringify(problems));
    assert.ok(paths.includes('columns.0.type'), JSON.stringify(problems));
    assert.ok(
      problems.some((p) => p.path === 'columns.0.range' && /range.min must be at most range.max/.test(p.message)),
      JSON.stringify(problems),
    );
    assert.ok(
      problems.some((p) => p.path === 'columns.1' && /sql/.test(p.message)),
      JSON.stringify(problems),
    );
  });

  it('refuses duplicate column names and an empty column list', () => {
    const duplicate = DatasetSchema.safeParse({
      columns: [
        { name: 'a', type: 'text' },
        { name: 'a', type: 'text' },
      ],
    });
    assert.match(JSON.stringify(duplicate.error?.issues), /column names must be unique/);
    assert.equal(DatasetSchema.safeParse({ columns: [] }).success, false);
  });

  it('infers types, nullability, ranges, closed categorical domains and label classes from statistics', () => {
    const statistics: DatasetStatistics = {
      version: 1,
      rowCount: 10,
      columnCount: 4,
      duplicateRowCount: 0,
      duplicateRowShare: 0,
      columns: [
        {
          name: 'x',
          type: 'numeric',
          duckdbType: 'DOUBLE',
          count: 9,
          missingCount: 1,
          missingFraction: 0.1,
          distinctCount: 9,
          numeric: {
            min: -1,
            max: 4,
            mean: 1,
            std: 1,
            quantiles: [],
            nanCount: 0,
            infinityCount: 0,
            histogram: { edges: [-1, 4], counts: [9] },
          },
        },
        {
          name: 'c',
          type: 'categorical',
          duckdbType: 'VARCHAR',
          count: 10,
          missingCount: 0,
          missingFraction: 0,
          distinctCount: 2,
          categorical: {
            categories: [
              { value: 'b', count: 6 },
              { value: 'a', count: 4 },
            ],
            otherCount: 0,
            otherShare: 0,
            numericShare: 0,
            nonNumericExamples: [],
          },
        },
        {
          name: 'open',
          type: 'categorical',
          duckdbType: 'VARCHAR',
          count: 10,
          missingCount: 0,
          missingFraction: 0,
          distinctCount: 2000,
          categorical: {
            categories: [{ value: 'z', count: 1 }],
            otherCount: 9,
            otherShare: 0.9,
            numericShare: 0,
            nonNumericExamples: [],
          },
        },
        {
          name: 'y',
          type: 'boolean',
          duckdbType: 'BOOLEAN',
          count: 10,
          missingCount: 0,
          missingFraction: 0,
          distinctCount: 2,
          boolean: { trueCount: 4, falseCount: 6 },
        },
      ],
      label: {
        column: 'y',
        classes: [
          { value: 'false', count: 6 },
          { value: 'true', count: 4 },
        ],
        missingCount: 0,
      },
    };
    const schema = inferSchema(statistics);
    assert.deepEqual(schema, {
      version: 1,
      columns: [
        { name: 'x', type: 'numeric', required: true, nullable: true, range: { min: -1, max: 4 } },
        { name: 'c', type: 'categorical', required: true, nullable: false, domain: ['a', 'b'] },
        { name: 'open', type: 'categorical', required: true, nullable: false },
        { name: 'y', type: 'boolean', required: true, nullable: false },
      ],
      label: { column: 'y', classes: ['false', 'true'] },
    });
    // What we write, we can read back.
    assert.deepEqual(DatasetSchema.parse(JSON.parse(JSON.stringify(schema))), schema);
  });
});
