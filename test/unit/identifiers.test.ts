import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadDataset } from '../../lib/data/dataset';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { quoteIdentifier, quoteStringLiteral } from '../../lib/data/identifiers';
import type { LocalDataset } from '../../lib/data/materialize';
import { computeStatistics } from '../../lib/data/statistics';

const HOSTILE_NAMES = [
  'plain',
  'with space',
  'a"b',
  '"',
  '""',
  'x"; DROP TABLE victim; --',
  "it's",
  'semi;colon',
  'line\nbreak',
  'tab\there',
  'ünïcødé 名前 🚀',
  '-- comment',
  '/* block */',
  'select',
  '$1',
  '?',
  'x'.repeat(10_000),
];

describe('quoteIdentifier', () => {
  it('double-quotes and doubles embedded quotes', () => {
    assert.equal(quoteIdentifier('income'), '"income"');
    assert.equal(quoteIdentifier('a"b'), '"a""b"');
    assert.equal(quoteIdentifier('x"; DROP TABLE t; --'), '"x""; DROP TABLE t; --"');
  });

  it('refuses NUL and empty names', () => {
    assert.throws(() => quoteIdentifier('a\0b'), /NUL/);
    assert.throws(() => quoteIdentifier(''), /empty/);
  });

  describe('against DuckDB', () => {
    let session: DuckDbSession;
    before(async () => {
      session = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
      await session.run('CREATE TABLE victim AS SELECT 1 AS survived');
    });
    after(() => session.close());

    it('keeps every hostile name a name: columns are created, read back, and nothing else runs', async () => {
      const columns = HOSTILE_NAMES.map((name, i) => `${i} AS ${quoteIdentifier(name)}`).join(', ');
      await session.run(`CREATE TABLE hostile AS SELECT ${columns}`);
      const described = await session.all<{ column_name: string }>('DESCRIBE hostile');
      assert.deepEqual(
        described.map((c) => c.column_name),
        HOSTILE_NAMES,
      );
      for (const [i, name] of HOSTILE_NAMES.entries()) {
        const rows = await session.all<{ v: number }>(`SELECT ${quoteIdentifier(name)} AS v FROM hostile`);
        assert.equal(rows[0]?.v, i);
      }
      assert.deepEqual(await session.all('SELECT survived FROM victim'), [{ survived: 1 }]);
    });

    it('quoteStringLiteral keeps any NUL-free string a value (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'binary', maxLength: 64 }).filter((s) => !s.includes('\0')),
          async (value) => {
            const rows = await session.all<{ v: string }>(`SELECT ${quoteStringLiteral(value)} AS v`);
            assert.equal(rows[0]?.v, value);
          },
        ),
        { numRuns: 200 },
      );
      assert.throws(() => quoteStringLiteral('a\0b'), /NUL/);
      assert.equal(quoteStringLiteral("it's"), "'it''s'");
    });

    it('round-trips any NUL-free string (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }).filter((s) => !s.includes('\0')),
          async (name) => {
            const rows = await session.all<Record<string, number>>(`SELECT 42 AS ${quoteIdentifier(name)}`);
            assert.deepEqual(Object.keys(rows[0] ?? {}), [name]);
          },
        ),
        { numRuns: 200 },
      );
    });

    it('loads a CSV whose header is hostile and profiles it, label derived from a hostile column with a hostile value', async () => {
      const directory = await mkdtemp(path.join(os.tmpdir(), 'trainyard-hostile-'));
      try {
        const header = ['x"; DROP TABLE victim; --', 'line\nbreak', 'y'.repeat(10_000), 'kind'];
        const csvCell = (v: string) => `"${v.replaceAll('"', '""')}"`;
        const lines = [header.map(csvCell).join(',')];
        for (let i = 0; i < 40; i += 1)
          lines.push(
            [i, i * 2, i % 7, i % 2 === 0 ? "a'; DROP TABLE victim; --" : 'b'].map((v) => csvCell(String(v))).join(','),
          );
        const file = path.join(directory, 'hostile.csv');
        await writeFile(file, `${lines.join('\n')}\n`);
        const local: LocalDataset = {
          uri: 'file:///hostile.csv',
          files: [file],
          format: 'csv',
          compressed: false,
          bytes: 0,
          cleanup: async () => {},
        };
        const table = await loadDataset(session, local, {
          label: { column: 'kind', op: '==', value: "a'; DROP TABLE victim; --", name: 'label"; --' },
          tableName: 'hostile csv"; --',
        });
        assert.deepEqual(
          table.columns.map((c) => c.name),
          [...header, 'label"; --'],
        );
        assert.equal(table.labelColumn, 'label"; --');
        const statistics = await computeStatistics(session, table, { task: 'binary' });
        assert.equal(statistics.rowCount, 40);
        assert.deepEqual(statistics.label?.classes?.map((c) => [c.value, c.count]).sort(), [
          ['false', 20],
          ['true', 20],
        ]);
        assert.equal(statistics.columns.find((c) => c.name === header[0])?.numeric?.max, 39);
        assert.deepEqual(await session.all('SELECT survived FROM victim'), [{ survived: 1 }]);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
  });
});
