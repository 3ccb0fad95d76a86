import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { InvalidArtifactKeyError } from '../../lib/store/artifact-store';
import { fileUri, MAX_KEY_BYTES, parseArtifactUri, s3Uri, validateKey, validatePrefix } from '../../lib/store/keys';

/** Asserts `action` throws InvalidArtifactKeyError whose message names the subject and matches the rule. */
function assertRejected(action: () => unknown, subject: string, rule: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof InvalidArtifactKeyError, `expected InvalidArtifactKeyError, got ${String(error)}`);
    assert.equal(error.key, subject);
    assert.match(error.message, rule);
    assert.ok(
      error.message.includes(JSON.stringify(subject.length > 200 ? `${subject.slice(0, 200)}…` : subject)),
      error.message,
    );
    return true;
  });
}

const CONTROL_CHARACTERS = [...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)), '\u007f'];

/** One path segment that every rule accepts: any Unicode except "/", "\", controls, "." and "..". */
const segment = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 12 })
  .filter((s) => !/[/\\\u0000-\u001f\u007f]/.test(s) && s !== '.' && s !== '..');
const validKey = fc
  .array(segment, { minLength: 1, maxLength: 6 })
  .map((segments) => segments.join('/'))
  .filter((key) => Buffer.byteLength(key) <= MAX_KEY_BYTES);
const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/);

describe('validateKey', () => {
  it('accepts ordinary artifact keys and returns them', () => {
    for (const key of [
      'models/iris/v1/model.json',
      'datasets/iris.csv',
      'a',
      '.hidden/x',
      'runs/2024-01-01T00:00:00Z/split.parquet',
      'ü/模型/🚂.bin',
      'a b/c#d?e%f',
    ]) {
      assert.equal(validateKey(key), key);
    }
  });

  it('accepts every key built from valid segments (property)', () => {
    fc.assert(fc.property(validKey, (key) => validateKey(key) === key));
  });

  it('names each rejected class in its message', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /must not be empty/],
      ['/etc/passwd', /must be relative: no leading "\/" \(absolute path\)/],
      ['models\\iris', /must not contain a backslash/],
      ['models/../secrets', /must not contain "\." or "\.\." segments/],
      ['..', /must not contain "\." or "\.\." segments/],
      ['./model', /must not contain "\." or "\.\." segments/],
      ['models//iris', /must not contain empty segments/],
      ['models/iris/', /must not end with "\/"/],
      ['models/\ud800x', /lone surrogate/],
      ['x'.repeat(MAX_KEY_BYTES + 1), /at most 1024 bytes in UTF-8, got 1025/],
    ];
    for (const [key, rule] of cases) assertRejected(() => validateKey(key), key, rule);
  });

  it('rejects each control character, naming its code point', () => {
    for (const control of CONTROL_CHARACTERS) {
      const key = `models/a${control}b`;
      const codePoint = `U+${control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
      assertRejected(
        () => validateKey(key),
        key,
        new RegExp(`control characters .*found ${codePoint.replace('+', '\\+')} at index 8`),
      );
    }
  });

  it('measures length in UTF-8 bytes, not characters', () => {
    assert.equal(validateKey('é'.repeat(512)), 'é'.repeat(512)); // 1024 bytes
    assertRejected(() => validateKey('é'.repeat(513)), 'é'.repeat(513), /got 1026/);
    assertRejected(() => validateKey('🚂'.repeat(257)), '🚂'.repeat(257), /got 1028/);
  });

  it('rejects a valid key with one bad character spliced in, for that character’s rule (property)', () => {
    const defects: Array<[string, RegExp]> = [
      ['\\', /backslash/],
      ...CONTROL_CHARACTERS.map((c): [string, RegExp] => [c, /control characters/]),
    ];
    fc.assert(
      fc.property(validKey, fc.nat(), fc.constantFrom(...defects), (key, at, [defect, rule]) => {
        const codePoints = [...key]; // never split a surrogate pair
        const cut = codePoints.slice(0, at % (codePoints.length + 1)).join('').length;
        const bad = `${key.slice(0, cut)}${defect}${key.slice(cut)}`;
        assertRejected(() => validateKey(bad), bad, rule);
      }),
    );
  });

  it('rejects a valid key with a ".", ".." or empty segment inserted anywhere (property)', () => {
    const segments = fc.array(segment, { minLength: 2, maxLength: 6 });
    fc.assert(
      fc.property(segments, fc.nat(), fc.constantFrom('.', '..'), (parts, at, dots) => {
        const bad = parts.toSpliced(at % (parts.length + 1), 0, dots).join('/');
        assertRejected(() => validateKey(bad), bad, /"\." or "\.\." segments/);
      }),
    );
    fc.assert(
      fc.property(segments, fc.nat(), (parts, at) => {
        const bad = parts.toSpliced(1 + (at % (parts.length - 1)), 0, '').join('/'); // interior: ends are the absolute / trailing rules
        assertRejected(() => validateKey(bad), bad, /empty segments/);
      }),
    );
  });

  it('prefixes a long key in the message but keeps the whole key on the error', () => {
    const key = `${'x'.repeat(2000)}`;
    assert.throws(
      () => validateKey(key),
      (error: unknown) => error instanceof InvalidArtifactKeyError && error.key === key && error.message.includes('…'),
    );
  });
});

describe('validatePrefix', () => {
  it('allows everything, a folder, or a partial name', () => {
    for (const prefix of ['', 'models/', 'models/iris/v', 'models']) assert.equal(validatePrefix(prefix), prefix);
  });

  it('rejects what validateKey rejects, except the trailing "/"', () => {
    const cases: Array<[string, RegExp]> = [
      ['/models/', /leading "\/"/],
      ['models//', /empty segments/],
      ['../', /"\." or "\.\." segments/],
      ['models/../', /"\." or "\.\." segments/],
      ['a\\b/', /backslash/],
      ['a\u0000/', /control characters/],
      ['/', /leading "\/"/],
    ];
    for (const [prefix, rule] of cases) assertRejected(() => validatePrefix(prefix), prefix, rule);
  });

  it('accepts any valid key, with or without a trailing "/" (property)', () => {
    fc.assert(
      fc.property(
        validKey.filter((k) => Buffer.byteLength(k) < MAX_KEY_BYTES),
        (key) => {
          validatePrefix(key);
          validatePrefix(`${key}/`);
        },
      ),
    );
  });
});

describe('artifact URIs', () => {
  it('percent-encodes what a URI can’t carry and keeps "/" readable', () => {
    assert.equal(s3Uri('trainyard', 'models/iris/v1/model.json'), 's3://trainyard/models/iris/v1/model.json');
    assert.equal(s3Uri('trainyard', 'a b/c#d?e%f'), 's3://trainyard/a%20b/c%23d%3Fe%25f');
    assert.equal(fileUri('/var/data/a b/ü.csv'), 'file:///var/data/a%20b/%C3%BC.csv');
  });

  it('parses s3 and file URIs, including file://localhost and raw spaces', () => {
    assert.deepEqual(parseArtifactUri('s3://trainyard/models/iris/v1/model.json'), {
      scheme: 's3',
      bucket: 'trainyard',
      key: 'models/iris/v1/model.json',
    });
    assert.deepEqual(parseArtifactUri('s3://trainyard/a%20b/c%23d'), {
      scheme: 's3',
      bucket: 'trainyard',
      key: 'a b/c#d',
    });
    assert.deepEqual(parseArtifactUri('s3://trainyard/my file.csv'), {
      scheme: 's3',
      bucket: 'trainyard',
      key: 'my file.csv',
    });
    assert.deepEqual(parseArtifactUri('file:///var/data/a%20b.csv'), { scheme: 'file', path: '/var/data/a b.csv' });
    assert.deepEqual(parseArtifactUri('file://localhost/var/data/x'), { scheme: 'file', path: '/var/data/x' });
  });

  it('round-trips every valid key through s3Uri (property)', () => {
    fc.assert(
      fc.property(bucket, validKey, (b, key) => {
        assert.deepEqual(parseArtifactUri(s3Uri(b, key)), { scheme: 's3', bucket: b, key });
      }),
    );
  });

  it('round-trips absolute paths through fileUri and agrees with node:url (property)', () => {
    const absolutePath = fc
      .array(
        fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => !s.includes('/') && !s.includes('\0')),
        { minLength: 1, maxLength: 5 },
      )
      .map((segments) => `/${segments.join('/')}`);
    fc.assert(
      fc.property(absolutePath, (p) => {
        const uri = fileUri(p);
        assert.deepEqual(parseArtifactUri(uri), { scheme: 'file', path: p });
        assert.equal(fileURLToPath(uri), p);
      }),
    );
  });

  it('rejects what isn’t an artifact URI, saying why', () => {
    const cases: Array<[string, RegExp]> = [
      ['https://example.com/x.csv', /expected s3:\/\/bucket\/key or file:\/\/\/absolute\/path/],
      ['models/iris.json', /expected s3:\/\/bucket\/key/],
      ['file://relative/path', /expected s3:\/\/bucket\/key/],
      ['s3://trainyard', /expected s3:\/\/bucket\/key/],
      ['s3://Not_A_Bucket/x', /not an S3 bucket name/],
      ['s3://trainyard/', /must not be empty/],
      ['s3://trainyard/a/../b', /"\." or "\.\." segments/],
      ['s3://trainyard/a%2F..%2Fb', /"\." or "\.\." segments/],
      ['s3://trainyard/a%00b', /control characters/],
      ['s3://trainyard/x?versionId=1', /query or fragment/],
      ['file:///tmp/x#frag', /query or fragment/],
      ['s3://trainyard/100%', /malformed percent-escape/],
      ['file:///tmp/%00', /NUL/],
    ];
    for (const [uri, rule] of cases) assertRejected(() => parseArtifactUri(uri), uri, rule);
  });

  it('refuses to build URIs from bad parts', () => {
    assertRejected(() => s3Uri('trainyard', '../x'), '../x', /"\." or "\.\." segments/);
    assertRejected(() => s3Uri('Bad_Bucket', 'x'), 'Bad_Bucket', /not an S3 bucket name/);
    assertRejected(() => fileUri('relative/path'), 'relative/path', /absolute path/);
    assertRejected(() => fileUri('/tmp/\0x'), '/tmp/\0x', /NUL/);
  });
});
