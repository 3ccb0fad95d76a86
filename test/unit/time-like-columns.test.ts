import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ValidationConfig } from '../../contracts/stage-config';
import { detectAnomalies } from '../../lib/data/anomalies';
import type { DatasetTable } from '../../lib/data/dataset';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import type { ColumnStatistics, DatasetStatistics } from '../../lib/data/statistics';
import { profileTimeLikeColumns } from '../../lib/data/time-like-columns';
import { categoricalStatistics } from '../support/column-statistics';

describe('time-like columns: profiles in DuckDB', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb({ threads: 2 });
  });
  after(async () => {
    await session?.close();
  });

  it('names text date-times, their unparseable values and mixed zones; finds counters and numbers that rise with time', async () => {
    await session.run(
      `CREATE TABLE t AS SELECT
         CASE WHEN i = 7 THEN 'yesterday' WHEN i = 8 THEN '2001/04/31 10:00' ELSE strftime(TIMESTAMP '2001-01-01' + to_minutes(i * 37), '%Y/%m/%d %H:%M') END AS slashed,
         strftime(TIMESTAMP '2001-01-01' + to_hours(i), '%Y-%m-%dT%H:%M:%S') || CASE WHEN i % 3 = 0 THEN 'Z' WHEN i % 3 = 1 THEN '+02:00' ELSE '' END AS zoned,
         'city' || (i % 5) AS city,
         TIMESTAMP '2001-01-01' + to_hours(i) AS ts,
         CAST(1000 + i AS DOUBLE) AS id,
         CAST(978307200 + i * 3600 AS DOUBLE) AS epoch_number,
         (i * 7919) % 113 + 0.5 AS noise
       FROM range(300) r(i)`,
    );
    const table: DatasetTable = {
      table: 't',
      rowCount: 300,
      columns: [
        { name: 'slashed', type: 'text', duckdbType: 'VARCHAR' },
        { name: 'zoned', type: 'text', duckdbType: 'VARCHAR' },
        { name: 'city', type: 'categorical', duckdbType: 'VARCHAR' },
        { name: 'ts', type: 'timestamp', duckdbType: 'TIMESTAMP' },
        { name: 'id', type: 'numeric', duckdbType: 'DOUBLE' },
        { name: 'epoch_number', type: 'numeric', duckdbType: 'DOUBLE' },
        { name: 'noise', type: 'numeric', duckdbType: 'DOUBLE' },
      ],
    };
    const profile = await profileTimeLikeColumns(session, table, { timeColumn: 'ts' });
    assert.deepEqual(
      profile.textTimestamps.map((t) => t.column),
      ['slashed', 'zoned'],
    );
    const slashed = profile.textTimestamps[0]!;
    assert.equal(slashed.values, 300);
    assert.equal(slashed.parsed, 298);
    assert.deepEqual(slashed.unparseable, ['2001/04/31 10:00', 'yesterday']);
    assert.deepEqual(profile.textTimestamps[1]!.zones, [
      { zone: '', count: 100 },
      { zone: '+02:00', count: 100 },
      { zone: 'Z', count: 100 },
    ]);
    const sequences = Object.fromEntries(profile.numericSequences.map((n) => [n.column, n]));
    assert.equal(sequences.id?.integral, true);
    assert.ok((sequences.epoch_number?.timeCorrelation ?? 0) > 0.999);
    assert.equal(sequences.noise?.integral, false);
    assert.ok(Math.abs(sequences.noise?.timeCorrelation ?? 1) < 0.5);
  });
});

describe('time-like columns: validation findings', () => {
  const numeric = (name: string, distinctCount: number): ColumnStatistics => ({
    name,
    type: 'numeric',
    duckdbType: 'DOUBLE',
    count: 1000,
    missingCount: 0,
    missingFraction: 0,
    distinctCount,
    numeric: {
      min: 0,
      max: 1,
      mean: 0.5,
      std: 0.2,
      quantiles: [],
      nanCount: 0,
      infinityCount: 0,
      histogram: { edges: [0, 1], counts: [1000] },
    },
  });
  const timestamp: ColumnStatistics = {
    name: 'ts',
    type: 'timestamp',
    duckdbType: 'TIMESTAMP',
    count: 1000,
    missingCount: 0,
    missingFraction: 0,
    distinctCount: 1000,
    timestamp: { min: null, max: null },
  };
  const label = categoricalStatistics('label', { yes: 500, no: 500 });
  const statistics: DatasetStatistics = {
    version: 1,
    rowCount: 1000,
    columnCount: 5,
    duplicateRowCount: 0,
    duplicateRowShare: 0,
    columns: [numeric('id', 1000), numeric('epoch_number', 1000), numeric('price', 990), timestamp, label],
    label: { column: 'label', classes: label.categorical!.categories, missingCount: 0 },
  };
  const timeLike = {
    textTimestamps: [
      {
        column: 'when',
        values: 10,
        parsed: 9,
        unparseable: ['yesterday'],
        zones: [
          { zone: '', count: 6 },
          { zone: 'Z', count: 3 },
        ],
      },
    ],
    numericSequences: [
      { column: 'id', integral: true, timeCorrelation: 0.3 },
      { column: 'epoch_number', integral: true, timeCorrelation: 1 },
      { column: 'price', integral: false, timeCorrelation: 0.1 },
    ],
  };
  const detect = (modelInputs: Parameters<typeof detectAnomalies>[0]['modelInputs']) =>
    detectAnomalies({
      statistics,
      schemaSource: 'inferred',
      config: ValidationConfig.parse({}),
      task: { type: 'binary', label: 'label' },
      timeLike,
      ...(modelInputs ? { modelInputs } : {}),
    }).anomalies.filter((a) => ['timestamp-as-text', 'mixed-time-zones', 'time-as-number'].includes(a.check));

  it('warns (never fails) on text date-times naming the column, bad values and zones', () => {
    const found = detect(undefined);
    assert.deepEqual(
      found.map((a) => `${a.severity}:${a.check}:${a.column}`),
      ['warning:timestamp-as-text:when', 'warning:mixed-time-zones:when'],
    );
    assert.match(found[0]!.message, /1 of 10 values .* "yesterday"/);
    assert.match(found[1]!.message, /6 without a zone, 3 in Z/);
  });

  it('warns when an identifier, a number rising with time or a raw time column would enter the model as a number', () => {
    const found = detect({ timeColumn: 'ts', exclude: [], rawTimestamps: ['ts'] });
    assert.deepEqual(
      found.filter((a) => a.check === 'time-as-number').map((a) => a.column),
      ['id', 'epoch_number', 'ts'],
    );
    assert.match(found.find((a) => a.column === 'ts')!.message, /split's time column/);
    // Excluded columns and the default (no raw timestamps) are quiet; a continuous price is no identifier.
    const quiet = detect({ timeColumn: 'ts', exclude: ['id', 'epoch_number'], rawTimestamps: false });
    assert.deepEqual(
      quiet.filter((a) => a.check === 'time-as-number'),
      [],
    );
  });
});
