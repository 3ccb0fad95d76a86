import { createHash } from 'node:crypto';
import type { ArtifactRef } from '../../contracts/artifacts';
import { RunIndexEntry, VersionRecord, type Lineage } from '../../contracts/registry';
import type { ArtifactStore } from '../store/artifact-store';
import { isConflict, readJson, writeDoc } from './documents';
import { RegistryContentionError, RegistryCorruptError } from './errors';
import { runIndexKey, versionKey } from './keys';
import { checkModelName } from './names';
import { findVersion, latestVersionNumber } from './versions';

/**
 * Registering a version, crash-safe and concurrency-safe with conditional writes only.
 *
 * Two documents per registration, written in this order:
 *   1. runs/<runKey>.json   where the run starts looking: `fromVersion` = latest + 1 when the run first
 *                           registers. Created once (If-None-Match: *), never changed.
 *   2. versions/<n>.json    the version record, created with If-None-Match: *. This write *is* the
 *                           allocation: whoever creates versions/n owns n. The record carries the
 *                           runKey, so it proves which run owns the number.
 *
 * The run's version is the first n ≥ fromVersion whose record carries its runKey. To register, walk n
 * up from fromVersion: create versions/n; if it exists, read it — ours: done (an earlier or twin attempt
 * wrote it), another run's: try n + 1.
 *
 * No duplicate: a walk passes a number only when it belongs to another run, so every attempt of a run
 * (retries, and a timed-out attempt still running beside its retry) reaches the run's own record before
 * any free number, and stops there. Two attempts racing for the same free n: one create wins, the other
 * finds its own runKey there.
 *
 * No gap: a record is created at fromVersion (= latest + 1 when recorded, so fromVersion - 1 exists) or
 * at n + 1 after seeing versions/n exist. Records are never deleted, so versions/n - 1 always exists.
 *
 * A crash between the writes leaves a starting point and no record: that reserves nothing (other runs
 * may take fromVersion); the retry walks past what they took. A crash after both writes: the retry's
 * walk finds its record. The start is written first because the reverse order fails: a record whose
 * index entry was never written can only be found by scanning every version, so the retry, starting
 * from latest + 1, would register the run a second time.
 *
 * Losing a race costs reads and refused creates, never writes, so N concurrent registrants cost O(N²)
 * cheap requests but only one successful write per version.
 */

export interface VersionDraft {
  model: string;
  /** See runKeyFor: identifies the registering run. */
  runKey: string;
  createdAt: string;
  modelRef: ArtifactRef;
  lineage: Lineage;
}

export interface RegisteredVersion {
  record: VersionRecord;
  uri: string;
  /** True when the record was already there: an earlier attempt of the same run wrote it. */
  existed: boolean;
}

/** A run's identity in the registry: its workflow id and the exact model bytes it registers. */
export function runKeyFor(workflowId: string, modelSha256: string): string {
  return createHash('sha256').update(`${workflowId}\u0000${modelSha256}`).digest('hex');
}

/** How far a walk may go: more versions registered between a run's first attempt and its retry than anyone will. */
const MAX_WALK = 100_000;

export async function registerVersion(store: ArtifactStore, draft: VersionDraft): Promise<RegisteredVersion> {
  checkModelName(draft.model);
  const fromVersion = await recordStartingVersion(store, draft.model, draft.runKey);
  for (let version = fromVersion; version < fromVersion + MAX_WALK; version++) {
    const registered = await claimVersion(store, draft, version);
    if (registered) return registered;
  }
  throw new RegistryContentionError(runIndexKey(draft.model, draft.runKey), MAX_WALK);
}

/** Step 1: the version the run starts its walk from; on the run's first call, latest + 1, recorded for its retries. */
export async function recordStartingVersion(store: ArtifactStore, model: string, runKey: string): Promise<number> {
  const key = runIndexKey(model, runKey);
  for (;;) {
    const existing = await readRunIndex(store, model, runKey);
    if (existing) return existing.fromVersion;
    const value: RunIndexEntry = {
      format: 'trainyard.registry.run/v1',
      runKey,
      fromVersion: (await latestVersionNumber(store, model)) + 1,
    };
    try {
      await writeDoc(store, key, RunIndexEntry, value, { ifNoneMatch: '*' });
      return value.fromVersion;
    } catch (error) {
      if (!isConflict(error)) throw error; // another attempt of this run recorded it first: use theirs
    }
  }
}

/**
 * Step 2: take `version`, or find that this run already has it. Undefined when it belongs to another
 * run: the caller tries the next one.
 */
export async function claimVersion(
  store: ArtifactStore,
  draft: VersionDraft,
  version: number,
): Promise<RegisteredVersion | undefined> {
  const key = versionKey(draft.model, version);
  const record: VersionRecord = { format: 'trainyard.registry.version/v1', version, ...draft };
  try {
    // Created without looking first: the create-only condition is the check, and costs one request.
    const written = await writeDoc(store, key, VersionRecord, record, { ifNoneMatch: '*' });
    return { record, uri: written.uri, existed: false };
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
  const owner = await findVersion(store, draft.model, version);
  if (!owner) throw new Error(`Version record ${key} was refused as existing but cannot be read; retry.`);
  return owner.runKey === draft.runKey ? { record: owner, uri: store.uriFor(key), existed: true } : undefined;
}

async function readRunIndex(store: ArtifactStore, model: string, runKey: string): Promise<RunIndexEntry | undefined> {
  const key = runIndexKey(model, runKey);
  const entry = await readJson(store, key, RunIndexEntry);
  if (entry && entry.runKey !== runKey) {
    throw new RegistryCorruptError(key, [{ path: 'runKey', message: `expected ${runKey}, found ${entry.runKey}` }]);
  }
  return entry;
}

/** The version a run registered, if it has: the same walk as registerVersion, reading only. */
export async function findRegisteredVersion(
  store: ArtifactStore,
  model: string,
  runKey: string,
): Promise<VersionRecord | undefined> {
  const start = await readRunIndex(store, model, runKey);
  if (!start) return undefined;
  for (let version = start.fromVersion; version < start.fromVersion + MAX_WALK; version++) {
    const record = await findVersion(store, model, version);
    if (!record) return undefined;
    if (record.runKey === runKey) return record;
  }
  return undefined;
}
