import path from 'node:path';
import { InvalidArtifactKeyError } from './artifact-store';

/** S3's limit on key length, applied to every store so keys move between them unchanged. */
export const MAX_KEY_BYTES = 1024;

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /\p{Surrogate}/u;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Throws InvalidArtifactKeyError unless `key` is a relative object key that means the same thing in
 * every store: a file path under the fs root and an S3 key, with no way to climb out of either.
 */
export function validateKey(key: string): string {
  checkCommonRules(key);
  if (key.endsWith('/')) fail(key, 'must not end with "/" (that names a folder, not an object)');
  checkSegments(key, key.split('/'));
  return key;
}

/** Like validateKey, but also accepts "" (everything) and a trailing "/" (everything in a folder). */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkCommonRules(prefix);
  const segments = prefix.split('/');
  if (prefix.endsWith('/')) segments.pop();
  checkSegments(prefix, segments);
  return prefix;
}

function checkCommonRules(key: string): void {
  if (typeof key !== 'string') fail(String(key), `must be a string, got ${typeof key}`);
  if (key.length === 0) fail(key, 'must not be empty');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) fail(key, `must be at most ${MAX_KEY_BYTES} bytes in UTF-8, got ${bytes}`);
  const control = CONTROL_CHARACTER.exec(key);
  if (control) {
    const codePoint = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    fail(
      key,
      `must not contain control characters (U+0000-U+001F, U+007F): found ${codePoint} at index ${control.index}`,
    );
  }
  if (LONE_SURROGATE.test(key))
    fail(key, 'must be well-formed Unicode: found a lone surrogate, which has no UTF-8 form');
  if (key.includes('\\')) fail(key, 'must not contain a backslash ("\\"): separate segments with "/"');
  if (key.startsWith('/')) fail(key, 'must be relative: no leading "/" (absolute path)');
}

function checkSegments(key: string, segments: string[]): void {
  if (segments.some((s) => s === '')) fail(key, 'must not contain empty segments ("//")');
  if (segments.some((s) => s === '.' || s === '..')) fail(key, 'must not contain "." or ".." segments');
}

function fail(key: string, rule: string): never {
  throw new InvalidArtifactKeyError(key, rule);
}

export type ArtifactLocation = { scheme: 's3'; bucket: string; key: string } | { scheme: 'file'; path: string };

const S3_URI = /^s3:\/\/([^/]*)\/(.*)$/is;
const FILE_URI = /^file:\/\/(?:localhost)?(\/.*)$/is;

/**
 * Reads `s3://bucket/key` or `file:///absolute/path`. Paths are percent-decoded; a raw "?" or "#"
 * is refused rather than guessed at, because in a URI they start a query or a fragment.
 */
export function parseArtifactUri(uri: string): ArtifactLocation {
  if (typeof uri !== 'string') fail(String(uri), `must be a URI string, got ${typeof uri}`);
  if (CONTROL_CHARACTER.test(uri)) fail(uri, 'URI must not contain control characters');
  if (/[?#]/.test(uri)) fail(uri, 'URI must not carry a query or fragment: percent-encode "?" as %3F and "#" as %23');

  const s3 = S3_URI.exec(uri);
  if (s3) {
    const bucket = s3[1] as string;
    checkBucket(uri, bucket);
    return { scheme: 's3', bucket, key: keyInUri(uri, decode(uri, s3[2] as string)) };
  }
  const file = FILE_URI.exec(uri);
  if (file) {
    const filePath = decode(uri, file[1] as string);
    if (filePath.includes('\0')) fail(uri, 'file path must not contain NUL');
    return { scheme: 'file', path: filePath };
  }
  return fail(uri, 'not an artifact URI: expected s3://bucket/key or file:///absolute/path');
}

export function s3Uri(bucket: string, key: string): string {
  checkBucket(bucket, bucket);
  return `s3://${bucket}/${encodePath(validateKey(key))}`;
}

export function fileUri(absolutePath: string): string {
  if (!path.posix.isAbsolute(absolutePath)) fail(absolutePath, 'file URIs need an absolute path');
  if (absolutePath.includes('\0')) fail(absolutePath, 'file path must not contain NUL');
  if (LONE_SURROGATE.test(absolutePath)) fail(absolutePath, 'file path must be well-formed Unicode');
  return `file://${encodePath(absolutePath)}`;
}

/** Encodes each segment so spaces, "%", "?" and "#" survive; "/" stays readable. */
function encodePath(value: string): string {
  return value.split('/').map(encodeURIComponent).join('/');
}

function decode(uri: string, encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return fail(uri, 'URI has a malformed percent-escape (a literal "%" must be written %25)');
  }
}

/** Key rule failures name the URI the caller passed, not the decoded key they never wrote. */
function keyInUri(uri: string, key: string): string {
  try {
    return validateKey(key);
  } catch (error) {
    if (error instanceof InvalidArtifactKeyError) fail(uri, `its key ${error.rule}`);
    throw error;
  }
}

function checkBucket(subject: string, bucket: string): void {
  if (!BUCKET_NAME.test(bucket))
    fail(subject, `bucket ${JSON.stringify(bucket)} is not an S3 bucket name (3-63 chars: a-z, 0-9, ".", "-")`);
}
