import { createHash } from 'node:crypto';
import type { ArtifactRef } from '../../contracts/artifacts';
import type { BatchSource } from '../data/batches';
import type { ArtifactStore } from '../store/artifact-store';
import type { LoadedTfjs, TfjsBackendName } from '../tfjs-backend';
import { buildModel, deriveSeed, rowLosses, type TrainSettings } from './build-model';
import {
  epochFolder,
  findResumePoint,
  loadWeightsInto,
  pruneCheckpoints,
  restoreOptimizer,
  writeCheckpoint,
  type AttemptRecord,
  type CheckpointState,
  type EpochRecord,
  type WarmStartRecord,
} from './checkpoint';
import { denseLayersOf, lossAndGradient, type DenseLayer } from './dense-backprop';
import { denseOps, type DenseOps } from './dense-ops';
import { createFlatOptimizer, type FlatOptimizer } from './flat-optimizer';
import { budgetMs, MaxDurationTooShort, PROJECTION_AFTER_MS } from './training-budget';
import type { ModelMeta } from './model-meta';
import { readModelMeta, StoreModelHandler, writeModelMeta } from './store-io';
import type { TaskType } from '../../contracts/pipeline-input';

type Tf = LoadedTfjs['tf'];
type Tensor = ReturnType<Tf['tensor']>;
type LayersModel = ReturnType<Tf['sequential']>;
type Variable = ReturnType<Tf['variable']>;

/** What to train and where its outputs go. Plain data: it crosses into the training thread as is. */
export interface TrainJob {
  task: TaskType;
  settings: TrainSettings;
  seed: number;
  /** Per-class loss weights by class label (sampling's `class-weights`); batches' own weights win. */
  classWeights?: Record<string, number>;
  preprocessor?: ArtifactRef;
  /** Identity of the inputs (split and preprocessor sha256s); part of the resume fingerprint. */
  inputsFingerprint: string;
  keys: { checkpoints: string; model: string; history: string };
  runId: string;
  attempt: number;
  /** The checkpoint named by the last heartbeat of an earlier attempt, if any. */
  heartbeatCheckpoint?: ArtifactRef;
  /** The champion to warm-start from (stateful training), when requested. */
  warmStart?: { modelFolderKey: string; version: number };
}

export interface EpochReport {
  epoch: number;
  checkpoint: ArtifactRef;
  record: EpochRecord;
  bestEpoch: number;
  bestValidationLoss: number | null;
}

export interface TrainHooks {
  onEpoch?(report: EpochReport): void;
  /** Within an epoch, every few batches: proof of life for the heartbeat. */
  onProgress?(progress: { epoch: number; rowsDone: number; rowsTotal: number }): void;
  onResume?(info: { epoch: number; source: string }): void;
  /** Asked between batches (and rounds): true stops training with TrainingCancelled, native handles still open for a clean close. */
  shouldStop?(): boolean;
}

/** Training stopped because the activity was cancelled: the thread closes its sources and exits by itself. */
export class TrainingCancelled extends Error {
  constructor() {
    super('training was cancelled');
    this.name = 'TrainingCancelled';
  }
}

export interface TrainOutcome {
  model: ArtifactRef;
  history: ArtifactRef;
  meta: ModelMeta;
  backend: TfjsBackendName;
  epochsRun: number;
  bestEpoch: number;
  resumedFromEpoch: number;
  stoppedEarly: boolean;
  warmStart: WarmStartRecord;
  trainMs: number;
  records: EpochRecord[];
}

export interface TrainDeps {
  tfjs: Pick<LoadedTfjs, 'tf' | 'backend'>;
  store: ArtifactStore;
  train: BatchSource;
  validation: BatchSource;
}

const PROGRESS_EVERY_MS = 1000;

/**
 * The epoch loop, on whatever thread calls it: streamed, shuffled batches; class weights; validation
 * loss; early stopping that keeps the best weights; a checkpoint each epoch; resume from the newest
 * checkpoint of this run; warm start from a compatible champion. Ends with the model, its meta and the
 * history in the store.
 */
export async function trainModel(deps: TrainDeps, job: TrainJob, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const startedMs = performance.now();
  const { tf, backend } = deps.tfjs;
  const { store, train, validation } = deps;
  const classes = train.classes;
  const shape = {
    task: job.task,
    featureCount: train.featureCount,
    ...(classes ? { classCount: classes.length } : {}),
  };
  const fingerprint = jobFingerprint(job, train);

  const model = buildModel(tf, shape, job.settings, job.seed);
  const variables = model.trainableWeights.map((w) => (w as unknown as { read(): Variable }).read());
  const optimizer = createFlatOptimizer(tf, variables, job.settings);
  const layers = denseLayersOf(model);
  const ops = denseOps(tf, backend);
  const rowWeightsFor = classWeightLookup(job.classWeights, classes);

  let state: Omit<CheckpointState, 'formatVersion' | 'epoch' | 'model' | 'optimizer'> & { epoch: number };
  let bestWeights: Tensor[] | undefined;
  const resume = await findResumePoint(
    store,
    job.keys.checkpoints,
    { runId: job.runId, fingerprint },
    job.heartbeatCheckpoint,
  );
  if (resume) {
    await loadWeightsInto(tf, store, resume.folderKey, model, resume.state.model);
    await restoreOptimizer(tf, store, resume.state, optimizer);
    state = { ...resume.state };
    if (resume.state.bestEpoch > 0 && resume.state.bestEpoch !== resume.state.epoch) {
      bestWeights = await weightsOfCheckpoint(
        tf,
        store,
        epochFolder(job.keys.checkpoints, resume.state.bestEpoch),
        model,
      );
    } else if (resume.state.bestEpoch === resume.state.epoch) {
      bestWeights = model.getWeights().map((t) => t.clone());
    }
    hooks.onResume?.({ epoch: resume.state.epoch, source: resume.source });
  } else {
    const warmStart =
      job.settings.warmStart && job.warmStart
        ? await tryWarmStart(tf, store, model, job.warmStart, job.task, train)
        : coldStart(job);
    state = {
      epoch: 0,
      runId: job.runId,
      fingerprint,
      bestEpoch: 0,
      bestValidationLoss: null,
      epochsWithoutImprovement: 0,
      stoppedEarly: false,
      history: [],
      attempts: [],
      warmStart,
    };
  }
  const resumedFromEpoch = state.epoch;
  const attempt: AttemptRecord = {
    attempt: job.attempt,
    resumedFromEpoch,
    startedAt: new Date().toISOString(),
    backend,
  };
  state.attempts = [...state.attempts, attempt];

  // The time budget counts the epochs of earlier attempts too (a resumed run does not get a fresh one).
  const budget = budgetMs(job.settings);
  const spentBeforeMs = state.history.reduce((sum, r) => sum + r.epochMs, 0);
  const attemptStartMs = performance.now();
  const timeLeftMs = () => budget - spentBeforeMs - (performance.now() - attemptStartMs);
  let timeUp = false;
  try {
    for (let epoch = state.epoch + 1; epoch <= job.settings.epochs && !state.stoppedEarly && !timeUp; epoch++) {
      const epochStartMs = performance.now();
      const deadlineMs = epochStartMs + timeLeftMs();
      const {
        loss: trainLoss,
        complete,
        rows,
      } = await runTrainEpoch(tf, ops, job, deps.train, layers, optimizer, rowWeightsFor, epoch, hooks, deadlineMs);
      timeUp = !complete || timeLeftMs() <= 0;
      if (rows === 0 && !complete) break; // out of time before this epoch saw a row: nothing to record
      const trainMs = performance.now() - epochStartMs;
      const scored =
        validation.rows > 0 ? await scoreSource(tf, job.task, model, validation, job.settings.batchSize) : undefined;
      const validationLoss = scored?.loss ?? trainLoss;
      const record: EpochRecord = {
        epoch,
        attempt: job.attempt,
        trainLoss,
        validationLoss,
        ...(scored?.accuracy !== undefined ? { validationAccuracy: scored.accuracy } : {}),
        trainRows: train.rows,
        epochMs: performance.now() - epochStartMs,
        samplesPerSecond: trainMs > 0 ? (train.rows / trainMs) * 1000 : 0,
        ...(complete ? {} : { partial: true }),
      };
      const improved = state.bestValidationLoss === null || validationLoss < state.bestValidationLoss;
      if (improved) {
        bestWeights?.forEach((t) => t.dispose());
        bestWeights = model.getWeights().map((t) => t.clone());
      }
      const epochsWithoutImprovement = improved ? 0 : state.epochsWithoutImprovement + 1;
      state = {
        ...state,
        epoch,
        bestEpoch: improved ? epoch : state.bestEpoch,
        bestValidationLoss: improved ? validationLoss : state.bestValidationLoss,
        epochsWithoutImprovement,
        stoppedEarly:
          job.settings.earlyStopping.enabled && epochsWithoutImprovement >= job.settings.earlyStopping.patience,
        history: [...state.history, record],
      };
      // A cancelled attempt writes nothing more: its retry may already be running.
      if (hooks.shouldStop?.()) throw new TrainingCancelled();
      const { epoch: _epoch, ...draft } = state;
      const { ref } = await writeCheckpoint(tf, store, job.keys.checkpoints, epoch, model, optimizer, draft);
      await pruneCheckpoints(store, job.keys.checkpoints, [epoch, state.bestEpoch]);
      hooks.onEpoch?.({
        epoch,
        checkpoint: ref,
        record,
        bestEpoch: state.bestEpoch,
        bestValidationLoss: state.bestValidationLoss,
      });
    }

    // Out of time, the best checkpoint so far is the model, as with early stopping.
    const keepBest = job.settings.earlyStopping.enabled || timeUp;
    if (keepBest && bestWeights) model.setWeights(bestWeights);
    const finalEpoch = keepBest ? state.bestEpoch : state.epoch;
    const handler = new StoreModelHandler(store, job.keys.model);
    await model.save(handler);
    const { meta, put } = await writeModelMeta(store, handler, {
      task: job.task,
      ...(classes ? { classes } : {}),
      featureCount: train.featureCount,
      featureNames: train.featureNames,
      ...(job.preprocessor ? { preprocessor: job.preprocessor } : {}),
      backend,
      train: job.settings,
      seed: job.seed,
      epochsRun: state.epoch,
      bestEpoch: finalEpoch,
    });
    const history = {
      epochs: state.history,
      attempts: state.attempts,
      bestEpoch: state.bestEpoch,
      bestValidationLoss: state.bestValidationLoss,
      stoppedEarly: state.stoppedEarly,
      ...(timeUp ? { stoppedBy: `train.maxDuration ${job.settings.maxDuration}` } : {}),
      warmStart: state.warmStart,
      backend,
    };
    const historyPut = await store.put(job.keys.history, JSON.stringify(history, null, 2), {
      contentType: 'application/json',
    });
    return {
      model: {
        kind: 'model',
        uri: put.uri,
        sha256: put.sha256,
        bytes: put.bytes,
        metadata: { format: meta.format, task: job.task, backend },
      },
      history: {
        kind: 'history',
        uri: historyPut.uri,
        sha256: historyPut.sha256,
        bytes: historyPut.bytes,
        metadata: { content: 'training-history' },
      },
      meta,
      backend,
      epochsRun: state.epoch,
      bestEpoch: finalEpoch,
      resumedFromEpoch,
      stoppedEarly: state.stoppedEarly,
      warmStart: state.warmStart,
      trainMs: performance.now() - startedMs,
      records: state.history,
    };
  } finally {
    bestWeights?.forEach((t) => t.dispose());
    model.dispose();
    optimizer.dispose();
  }
}

/** One pass over the training split in a seeded order; returns the row-weighted mean training loss. */
async function runTrainEpoch(
  tf: Tf,
  ops: DenseOps,
  job: TrainJob,
  source: BatchSource,
  layers: DenseLayer[],
  optimizer: FlatOptimizer,
  rowWeightsFor: ((y: Float32Array) => Float32Array) | undefined,
  epoch: number,
  hooks: TrainHooks,
  deadlineMs: number,
): Promise<{ loss: number; complete: boolean; rows: number }> {
  let lossSum = 0;
  let rowsDone = 0;
  let batchIndex = 0;
  const startedMs = performance.now();
  let lastProgressMs = startedMs;
  let projected = epoch > 1 || !Number.isFinite(deadlineMs);
  for await (const batch of source.batches(job.settings.batchSize, {
    shuffleSeed: deriveSeed(job.seed, 10_000 + epoch),
  })) {
    if (batch.rows === 0) continue;
    if (hooks.shouldStop?.()) throw new TrainingCancelled();
    const nowMs = performance.now();
    // The first epoch is projected early (before a tenth of the budget is spent) so a budget that
    // cannot fit one epoch fails as a config error instead of training a fragment.
    if (
      !projected &&
      nowMs - startedMs >= Math.min(PROJECTION_AFTER_MS, (deadlineMs - startedMs) / 10) &&
      rowsDone > 0
    ) {
      projected = true;
      const rowsPerSecond = (rowsDone / (nowMs - startedMs)) * 1000;
      const projectedEpochMs = (source.rows / rowsPerSecond) * 1000;
      if (startedMs + projectedEpochMs > deadlineMs)
        throw new MaxDurationTooShort(job.settings.maxDuration ?? '', projectedEpochMs, rowsPerSecond, source.rows);
    }
    if (nowMs >= deadlineMs)
      return { loss: rowsDone > 0 ? lossSum / rowsDone : Number.NaN, complete: false, rows: rowsDone };
    const stepSeed = deriveSeed(job.seed, epoch * 1_000_003 + batchIndex++);
    const weights = batch.weights ?? rowWeightsFor?.(batch.y);
    const cost = tf.tidy(() => {
      const x = tf.tensor2d(batch.x, [batch.rows, source.featureCount]);
      const y = tf.tensor1d(batch.y);
      const w = weights ? tf.tensor1d(weights) : undefined;
      const { loss, gradient } = lossAndGradient(
        tf,
        ops,
        layers,
        job.task,
        { x, y, ...(w ? { weights: w } : {}) },
        { rate: job.settings.dropout, stepSeed },
      );
      optimizer.apply(gradient);
      return loss;
    });
    lossSum += cost.dataSync()[0]! * batch.rows;
    cost.dispose();
    rowsDone += batch.rows;
    if (hooks.onProgress && performance.now() - lastProgressMs >= PROGRESS_EVERY_MS) {
      lastProgressMs = performance.now();
      hooks.onProgress({ epoch, rowsDone, rowsTotal: source.rows });
    }
  }
  return { loss: rowsDone > 0 ? lossSum / rowsDone : Number.NaN, complete: true, rows: rowsDone };
}

/** Mean loss (and accuracy, for classification) of the model over a whole split, in inference mode. */
export async function scoreSource(
  tf: Tf,
  task: TaskType,
  model: LayersModel,
  source: BatchSource,
  batchSize: number,
): Promise<{ loss: number; accuracy?: number }> {
  let lossSum = 0;
  let correct = 0;
  let rows = 0;
  for await (const batch of source.batches(Math.max(batchSize, 1024))) {
    if (batch.rows === 0) continue;
    const [batchLoss, batchCorrect] = tf.tidy(() => {
      const x = tf.tensor2d(batch.x, [batch.rows, source.featureCount]);
      const y = tf.tensor1d(batch.y);
      const predictions = model.predict(x) as Tensor;
      const loss = tf.sum(rowLosses(tf, task, predictions, y)).dataSync()[0]!;
      if (task === 'regression') return [loss, 0];
      const predicted =
        task === 'binary'
          ? tf.greaterEqual(predictions.reshape([-1]), 0.5).toFloat()
          : tf.argMax(predictions, 1).toFloat();
      return [loss, tf.sum(tf.equal(predicted, y).toFloat()).dataSync()[0]!];
    });
    lossSum += batchLoss;
    correct += batchCorrect;
    rows += batch.rows;
  }
  if (rows === 0) return { loss: Number.NaN };
  return task === 'regression' ? { loss: lossSum / rows } : { loss: lossSum / rows, accuracy: correct / rows };
}

function classWeightLookup(classWeights: Record<string, number> | undefined, classes: string[] | undefined) {
  if (!classWeights || !classes) return undefined;
  const byIndex = classes.map((label) => classWeights[label] ?? 1);
  return (y: Float32Array) => Float32Array.from(y, (label) => byIndex[label] ?? 1);
}

async function weightsOfCheckpoint(
  tf: Tf,
  store: ArtifactStore,
  folderKey: string,
  model: LayersModel,
): Promise<Tensor[]> {
  const current = model.getWeights().map((t) => t.clone());
  try {
    await loadWeightsInto(tf, store, folderKey, model);
    return model.getWeights().map((t) => t.clone());
  } finally {
    model.setWeights(current);
    current.forEach((t) => t.dispose());
  }
}

/** Starts from the champion's weights when the features, classes and architecture all match. */
async function tryWarmStart(
  tf: Tf,
  store: ArtifactStore,
  model: LayersModel,
  champion: NonNullable<TrainJob['warmStart']>,
  task: TaskType,
  train: BatchSource,
): Promise<WarmStartRecord> {
  const cold = (reason: string): WarmStartRecord => ({ used: false, reason: `cold start: ${reason}` });
  const meta = await readModelMeta(store, champion.modelFolderKey);
  if (meta.format !== 'trainyard-tfjs-layers')
    return cold(`the champion (v${champion.version}) is a ${meta.train.model} model, not a network`);
  if (meta.task !== task)
    return cold(`the champion (v${champion.version}) is a ${meta.task} model, this run trains ${task}`);
  if (
    meta.featureCount !== train.featureCount ||
    meta.featureNames.join('\u0000') !== train.featureNames.join('\u0000')
  ) {
    return cold(
      `the champion (v${champion.version}) was trained on ${meta.featureCount} features, this run's preprocessor gives ${train.featureCount} (or other names/order)`,
    );
  }
  if ((meta.classes ?? []).join('\u0000') !== (train.classes ?? []).join('\u0000')) {
    return cold(
      `the champion's classes [${(meta.classes ?? []).join(', ')}] differ from this run's [${(train.classes ?? []).join(', ')}]`,
    );
  }
  try {
    await loadWeightsInto(tf, store, champion.modelFolderKey, model, meta.files);
  } catch (error) {
    return cold(
      `the champion's architecture does not match: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    used: true,
    parentVersion: champion.version,
    reason: `warm start from champion v${champion.version}: same features, classes and architecture`,
  };
}

function coldStart(job: TrainJob): WarmStartRecord {
  if (!job.settings.warmStart) return { used: false, reason: 'cold start: warm start not requested' };
  return { used: false, reason: 'cold start: no champion to start from' };
}

/** Everything that decides what training computes; a checkpoint of a different job is never resumed. */
export function jobFingerprint(
  job: TrainJob,
  train: Pick<BatchSource, 'featureCount' | 'featureNames' | 'classes' | 'rows'>,
): string {
  const identity = {
    task: job.task,
    settings: job.settings,
    seed: job.seed,
    classWeights: job.classWeights ?? null,
    inputs: job.inputsFingerprint,
    features: [train.featureCount, train.featureNames, train.classes ?? null, train.rows],
    warmStart: job.settings.warmStart ? (job.warmStart?.version ?? null) : null,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}
