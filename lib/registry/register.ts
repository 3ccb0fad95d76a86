import { createHash } from 'node:crypto';
import type { ArtifactRef } from '../../contracts/artifacts';
import { RunIndexEntry, VersionRecord, type Lineage } from '../../contracts/registry';
import type { ArtifactStore } from '../store/artifact-store';
import { isConflict, readDoc, writeDoc, type StoredDoc } from './documents';
import { RegistryContentionError, RegistryCorruptError } from './errors';
import { runIndexKey, versionKey } from './keys';
import { checkModelName } from './names';
import { findVersion, latestVersionNumber } from './versions';

/**
 * Registering a version, crash-safe and concurrency-safe with conditional writes only.
 *
 * Two documents per registration, written in this order:
 *   1. runs/<runKey>.json      the run's *proposal*: "this run means to take version p".
 *                              Created with If-None-Match: * at p = latest + 1; only ever moved
 *                              forward, p → p + 1, by compare-and-swap, and only after seeing that
 *                              versions/p belongs to another run.
 *   2. versions/<p>.json       the version record, created with If-None-Match: *. This write is the
 *                              allocation: whoever creates versions/p owns p. It carries the runKey,
 *                              so the record itself proves which run owns the number.
 *
 * Why no duplicate: a run only ever writes its record at its current proposal, and the proposal only
 * moves past p when versions/p is owned by someone else. Once a run owns p, its proposal stays at p, so
 * it can never own a second number — even when two attempts of the same run race (a timed-out attempt
 * still running beside its retry): they write at the same p, one wins, the other finds its runKey there.
 *
 * Why no gap: p is proposed either as latest + 1 (so p - 1 exists, or p = 1) or as q + 1 after seeing
 * versions/q exist. Records are never deleted, so whenever versions/p is created, versions/p - 1 exists.
 *
 * A crash between the writes leaves a proposal without a record. That reserves nothing: other runs
 * still see latest = p - 1 and may take p; the retry then finds p taken and moves on, or finds it free
 * and takes it. A crash after both writes is a lookup: the retry finds its record at its proposal.
 * (Writing the record first and the index second would not work: a crash between them leaves a record
 * the retry cannot find without scanning every version, and two racing attempts would both allocate.)
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

/** Enough for thousands of concurrent registrations of one model; each loop either moves forward or loses a CAS. */
const MAX_ROUNDS = 10_000;

export async function registerVersion(store: ArtifactStore, draft: VersionDraft): Promise<RegisteredVersion> {
  checkModelName(draft.model);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const proposal = await proposeVersion(store, draft.model, draft.runKey);
    const registered = await claimProposedVersion(store, draft, proposal);
    if (registered) return registered;
  }
  throw new RegistryContentionError(runIndexKey(draft.model, draft.runKey), MAX_ROUNDS);
}

/** Step 1: the run's current proposal, created at latest + 1 when the run has none yet. */
export async function proposeVersion(store: ArtifactStore, model: string, runKey: string): Promise<StoredDoc<RunIndexEntry>> {
  const key = runIndexKey(model, runKey);
  for (;;) {
    const existing = await readDoc(store, key, RunIndexEntry);
    if (existing) {
      if (existing.value.runKey !== runKey) {
        throw new RegistryCorruptError(key, [{ path: 'runKey', message: `expected ${runKey}, found ${existing.value.runKey}` }]);
      }
      return existing;
    }
    const value: RunIndexEntry = { format: 'trainyard.registry.run/v1', runKey, proposedVersion: (await latestVersionNumber(store, model)) + 1 };
    try {
      const written = await writeDoc(store, key, RunIndexEntry, value, { ifNoneMatch: '*' });
      return { value, etag: written.etag };
    } catch (error) {
      if (!isConflict(error)) throw error; // another attempt of this run proposed first: use theirs
    }
  }
}

/**
 * Step 2: take the proposed version, or find that this run already has it. Returns undefined when the
 * number belongs to another run (the proposal has then been moved forward, by us or a twin attempt):
 * the caller re-reads the proposal and tries again.
 */
export async function claimProposedVersion(
  store: ArtifactStore,
  draft: VersionDraft,
  proposal: StoredDoc<RunIndexEntry>,
): Promise<RegisteredVersion | undefined> {
  const version = proposal.value.proposedVersion;
  const key = versionKey(draft.model, version);
  let owner = await findVersion(store, draft.model, version);
  if (!owner) {
    const record: VersionRecord = { format: 'trainyard.registry.version/v1', version, ...draft };
    try {
      const written = await writeDoc(store, key, VersionRecord, record, { ifNoneMatch: '*' });
      return { record, uri: written.uri, existed: false };
    } catch (error) {
      if (!isConflict(error)) throw error;
      owner = await findVersion(store, draft.model, version);
      if (!owner) throw new Error(`Version record ${key} was refused as existing but cannot be read; retry.`);
    }
  }
  if (owner.runKey === draft.runKey) return { record: owner, uri: store.uriFor(key), existed: true };
  const moved: RunIndexEntry = { ...proposal.value, proposedVersion: version + 1 };
  try {
    await writeDoc(store, runIndexKey(draft.model, draft.runKey), RunIndexEntry, moved, { ifMatch: proposal.etag });
  } catch (error) {
    if (!isConflict(error)) throw error; // a twin attempt moved it first; re-reading picks that up
  }
  return undefined;
}

/** The version a run registered, if it has (no write). */
export async function findRegisteredVersion(store: ArtifactStore, model: string, runKey: string): Promise<VersionRecord | undefined> {
  const proposal = await readDoc(store, runIndexKey(model, runKey), RunIndexEntry);
  if (!proposal) return undefined;
  const record = await findVersion(store, model, proposal.value.proposedVersion);
  return record?.runKey === runKey ? record : undefined;
}
