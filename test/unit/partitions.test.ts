import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import { DomainError } from '../../contracts/errors';
import { applicationFailureOf } from '../../contracts/failures';
import type { PartitionSelection } from '../../contracts/stage-config';
import { choosePartitions, partitionDate, partitionOf } from '../../lib/data/partitions';

const URI = 's3://trainyard/datasets/events/';
const asOf = new Date('2026-11-22T10:00:00Z');
const choose = (names: string[], selection: PartitionSelection, at = asOf) =>
  choosePartitions({ uri: URI, names, selection, asOf: at });

/** The Temporal failure a workflow sees for what `fn` throws (lib throws domain errors; activities map them). */
function failureOf(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    return applicationFailureOf(error);
  }
  assert.fail('expected a failure');
}

describe('partitionDate', () => {
  it('reads dates from Hive-style, plain and compact names, and from file names', () => {
    const day = Date.UTC(2026, 10, 20);
    for (const name of [
      'date=2026-11-20',
      '2026-11-20',
      'dt=20261120',
      '20261120',
      '2026-11-20.csv',
      'day=2026-11-20.parquet.gz',
    ]) {
      assert.equal(partitionDate(name)?.getTime(), day, name);
    }
  });

  it('reads times of day, including Hive-escaped colons', () => {
    const at = Date.UTC(2026, 10, 20, 13, 5, 0);
    assert.equal(partitionDate('hour=2026-11-20T13:05')?.getTime(), at);
    assert.equal(partitionDate('ts=2026-11-20T13%3A05%3A00Z')?.getTime(), at);
    assert.equal(partitionDate('2026-11-20 13:05:00')?.getTime(), at);
    assert.equal(partitionDate('dt=20261120T1305')?.getTime(), at);
  });

  it('leaves names without a real date undated', () => {
    for (const name of [
      'batch-7',
      'part-00001.parquet',
      '2026-02-30',
      '2026-13-01',
      'dt=12345678',
      '2026-11-20-backup',
      'v2026-11-20',
      '2026-11-20T25',
    ]) {
      assert.equal(partitionDate(name), undefined, name);
    }
  });

  it('round-trips every date written in each supported style (property)', () => {
    const day = fc
      .integer({ min: Date.UTC(1970, 0, 1) / 86_400_000, max: Date.UTC(2999, 11, 31) / 86_400_000 })
      .map((d) => new Date(d * 86_400_000));
    fc.assert(
      fc.property(day, fc.constantFrom('date=', 'dt=', ''), fc.boolean(), (date, key, compact) => {
        const iso = date.toISOString().slice(0, 10);
        const name = `${key}${compact ? iso.replaceAll('-', '') : iso}`;
        assert.equal(partitionDate(name)?.getTime(), date.getTime(), name);
      }),
    );
  });
});

describe('partitionOf', () => {
  it('names the partition of a file: its first folder, or itself directly under the prefix', () => {
    assert.equal(partitionOf('date=2026-11-20/part-0.csv'), 'date=2026-11-20');
    assert.equal(partitionOf('date=2026-11-20/hour=01/part-0.csv'), 'date=2026-11-20');
    assert.equal(partitionOf('2026-11-20.csv'), '2026-11-20.csv');
  });
});

describe('choosePartitions', () => {
  const days = ['date=2026-11-19', 'date=2026-11-20', 'date=2026-11-21', 'date=2026-11-22', 'date=2026-11-23'];

  it('"latest" is the newest partition dated at or before asOf', () => {
    assert.deepEqual(choose(days, 'latest'), ['date=2026-11-22']);
    assert.deepEqual(choose(days, 'latest', new Date('2026-11-21T23:59:59Z')), ['date=2026-11-21']);
    assert.deepEqual(
      choose(days, 'latest', new Date('2026-11-21T00:00:00Z')),
      ['date=2026-11-21'],
      'a partition dated exactly asOf is due',
    );
  });

  it('a window holds the partitions dated in (asOf − window, asOf], oldest first', () => {
    // asOf − 2d = 11-20T10:00, so 11-20 (midnight) falls outside, 11-21 and 11-22 inside, 11-23 is in the future.
    assert.deepEqual(choose([...days].reverse(), { window: '2d' }), ['date=2026-11-21', 'date=2026-11-22']);
    assert.deepEqual(choose(days, { window: '2d' }, new Date('2026-11-22T00:00:00Z')), [
      'date=2026-11-21',
      'date=2026-11-22',
    ]);
    assert.deepEqual(choose(days, { window: '3d' }, new Date('2026-11-22T00:00:00Z')), [
      'date=2026-11-20',
      'date=2026-11-21',
      'date=2026-11-22',
    ]);
  });

  it('"all" returns every partition, dated ones oldest first, then undated ones by name', () => {
    assert.deepEqual(choose(['b', 'dt=20261121', 'a', '2026-11-20'], 'all'), ['2026-11-20', 'dt=20261121', 'a', 'b']);
  });

  it('orders by date, not by name, when naming styles mix', () => {
    assert.deepEqual(choose(['dt=20261121', 'date=2026-11-22', '2026-11-20'], { window: '7d' }), [
      '2026-11-20',
      'dt=20261121',
      'date=2026-11-22',
    ]);
  });

  it('ignores undated names beside dated ones', () => {
    assert.deepEqual(choose([...days, 'staging', 'zzz'], 'latest'), ['date=2026-11-22']);
  });

  it('over undated names, "latest" is the lexicographically last and a window is a config error naming dataset.partitions', () => {
    assert.deepEqual(choose(['batch-001', 'batch-003', 'batch-002'], 'latest'), ['batch-003']);
    const failure = failureOf(() => choose(['batch-001', 'batch-002'], { window: '7d' }));
    assert.equal(failure.type, 'InvalidPipelineConfig');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /^dataset\.partitions: a window of 7d needs partitions named by date/);
    assert.match(failure.message, /batch-001, batch-002/);
  });

  it('choosing nothing is DatasetNotFound with what there was and what to change', () => {
    const early = failureOf(() => choose(days, 'latest', new Date('2026-11-18T12:00:00Z')));
    assert.equal(early.type, 'DatasetNotFound');
    assert.equal(early.nonRetryable, true);
    assert.match(early.message, /no partition is dated on or before 2026-11-18T12:00:00\.000Z/);
    assert.match(early.message, /5 dated partitions, date=2026-11-19 … date=2026-11-23/);
    assert.match(early.message, /change dataset\.partitions/);
    const gap = failureOf(() => choose(days, { window: '1h' }, new Date('2026-11-22T10:00:00Z')));
    assert.equal(gap.type, 'DatasetNotFound');
    assert.match(gap.message, /in the 1h up to 2026-11-22T10:00:00\.000Z/);
    assert.equal(failureOf(() => choose([], 'latest')).type, 'DatasetNotFound');
  });

  it('{ names } reads exactly the named partitions, and fails naming any that is missing', () => {
    assert.deepEqual(choose(days, { names: ['date=2026-11-23', 'date=2026-11-19'] }), [
      'date=2026-11-19',
      'date=2026-11-23',
    ]);
    const missing = failureOf(() => choose(days, { names: ['date=2026-11-19', 'date=2030-01-01'] }));
    assert.equal(missing.type, 'DatasetNotFound');
    assert.match(missing.message, /it has no partition "date=2030-01-01"/);
  });

  const DAY_MS = 86_400_000;
  const dayNames = fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 20 }).map((offsets) =>
    offsets.map((d) => ({
      name: `date=${new Date(Date.UTC(2026, 0, 1) + d * DAY_MS).toISOString().slice(0, 10)}`,
      time: Date.UTC(2026, 0, 1) + d * DAY_MS,
    })),
  );
  const asOfArb = fc.integer({ min: Date.UTC(2025, 11, 25), max: Date.UTC(2026, 2, 10) }).map((t) => new Date(t));

  it('a window returns exactly the dated partitions in (asOf − window, asOf], sorted, whatever the input order (property)', () => {
    fc.assert(
      fc.property(dayNames, asOfArb, fc.integer({ min: 1, max: 30 }), (partitions, at, windowDays) => {
        const expected = partitions
          .filter((p) => p.time > at.getTime() - windowDays * DAY_MS && p.time <= at.getTime())
          .sort((a, b) => a.time - b.time)
          .map((p) => p.name);
        const shuffled = [...partitions].reverse().map((p) => p.name);
        let actual: string[];
        try {
          actual = choose(shuffled, { window: `${windowDays}d` }, at);
        } catch (error) {
          assert.equal((error as DomainError).type, 'DatasetNotFound');
          actual = [];
        }
        assert.deepEqual(actual, expected);
      }),
    );
  });

  it('"latest" is due and nothing due is newer (property)', () => {
    fc.assert(
      fc.property(dayNames, asOfArb, (partitions, at) => {
        const due = partitions.filter((p) => p.time <= at.getTime());
        if (due.length === 0) {
          assert.equal(
            failureOf(() =>
              choose(
                partitions.map((p) => p.name),
                'latest',
                at,
              ),
            ).type,
            'DatasetNotFound',
          );
          return;
        }
        const [chosen] = choose(
          partitions.map((p) => p.name),
          'latest',
          at,
        );
        const time = partitions.find((p) => p.name === chosen)?.time as number;
        assert.ok(time <= at.getTime());
        assert.ok(due.every((p) => p.time <= time));
      }),
    );
  });
});
