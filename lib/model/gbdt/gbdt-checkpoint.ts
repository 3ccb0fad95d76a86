import { z } from 'zod';
import type { ArtifactRef } from '../../../contracts/artifacts';
import type { ArtifactStore } from '../../store/artifact-store';
import { readObjectIfExists } from '../../store/read-object';
import {
  AttemptRecord,
  EpochRecord,
  epochFolder,
  LATEST_JSON,
  LatestPointer,
  pruneCheckpoints,
  WarmStartRecord,
} from '../checkpoint';
import { StoredFile, TREES_JSON } from '../model-meta';
import type { Ensemble } from './ensemble';
import { readEnsemble, writeEnsemble } from './gbdt-model-io';

/**
 * `checkpoints/epoch-<round>/state.json` of a gbdt run (the folder is named like the MLP's, a round
 * being boosting's epoch): the trees so far and the early-stopping bookkeeping. Boosting has no other
 * state — raw scores follow from the trees, and a round's row sample from the seed and the round — so
 * a resumed run grows the very trees an uninterrupted one would.
 */
export const GbdtCheckpointState = z.object({
  formatVersion: z.literal(1),
  format: z.literal('trainyard-gbdt-checkpoint'),
  round: z.number().int().positive(),
  runId: z.string(),
  fingerprint: z.string(),
  bestRound: z.number().int().nonnegative(),
  bestValidationLoss: z.number().nullable(),
  roundsWithoutImprovement: z.number().int().nonnegative(),
  stoppedEarly: z.boolean(),
  /** Trees that came from the warm-start champion, ahead of this run's. */
  startTrees: z.number().int().nonnegative(),
  history: z.array(EpochRecord),
  attempts: z.array(AttemptRecord),
  warmStart: WarmStartRecord,
  trees: StoredFile,
});
export type GbdtCheckpointState = z.output<typeof GbdtCheckpointState>;
export type GbdtCheckpointDraft = Omit<GbdtCheckpointState, 'formatVersion' | 'format' | 'round' | 'trees'>;

/** Writes trees, state, then the latest.json pointer; prunes older rounds (the newest holds every tree). */
export async function writeGbdtCheckpoint(
  store: ArtifactStore,
  checkpointsKey: string,
  round: number,
  ensemble: Ensemble,
  draft: GbdtCheckpointDraft,
): Promise<ArtifactRef> {
  const folder = epochFolder(checkpointsKey, round);
  const trees = await writeEnsemble(store, `${folder}/${TREES_JSON}`, ensemble);
  const state = GbdtCheckpointState.parse({
    formatVersion: 1,
    format: 'trainyard-gbdt-checkpoint',
    round,
    ...draft,
    trees,
  });
  const put = await store.put(`${folder}/state.json`, JSON.stringify(state), { contentType: 'application/json' });
  const pointer: LatestPointer = {
    epoch: round,
    runId: draft.runId,
    fingerprint: draft.fingerprint,
    state: { uri: put.uri, sha256: put.sha256, bytes: put.bytes },
  };
  await store.put(`${checkpointsKey}/${LATEST_JSON}`, JSON.stringify(pointer), { contentType: 'application/json' });
  await pruneCheckpoints(store, checkpointsKey, [round]);
  return { kind: 'checkpoint', uri: put.uri, sha256: put.sha256, bytes: put.bytes, metadata: { epoch: round } };
}

/**
 * The newest checkpoint of this run and job: the heartbeat's or the latest.json pointer's, whichever is
 * further along (a heartbeat may lag the pointer by a round).
 */
export async function findGbdtResumePoint(
  store: ArtifactStore,
  checkpointsKey: string,
  expect: { runId: string; fingerprint: string },
  heartbeatCheckpoint?: ArtifactRef,
): Promise<{ state: GbdtCheckpointState; ensemble: Ensemble; source: 'heartbeat' | 'latest-pointer' } | undefined> {
  const candidates: Array<{ key: string; source: 'heartbeat' | 'latest-pointer' }> = [];
  if (heartbeatCheckpoint) candidates.push({ key: store.keyFor(heartbeatCheckpoint.uri), source: 'heartbeat' });
  const pointer = await readJsonIfExists(store, `${checkpointsKey}/${LATEST_JSON}`, LatestPointer);
  if (pointer && pointer.runId === expect.runId && pointer.fingerprint === expect.fingerprint) {
    candidates.push({ key: store.keyFor(pointer.state.uri), source: 'latest-pointer' });
  }
  let best: { state: GbdtCheckpointState; source: 'heartbeat' | 'latest-pointer' } | undefined;
  for (const candidate of candidates) {
    const state = await readJsonIfExists(store, candidate.key, GbdtCheckpointState);
    if (!state || state.runId !== expect.runId || state.fingerprint !== expect.fingerprint) continue;
    if (!best || state.round > best.state.round) best = { state, source: candidate.source };
  }
  if (!best) return undefined;
  return { ...best, ensemble: await readEnsemble(store, best.state.trees) };
}

async function readJsonIfExists<T extends z.ZodTypeAny>(
  store: ArtifactStore,
  key: string,
  schema: T,
): Promise<z.output<T> | undefined> {
  const bytes = await readObjectIfExists(store, key);
  if (!bytes) return undefined;
  const parsed = schema.safeParse(JSON.parse(bytes.toString('utf8')));
  return parsed.success ? parsed.data : undefined;
}
