import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFromContent, formatFromName } from '../../lib/data/materialize';
import { looksNumeric } from '../../lib/data/statistics';

describe('dataset format detection', () => {
  it('by extension, with or without .gz, case-insensitively', () => {
    assert.equal(formatFromName('/tmp/x/data.csv'), 'csv');
    assert.equal(formatFromName('part-0.TSV.gz'), 'tsv');
    assert.equal(formatFromName('a.b.parquet'), 'parquet');
    assert.equal(formatFromName('rows.ndjson.gz'), 'jsonl');
    assert.equal(formatFromName('rows.jsonl'), 'jsonl');
    assert.equal(formatFromName('array.json'), 'json');
    assert.equal(formatFromName('export'), undefined);
    assert.equal(formatFromName('export.gz'), undefined);
    assert.equal(formatFromName('notes.txt'), undefined);
  });

  it('by content when the name does not tell', () => {
    const text = (s: string) => Buffer.from(s, 'utf8');
    assert.equal(formatFromContent(Buffer.concat([Buffer.from('PAR1'), Buffer.from([0, 1, 2])])), 'parquet');
    assert.equal(formatFromContent(text('  [{"a": 1}, {"a": 2}]')), 'json');
    assert.equal(formatFromContent(text('{"a": 1}\n{"a": 2}\n')), 'jsonl');
    assert.equal(formatFromContent(text('{\n  "rows": [1, 2]\n}')), 'json');
    assert.equal(formatFromContent(text('\uFEFFa,b,c\n1,2,3\n')), 'csv');
    assert.equal(formatFromContent(text('a\tb\tc, with a comma\n1\t2\t3\n')), 'tsv');
    assert.equal(formatFromContent(Buffer.from([0x00, 0xff, 0x10, 0x00])), undefined);
    assert.equal(formatFromContent(Buffer.alloc(0)), undefined);
  });
});

describe('looksNumeric', () => {
  it('accepts what a number column holds and refuses the rest', () => {
    for (const v of ['1', '-2.5', '+.5', '1e-3', ' 42 ', 'NaN', 'inf', '-Infinity', '3.'])
      assert.ok(looksNumeric(v), v);
    for (const v of ['', 'n/a', '1,000', '12kg', '0x1f', '--1', 'one']) assert.ok(!looksNumeric(v), v);
  });
});
