import { z } from 'zod';
import type { ArtifactRef } from '../../contracts/artifacts';
import type { ArtifactStore } from '../store/artifact-store';
import type { LoadedTfjs } from '../tfjs-backend';
import type { FlatOptimizer } from './flat-optimizer';
import { StoredFile } from './model-meta';
import { readObject, readObjectIfExists } from '../store/read-object';
import { StoreModelHandler, toArrayBuffer } from './store-io';

type Tf = LoadedTfjs['tf'];
type LayersModel = ReturnType<Tf['sequential']>;

/** One epoch as the history records it. `attempt` is the activity attempt that ran it. */
export const EpochRecord = z.object({
  epoch: z.number().int().positive(),
  attempt: z.number().int().positive(),
  trainLoss: z.number(),
  validationLoss: z.number(),
  validationAccuracy: z.number().optional(),
  trainRows: z.number().int().nonnegative(),
  epochMs: z.number().nonnegative(),
  samplesPerSecond: z.number().nonnegative(),
  /** The time budget ran out during this epoch: it saw only part of the train split. */
  partial: z.literal(true).optional(),
});
export type EpochRecord = z.infer<typeof EpochRecord>;

export const AttemptRecord = z.object({
  attempt: z.number().int().positive(),
  /** The last completed epoch this attempt found in a checkpoint (0: it started from scratch). */
  resumedFromEpoch: z.number().int().nonnegative(),
  startedAt: z.string(),
  backend: z.string(),
});
export type AttemptRecord = z.infer<typeof AttemptRecord>;

export const WarmStartRecord = z.object({
  used: z.boolean(),
  parentVersion: z.number().int().positive().optional(),
  reason: z.string(),
});
export type WarmStartRecord = z.infer<typeof WarmStartRecord>;

/**
 * `checkpoints/epoch-<n>/state.json`: everything besides the weights that training needs to continue
 * exactly where it stopped — early-stopping bookkeeping, the history so far, the optimiser's state.
 */
export const CheckpointState = z.object({
  formatVersion: z.literal(1),
  epoch: z.number().int().positive(),
  runId: z.string(),
  /** Identity of the job (inputs, config, seed); a checkpoint of another job is never resumed. */
  fingerprint: z.string(),
  bestEpoch: z.number().int().nonnegative(),
  bestValidationLoss: z.number().nullable(),
  epochsWithoutImprovement: z.number().int().nonnegative(),
  stoppedEarly: z.boolean(),
  history: z.array(EpochRecord),
  attempts: z.array(AttemptRecord),
  warmStart: WarmStartRecord,
  model: z.object({ modelJson: StoredFile, weights: StoredFile }),
  /** Optimiser slots (Adam moments, RMSProp accumulators, the iteration count) as tfjs weight specs. */
  optimizer: z.object({
    specs: z.array(z.object({ name: z.string(), shape: z.array(z.number()), dtype: z.string() }).passthrough()),
    file: StoredFile,
  }),
});
export type CheckpointState = z.infer<typeof CheckpointState>;

/** `checkpoints/latest.json`, written after the epoch's files: the pointer a retried attempt follows. */
export const LatestPointer = z.object({
  epoch: z.number().int().positive(),
  runId: z.string(),
  fingerprint: z.string(),
  state: StoredFile,
});
export type LatestPointer = z.infer<typeof LatestPointer>;

export const LATEST_JSON = 'latest.json';

export function epochFolder(checkpointsKey: string, epoch: number): string {
  return `${checkpointsKey}/epoch-${epoch}`;
}

/**
 * Deletes every epoch folder under `checkpointsKey` except the given epochs (the newest, which resume
 * reads, and the best, which early stopping restores), so a long run keeps two checkpoints, not one per
 * epoch. Called after the newest checkpoint and its pointer are written, so a crash mid-prune loses
 * nothing resume needs.
 */
export async function pruneCheckpoints(
  store: ArtifactStore,
  checkpointsKey: string,
  keepEpochs: number[],
): Promise<number> {
  const keep = new Set(keepEpochs);
  const stale: string[] = [];
  for await (const object of store.list(`${checkpointsKey}/epoch-`)) {
    const epoch = Number(/\/epoch-(\d+)\//.exec(object.key.slice(checkpointsKey.length))?.[1]);
    if (Number.isInteger(epoch) && !keep.has(epoch)) stale.push(object.key);
  }
  for (const key of stale) await store.delete(key);
  return stale.length;
}

export type CheckpointDraft = Omit<CheckpointState, 'formatVersion' | 'epoch' | 'model' | 'optimizer'>;

/**
 * Writes one epoch's checkpoint: weights (model.json + weights.bin), optimiser state, state.json, and
 * last the latest.json pointer — so a reader that follows the pointer always finds a whole checkpoint.
 */
export async function writeCheckpoint(
  tf: Tf,
  store: ArtifactStore,
  checkpointsKey: string,
  epoch: number,
  model: LayersModel,
  optimizer: Pick<FlatOptimizer, 'getWeights'>,
  draft: CheckpointDraft,
): Promise<{ ref: ArtifactRef; state: CheckpointState }> {
  const folder = epochFolder(checkpointsKey, epoch);
  const handler = new StoreModelHandler(store, folder);
  await model.save(handler);
  const saved = handler.saved as NonNullable<StoreModelHandler['saved']>;

  const slots = await optimizer.getWeights();
  const encoded = await tf.io.encodeWeights(slots);
  slots.forEach((s) => s.tensor.dispose());
  const optimizerBytes = Buffer.from(encoded.data as ArrayBuffer);
  const optimizerPut = await store.put(`${folder}/optimizer.bin`, optimizerBytes, { bytes: optimizerBytes.length });

  const state = CheckpointState.parse({
    formatVersion: 1,
    epoch,
    ...draft,
    model: { modelJson: fileOf(saved.modelJson), weights: fileOf(saved.weights) },
    optimizer: { specs: encoded.specs, file: fileOf(optimizerPut) },
  });
  const statePut = await store.put(`${folder}/state.json`, JSON.stringify(state), { contentType: 'application/json' });
  const pointer: LatestPointer = { epoch, runId: draft.runId, fingerprint: draft.fingerprint, state: fileOf(statePut) };
  await store.put(`${checkpointsKey}/${LATEST_JSON}`, JSON.stringify(pointer), { contentType: 'application/json' });
  return {
    ref: { kind: 'checkpoint', uri: statePut.uri, sha256: statePut.sha256, bytes: statePut.bytes, metadata: { epoch } },
    state,
  };
}

/**
 * The checkpoint a retried attempt continues from: the one named by the last heartbeat when given,
 * else the latest.json pointer. Only a checkpoint of the same run and job counts.
 */
export async function findResumePoint(
  store: ArtifactStore,
  checkpointsKey: string,
  expect: { runId: string; fingerprint: string },
  heartbeatCheckpoint?: ArtifactRef,
): Promise<{ state: CheckpointState; folderKey: string; source: 'heartbeat' | 'latest-pointer' } | undefined> {
  const candidates: Array<{ key: string; source: 'heartbeat' | 'latest-pointer' }> = [];
  if (heartbeatCheckpoint) candidates.push({ key: store.keyFor(heartbeatCheckpoint.uri), source: 'heartbeat' });
  const pointer = await readJsonIfExists(store, `${checkpointsKey}/${LATEST_JSON}`, LatestPointer);
  if (pointer && pointer.runId === expect.runId && pointer.fingerprint === expect.fingerprint) {
    candidates.push({ key: store.keyFor(pointer.state.uri), source: 'latest-pointer' });
  }
  let best: { state: CheckpointState; folderKey: string; source: 'heartbeat' | 'latest-pointer' } | undefined;
  for (const candidate of candidates) {
    const state = await readJsonIfExists(store, candidate.key, CheckpointState);
    if (!state || state.runId !== expect.runId || state.fingerprint !== expect.fingerprint) continue;
    // A heartbeat may lag the pointer by one epoch (killed between checkpoint and heartbeat): take the newer.
    if (!best || state.epoch > best.state.epoch) {
      best = { state, folderKey: candidate.key.replace(/\/state\.json$/, ''), source: candidate.source };
    }
  }
  return best;
}

/** Loads the weights saved in `folderKey` into `model`, in order; throws when the shapes differ. */
export async function loadWeightsInto(
  tf: Tf,
  store: ArtifactStore,
  folderKey: string,
  model: LayersModel,
  expected?: CheckpointState['model'],
): Promise<void> {
  const artifacts = await new StoreModelHandler(store, folderKey, expected).load();
  const specs = artifacts.weightSpecs ?? [];
  const named = tf.io.decodeWeights(artifacts.weightData as ArrayBuffer, specs);
  const tensors = specs.map((spec) => named[spec.name] as ReturnType<Tf['tensor']>);
  try {
    const current = model.getWeights();
    const mismatch = incompatibleShapes(
      current.map((t) => t.shape),
      tensors.map((t) => t.shape),
    );
    if (mismatch) throw new Error(`the weights in ${folderKey} do not fit this model: ${mismatch}`);
    model.setWeights(tensors);
  } finally {
    tensors.forEach((t) => t.dispose());
  }
}

export function incompatibleShapes(want: number[][], have: number[][]): string | undefined {
  if (want.length !== have.length) return `${have.length} weight tensors, the model has ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if ((want[i] as number[]).join('x') !== (have[i] as number[]).join('x')) {
      return `tensor ${i} has shape [${(have[i] as number[]).join(', ')}], the model needs [${(want[i] as number[]).join(', ')}]`;
    }
  }
  return undefined;
}

/** Restores the optimiser slots a checkpoint saved (the iteration count first, then the moments). */
export async function restoreOptimizer(
  tf: Tf,
  store: ArtifactStore,
  state: CheckpointState,
  optimizer: Pick<FlatOptimizer, 'setWeights'>,
): Promise<void> {
  const bytes = await readObject(store, store.keyFor(state.optimizer.file.uri));
  const specs = state.optimizer.specs as Parameters<Tf['io']['decodeWeights']>[1];
  const named = tf.io.decodeWeights(toArrayBuffer(bytes), specs);
  // Optimisers match slots to variables by position, so the spec order is the order to hand back.
  try {
    await optimizer.setWeights(
      specs.map((spec) => ({ name: spec.name, tensor: named[spec.name] as ReturnType<Tf['tensor']> })),
    );
  } finally {
    Object.values(named).forEach((t) => t.dispose());
  }
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

function fileOf(put: { uri: string; sha256: string; bytes: number }): StoredFile {
  return { uri: put.uri, sha256: put.sha256, bytes: put.bytes };
}
