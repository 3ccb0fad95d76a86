import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ArtifactRef } from '../../contracts/artifacts';
import { PreprocessConfig } from '../../contracts/stage-config';
import {
  calendarPhases,
  civilFromDays,
  epochSecondsOf,
  writeCalendarFeatures,
  type CalendarPart,
} from '../../lib/data/calendar-features';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { encodeColumns } from '../../lib/data/encode-columns';
import { fitPreprocessor } from '../../lib/data/preprocessor';
import type { CalendarFeature, PreprocessorSpec } from '../../lib/data/preprocessor-spec';
import { openSplitBatches, readSplitColumns } from '../../lib/data/split-batches';
import { FsArtifactStore } from '../../lib/store/fs-store';

const epoch = (iso: string) => Date.parse(iso) / 1000;
const close = (actual: number | undefined, expected: number, tolerance = 1e-6) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

describe('calendar features (UTC)', () => {
  it('known timestamps give known phases', () => {
    // 2001-01-14 was a Sunday (Monday = 0, so 6).
    const sunday = calendarPhases(epoch('2001-01-14T21:55:00Z'));
    close(sunday.hour, (21 * 3600 + 55 * 60) / 86_400, 1e-12);
    close(sunday['day-of-week'], 6 / 7, 1e-12);
    close(sunday['day-of-month'], 13 / 31, 1e-12);
    close(sunday.month, 0, 1e-12);
    // A leap day, a Tuesday, at midnight.
    const leap = calendarPhases(epoch('2000-02-29T00:00:00Z'));
    assert.deepEqual(leap, { hour: 0, 'day-of-week': 1 / 7, 'day-of-month': 28 / 29, month: 1 / 12 });
    // Before 1970: Wednesday 31 December 1969, 23:00.
    const before1970 = calendarPhases(epoch('1969-12-31T23:00:00Z'));
    assert.deepEqual(before1970, { hour: 23 / 24, 'day-of-week': 2 / 7, 'day-of-month': 30 / 31, month: 11 / 12 });
  });

  it('writes sin and cos per part, and (0, 0) for a missing time', () => {
    const parts: CalendarPart[] = ['hour', 'month'];
    const out = new Float32Array(5).fill(9);
    writeCalendarFeatures(epoch('2001-04-01T06:00:00Z'), parts, out, 1);
    close(out[1], 1); // 06:00 is a quarter turn: sin 1, cos 0
    close(out[2], 0);
    close(out[3], Math.sin((2 * Math.PI * 3) / 12)); // April
    close(out[4], Math.cos((2 * Math.PI * 3) / 12));
    writeCalendarFeatures(Number.NaN, parts, out, 1);
    assert.deepEqual(Array.from(out), [9, 0, 0, 0, 0]);
  });

  it('the civil date matches Date.UTC for any day from year -9999 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -4_371_587, max: 2_932_896 }), (days) => {
        const date = new Date(days * 86_400_000);
        assert.deepEqual(civilFromDays(days), {
          year: date.getUTCFullYear(),
          month: date.getUTCMonth() + 1,
          day: date.getUTCDate(),
        });
      }),
      { numRuns: 5000 },
    );
  });

  it('zone-less ISO strings are UTC, whatever the process time zone; offsets are honoured', () => {
    assert.equal(epochSecondsOf('2001-01-14 21:55'), epoch('2001-01-14T21:55:00Z'));
    assert.equal(epochSecondsOf('2001-01-14T21:55:30.5'), epoch('2001-01-14T21:55:30.5Z'));
    assert.equal(epochSecondsOf('2001-01-14'), epoch('2001-01-14T00:00:00Z'));
    assert.equal(epochSecondsOf('2001-01-14T21:55:00+02:00'), epoch('2001-01-14T19:55:00Z'));
    assert.equal(epochSecondsOf(979_509_300), 979_509_300);
    assert.ok(Number.isNaN(epochSecondsOf('not a time')));
    assert.ok(Number.isNaN(epochSecondsOf(null)));
  });
});

describe('calendar features in fitPreprocessor, and train/serve equality', () => {
  let session: DuckDbSession;
  let root: string;
  before(async () => {
    session = await openDuckDb({ threads: 2 });
    root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-calendar-test-'));
  });
  after(async () => {
    await session?.close();
    await rm(root, { recursive: true, force: true });
  });

  /** 200 rows: `ts` a TIMESTAMP every 7h13m from 2001-01-01, `midnight` a TIMESTAMP always at 00:00, `day` a DATE, `city` text, `y` the label. */
  async function flightsLike(table: string): Promise<{ name: string; duckdbType: string }[]> {
    await session.run(
      `CREATE OR REPLACE TABLE ${table} AS
       SELECT make_timestamp(CAST((978307200 + i * 25980) AS BIGINT) * 1000000) AS ts,
              make_timestamp(CAST((978307200 + (i % 40) * 86400) AS BIGINT) * 1000000) AS midnight,
              CAST(DATE '2001-01-01' + CAST(i % 90 AS INTEGER) AS DATE) AS "day",
              'city' || (i % 3) AS city,
              CASE WHEN i % 4 = 0 THEN 'late' ELSE 'on time' END AS y
       FROM range(200) AS r(i)`,
    );
    return (await session.all<{ column_name: string; column_type: string }>(`DESCRIBE ${table}`)).map((c) => ({
      name: c.column_name,
      duckdbType: c.column_type,
    }));
  }

  it('a DATE has no hour, a column always at midnight skips it; the time column is excluded under a time split', async () => {
    const columns = await flightsLike('cal');
    const spec = await fitPreprocessor(session, {
      relation: 'cal',
      columns,
      labelColumn: 'y',
      taskType: 'binary',
      config: PreprocessConfig.parse({}),
      timeColumn: 'ts',
    });
    const calendar = (name: string) =>
      spec.features.find((f): f is CalendarFeature => f.kind === 'calendar' && f.column === name);
    assert.deepEqual(calendar('ts')?.parts, ['hour', 'day-of-week', 'day-of-month', 'month']);
    assert.deepEqual(calendar('midnight')?.parts, ['day-of-week', 'day-of-month', 'month']);
    assert.deepEqual(calendar('day')?.parts, ['day-of-week', 'day-of-month', 'month']);
    // By default ("auto") only the split's time column loses its raw epoch, and says why; other dates keep
    // theirs (a car's model year is signal). `false` leaves every raw epoch out.
    assert.deepEqual(
      spec.features.filter((f) => f.kind === 'numeric').map((f) => f.column),
      ['midnight', 'day'],
    );
    const none = await fitPreprocessor(session, {
      relation: 'cal',
      columns,
      labelColumn: 'y',
      taskType: 'binary',
      config: PreprocessConfig.parse({ rawTimestamps: false }),
      timeColumn: 'ts',
    });
    assert.ok(!none.features.some((f) => f.kind === 'numeric'), JSON.stringify(none.features.map((f) => f.kind)));
    const reason = spec.excluded.find((e) => e.column === 'ts')?.reason ?? '';
    assert.match(reason, /split's time column/);
    assert.ok(!spec.excluded.some((e) => e.column === 'midnight' || e.column === 'day'));
    assert.match(spec.notes.join('\n'), /"midnight": hour is constant in train/);
    assert.ok(spec.featureNames.includes('ts.hour.sin') && spec.featureNames.includes('day.month.cos'));

    // Without a time split, ts is not excluded; rawTimestamps opts its raw value in (as a numeric feature after the calendar one).
    const raw = await fitPreprocessor(session, {
      relation: 'cal',
      columns,
      labelColumn: 'y',
      taskType: 'binary',
      config: PreprocessConfig.parse({ rawTimestamps: ['ts'] }),
      timeColumn: 'ts',
    });
    assert.deepEqual(
      raw.features.filter((f) => f.column === 'ts').map((f) => f.kind),
      ['calendar', 'numeric'],
    );
    assert.ok(!raw.excluded.some((e) => e.column === 'ts'));
    await assert.rejects(
      fitPreprocessor(session, {
        relation: 'cal',
        columns,
        labelColumn: 'y',
        taskType: 'binary',
        config: PreprocessConfig.parse({ rawTimestamps: ['city'] }),
      }),
      /not a date or timestamp/,
    );
  });

  it('known rows encode to known features', async () => {
    const columns = await flightsLike('cal2');
    const spec = await fitPreprocessor(session, {
      relation: 'cal2',
      columns,
      labelColumn: 'y',
      taskType: 'binary',
      config: PreprocessConfig.parse({}),
    });
    const at = spec.featureNames.indexOf('ts.hour.sin');
    const rows = { ts: ['2001-01-14 21:55'], midnight: [null], day: ['2001-03-01'], city: ['city1'], y: ['late'] };
    const { x } = encodeColumns(spec, rows, 1);
    const phase = (21 * 60 + 55) / (24 * 60);
    close(x[at], Math.sin(2 * Math.PI * phase));
    close(x[at + 1], Math.cos(2 * Math.PI * phase));
    close(x[spec.featureNames.indexOf('ts.day-of-week.sin')], Math.sin((2 * Math.PI * 6) / 7));
    close(x[spec.featureNames.indexOf('day.month.cos')], Math.cos((2 * Math.PI * 2) / 12));
    close(x[spec.featureNames.indexOf('day.day-of-month.sin')], 0);
    assert.equal(x[spec.featureNames.indexOf('midnight.month.sin')], 0); // missing → (0, 0)
    assert.equal(x[spec.featureNames.indexOf('midnight.month.cos')], 0);
  });

  it('train/serve equality: the train reader, the evaluation reader and raw JSON rows encode identically', async () => {
    const columns = await flightsLike('cal3');
    await session.run(`ALTER TABLE cal3 ADD COLUMN airport VARCHAR`);
    await session.run(`UPDATE cal3 SET airport = 'A' || (hash(ts) % 60)`); // 60 categories: target + frequency encoded
    const file = path.join(root, 'cal3.parquet');
    await session.run(`COPY cal3 TO '${file}' (FORMAT parquet)`);
    const store = new FsArtifactStore(path.join(root, 'store'));
    await store.ensureReady();
    const put = await store.put('splits/test.parquet', await readFile(file));
    const split: ArtifactRef = { kind: 'split', uri: put.uri, sha256: put.sha256, bytes: put.bytes };
    const all = [...columns.map((c) => c.name), 'airport'];
    const spec: PreprocessorSpec = await fitPreprocessor(session, {
      relation: 'cal3',
      columns: [...columns, { name: 'airport', duckdbType: 'VARCHAR' }],
      labelColumn: 'y',
      taskType: 'binary',
      config: PreprocessConfig.parse({ rawTimestamps: ['midnight'], oneHotMaxCardinality: 20 }),
      fittedOn: { sha256: 'the train split, not this one' },
    });
    assert.ok(spec.features.some((f) => f.kind === 'category-statistics' && f.target));
    const specPut = await store.put('preprocessor.json', JSON.stringify(spec));
    const preprocessor: ArtifactRef = {
      kind: 'preprocessor',
      uri: specPut.uri,
      sha256: specPut.sha256,
      bytes: specPut.bytes,
    };

    // The train path: DuckDB → openSplitBatches → encodeColumns.
    const source = await openSplitBatches(store, split, preprocessor);
    const trainPath: number[] = [];
    for await (const batch of source.batches(64)) trainPath.push(...batch.x);
    await source.close();
    // The evaluation (scorer) path: readSplitColumns → encodeColumns.
    const read = await readSplitColumns(store, split);
    const scorerPath = Array.from(encodeColumns(spec, read.columns, read.rows).x);
    // Serving: rows as JSON would carry them, timestamps as ISO strings without a zone.
    const rows = await session.all<Record<string, string | null>>(
      `SELECT ${all.map((c) => `CAST("${c}" AS VARCHAR) AS "${c}"`).join(', ')} FROM read_parquet('${file}')`,
    );
    const json: Record<string, (string | null)[]> = Object.fromEntries(
      all.map((c) => [c, rows.map((r) => r[c] ?? null)]),
    );
    const servingPath = Array.from(encodeColumns(spec, json, rows.length).x);

    assert.equal(trainPath.length, 200 * spec.featureCount);
    assert.deepEqual(scorerPath, trainPath);
    assert.deepEqual(servingPath, trainPath);
  });
});
