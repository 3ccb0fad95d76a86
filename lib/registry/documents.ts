import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { describeZodIssues } from '../../contracts/errors';
import {
  PreconditionFailedError,
  type ArtifactStore,
  type PutCondition,
  type PutResult,
} from '../store/artifact-store';
import { readObjectIfExists } from '../store/read-object';
import { RegistryContentionError, RegistryCorruptError, RegistryInputError } from './errors';

export interface StoredDoc<T> {
  value: T;
  /** The etag the value was read at: the `ifMatch` of a compare-and-swap that replaces it. */
  etag: string;
}

/**
 * Reads a JSON document with its etag, or undefined when there is none.
 *
 * The etag comes from a stat before the read. If a writer replaces the document in between, we hold
 * newer content than the etag names, and a CAS with that etag fails (the store's etag has moved on),
 * so the caller simply re-reads. That holds because a CAS-updated registry document never returns to
 * an earlier content: the aliases document's history only grows.
 */
export async function readDoc<S extends z.ZodType>(
  store: ArtifactStore,
  key: string,
  schema: S,
): Promise<StoredDoc<z.output<S>> | undefined> {
  const info = await store.stat(key);
  if (!info) return undefined;
  const value = await readJson(store, key, schema);
  return value === undefined ? undefined : { value, etag: info.etag };
}

/** Reads and validates a JSON document; undefined when the key does not exist. */
export async function readJson<S extends z.ZodType>(
  store: ArtifactStore,
  key: string,
  schema: S,
): Promise<z.output<S> | undefined> {
  const bytes = await readObjectIfExists(store, key);
  if (!bytes) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new RegistryCorruptError(key, [{ path: '(root)', message: `not valid JSON (${(error as Error).message})` }]);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new RegistryCorruptError(key, describeZodIssues(parsed.error));
  return parsed.data;
}

/**
 * Writes a document under a condition; PreconditionFailedError when the condition fails. A value the
 * schema rejects is refused (RegistryInputError), so the registry never stores what it could not read back.
 */
export async function writeDoc<S extends z.ZodType>(
  store: ArtifactStore,
  key: string,
  schema: S,
  value: z.input<S>,
  condition: PutCondition,
): Promise<PutResult> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new RegistryInputError(describeZodIssues(parsed.error).map((p) => ({ ...p, path: `${key}: ${p.path}` })));
  const checked: unknown = parsed.data;
  return store.put(key, `${JSON.stringify(checked, null, 2)}\n`, { contentType: 'application/json', condition });
}

export function isConflict(error: unknown): error is PreconditionFailedError {
  return error instanceof PreconditionFailedError;
}

/** How many times an optimistic update re-reads and retries before reporting contention. */
export const MAX_CONFLICT_RETRIES = 500;

/**
 * Runs `attempt` until it returns something other than `retry` (a lost CAS race), with a short jittered
 * pause that grows with consecutive losses so that many writers converge instead of colliding in step.
 */
export async function retryOnConflict<T>(key: string, attempt: () => Promise<T | typeof RETRY>): Promise<T> {
  for (let losses = 0; losses < MAX_CONFLICT_RETRIES; losses++) {
    const result = await attempt();
    if (result !== RETRY) return result as T;
    const ceilingMs = Math.min(100, 2 ** Math.min(losses, 7));
    await sleep(Math.random() * ceilingMs);
  }
  throw new RegistryContentionError(key, MAX_CONFLICT_RETRIES);
}

export const RETRY: unique symbol = Symbol('retry');
