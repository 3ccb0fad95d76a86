import type { Batch, BatchSource } from '../../data/batches';
import type { ArtifactStore } from '../../store/artifact-store';
import { deriveSeed } from '../build-model';
import type { AttemptRecord, EpochRecord, WarmStartRecord } from '../checkpoint';
import { mulberry32 } from '../memory-batch-source';
import type { GbdtModelMeta } from '../model-meta';
import { readModelMeta } from '../store-io';
import {
  jobFingerprint,
  TrainingCancelled,
  type EpochReport,
  type TrainHooks,
  type TrainJob,
  type TrainOutcome,
} from '../trainer';
import { autoSubsample, budgetMs, MaxDurationTooShort } from '../training-budget';
import { readBinned, readBinnedTrain, type BinnedSplit } from './binned-data';
import type { Ensemble, Tree } from './ensemble';
import { findGbdtResumePoint, writeGbdtCheckpoint, type GbdtCheckpointDraft } from './gbdt-checkpoint';
import { readEnsemble, writeGbdtModel } from './gbdt-model-io';
import { growTree, leafOfBinned, type GrowRules } from './grow-tree';
import { HistogramPool, histogramSize } from './histogram';
import { HistogramThreads } from './histogram-threads';
import { objectiveFor } from './objective';

export const GBDT_BACKEND = 'typescript';

export interface GbdtDeps {
  store: ArtifactStore;
  train: BatchSource;
  validation: BatchSource;
  /** Threads that build histograms, this one included; default: one per core, at most 4. Trees do not depend on it. */
  histogramThreads?: number;
}

/** What trainGbdt returns: the shape of the MLP's TrainOutcome, a round standing for an epoch. */
export interface GbdtOutcome extends Omit<TrainOutcome, 'meta' | 'backend'> {
  meta: GbdtModelMeta;
  backend: typeof GBDT_BACKEND;
}

/** A validation loss must drop by more than this to count as better (scikit-learn's tol). */
const IMPROVEMENT_TOLERANCE = 1e-7;

/**
 * Boosting rounds, on whatever thread calls it: the train split binned once, one tree per output per
 * round on the gradients of the current raw scores, early stopping on the validation loss (keeping the
 * best round's trees), a checkpoint every `checkpointEveryRounds`, resume from this run's newest
 * checkpoint, warm start from a gbdt champion. Ends with the model, its meta and the history in the store.
 */
export async function trainGbdt(
  deps: GbdtDeps,
  job: TrainJob,
  hooks: Pick<TrainHooks, 'onEpoch' | 'onResume' | 'shouldStop'> = {},
): Promise<GbdtOutcome> {
  const startedMs = performance.now();
  const settings = job.settings.gbdt;
  const { store, train, validation } = deps;
  const classes = train.classes;
  const objective = objectiveFor(job.task, classes?.length ?? 0);
  const k = objective.outputs;
  const fingerprint = jobFingerprint(job, train);

  let state: GbdtCheckpointDraft & { round: number };
  let start: Ensemble | undefined;
  const resume = await findGbdtResumePoint(
    store,
    job.keys.checkpoints,
    { runId: job.runId, fingerprint },
    job.heartbeatCheckpoint,
  );
  if (resume) {
    const { formatVersion: _v, format: _f, trees: _t, ...kept } = resume.state;
    state = kept;
    start = resume.ensemble;
    hooks.onResume?.({ epoch: resume.state.round, source: resume.source });
  } else {
    const warm =
      job.settings.warmStart && job.warmStart
        ? await tryWarmStart(store, job.warmStart, job.task, train)
        : { record: coldStart(job) };
    start = warm.ensemble;
    state = {
      round: 0,
      runId: job.runId,
      fingerprint,
      bestRound: 0,
      bestValidationLoss: null,
      roundsWithoutImprovement: 0,
      stoppedEarly: false,
      startTrees: start?.trees.length ?? 0,
      history: [],
      attempts: [],
      warmStart: warm.record,
    };
  }
  const resumedFromEpoch = state.round;
  const attempt: AttemptRecord = {
    attempt: job.attempt,
    resumedFromEpoch,
    startedAt: new Date().toISOString(),
    backend: GBDT_BACKEND,
  };
  state.attempts = [...state.attempts, attempt];

  const weightsOf = rowWeightsOf(job.classWeights, classes);
  const data = await readBinnedTrain(train, settings.maxBins, weightsOf, start);
  const subsample = settings.subsample ?? autoSubsample(data.rows);
  const held = validation.rows > 0 ? await readBinned(validation, data.thresholds, () => undefined, start) : undefined;
  const ensemble: Ensemble = start
    ? { ...start, trees: [...start.trees] }
    : { task: job.task, outputs: k, baseScores: objective.baseScores(data.y, data.weights), trees: [] };
  const scores = data.startScores ?? baseScoresFor(ensemble, data.rows);
  const heldScores = held ? (held.startScores ?? baseScoresFor(ensemble, held.rows)) : undefined;
  const lossesNow = () => {
    const trainLoss = objective.loss(scores, data.y, data.weights);
    if (!held || !heldScores) return { trainLoss, validationLoss: trainLoss };
    const accuracy = objective.accuracy?.(heldScores, held.y);
    return {
      trainLoss,
      validationLoss: objective.loss(heldScores, held.y),
      ...(accuracy !== undefined ? { validationAccuracy: accuracy } : {}),
    };
  };
  // Round 0 is the starting model: boosting must beat it to count (scikit-learn scores it too).
  if (state.round === 0) state.bestValidationLoss = lossesNow().validationLoss;

  const rules: GrowRules = {
    maxLeafNodes: settings.maxLeafNodes,
    ...(settings.maxDepth !== undefined ? { maxDepth: settings.maxDepth } : {}),
    minSamplesLeaf: settings.minSamplesLeaf,
    minHessianLeaf: settings.minHessianLeaf,
    l2Regularization: settings.l2Regularization,
    learningRate: settings.learningRate,
  };
  // Gradients and the row order live in shared memory: histogram threads read them in place.
  const shared = <T>(Kind: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }) =>
    new Kind(new SharedArrayBuffer(data.rows * Kind.BYTES_PER_ELEMENT));
  const grad = Array.from({ length: k }, () => shared(Float32Array));
  const hess = Array.from({ length: k }, () => shared(Float32Array));
  const order = shared(Uint32Array);
  const sample = new Uint32Array(data.rows);
  const scratch = new Uint32Array(data.rows);
  const pool = new HistogramPool(histogramSize(data.featureCount), settings.maxLeafNodes + 1);
  // train.maxDuration counts rounds of every attempt (not binning), like the MLP's epochs.
  const budget = budgetMs(job.settings);
  const spentBeforeMs = state.history.reduce((sum, r) => sum + r.epochMs, 0);
  const attemptStartMs = performance.now();
  let timeUp = false;
  const threads = await HistogramThreads.start(
    { bins: data.bins, featureCount: data.featureCount, order, grad, hess, pool },
    deps.histogramThreads,
  );
  try {
    for (let round = state.round + 1; round <= settings.maxIterations && !state.stoppedEarly && !timeUp; round++) {
      if (hooks.shouldStop?.()) throw new TrainingCancelled();
      const roundStartMs = performance.now();
      objective.gradients(scores, data.y, data.weights, grad, hess);
      const sampled = drawRows(sample, data.rows, subsample, deriveSeed(job.seed, 20_000 + round));
      for (let c = 0; c < k; c++) {
        order.set(sample.subarray(0, sampled));
        const histograms = {
          take: () => pool.take(),
          give: (hist: Float64Array) => pool.give(hist),
          build: (start: number, end: number, hist: Float64Array) => threads.build(start, end, c, hist),
        };
        const grown = growTree(
          data,
          order,
          sampled,
          scratch,
          grad[c] as Float32Array,
          hess[c] as Float32Array,
          rules,
          histograms,
        );
        ensemble.trees.push(grown.tree);
        if (sampled === data.rows) {
          for (const leaf of grown.leaves) {
            const value = grown.tree.value[leaf.node] as number;
            for (let i = leaf.start; i < leaf.end; i++) {
              const at = (order[i] as number) * k + c;
              scores[at] = (scores[at] as number) + value;
            }
          }
        } else {
          addTreeOnBins(grown.tree, grown.thresholdBin, data, scores, k, c);
        }
        if (held && heldScores) addTreeOnBins(grown.tree, grown.thresholdBin, held, heldScores, k, c);
      }
      const roundMs = performance.now() - roundStartMs;
      const losses = lossesNow();
      const record: EpochRecord = {
        epoch: round,
        attempt: job.attempt,
        ...losses,
        trainRows: data.rows,
        epochMs: performance.now() - roundStartMs,
        samplesPerSecond: roundMs > 0 ? (data.rows / roundMs) * 1000 : 0,
      };
      if (round === 1 && record.epochMs > budget) {
        throw new MaxDurationTooShort(
          job.settings.maxDuration ?? '',
          record.epochMs,
          record.samplesPerSecond,
          data.rows,
        );
      }
      timeUp = spentBeforeMs + (performance.now() - attemptStartMs) >= budget;
      const improved =
        state.bestValidationLoss === null || losses.validationLoss < state.bestValidationLoss - IMPROVEMENT_TOLERANCE;
      const roundsWithoutImprovement = improved ? 0 : state.roundsWithoutImprovement + 1;
      state = {
        ...state,
        round,
        bestRound: improved ? round : state.bestRound,
        bestValidationLoss: improved ? losses.validationLoss : state.bestValidationLoss,
        roundsWithoutImprovement,
        stoppedEarly: job.settings.earlyStopping.enabled && roundsWithoutImprovement >= settings.earlyStoppingRounds,
        history: [...state.history, record],
      };
      if (
        round % settings.checkpointEveryRounds === 0 ||
        round === settings.maxIterations ||
        state.stoppedEarly ||
        timeUp
      ) {
        if (hooks.shouldStop?.()) throw new TrainingCancelled(); // a cancelled attempt writes nothing more
        const { round: _round, ...draft } = state;
        const checkpoint = await writeGbdtCheckpoint(store, job.keys.checkpoints, round, ensemble, draft);
        const report: EpochReport = {
          epoch: round,
          checkpoint,
          record,
          bestEpoch: state.bestRound,
          bestValidationLoss: state.bestValidationLoss,
        };
        hooks.onEpoch?.(report);
      }
    }
  } finally {
    await threads.close();
  }

  // Out of time, the best round so far is the model, as with early stopping.
  const finalRound = job.settings.earlyStopping.enabled || timeUp ? state.bestRound : state.round;
  const { meta, put } = await writeGbdtModel(store, job.keys.model, ensemble, state.startTrees + finalRound * k, {
    task: job.task,
    ...(classes ? { classes } : {}),
    featureCount: train.featureCount,
    featureNames: train.featureNames,
    ...(job.preprocessor ? { preprocessor: job.preprocessor } : {}),
    train: job.settings,
    seed: job.seed,
    epochsRun: state.round,
    bestEpoch: finalRound,
  });
  const history = {
    model: 'gbdt',
    epochs: state.history,
    attempts: state.attempts,
    bestEpoch: state.bestRound,
    bestValidationLoss: state.bestValidationLoss,
    stoppedEarly: state.stoppedEarly,
    ...(timeUp ? { stoppedBy: `train.maxDuration ${job.settings.maxDuration}` } : {}),
    warmStart: state.warmStart,
    backend: GBDT_BACKEND,
    trees: { fromChampion: state.startTrees, grown: finalRound * k, perRound: k },
    bins: Array.from(data.binCounts),
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
      metadata: { format: meta.format, task: job.task, backend: GBDT_BACKEND },
    },
    history: {
      kind: 'history',
      uri: historyPut.uri,
      sha256: historyPut.sha256,
      bytes: historyPut.bytes,
      metadata: { content: 'training-history' },
    },
    meta,
    backend: GBDT_BACKEND,
    epochsRun: state.round,
    bestEpoch: finalRound,
    resumedFromEpoch,
    stoppedEarly: state.stoppedEarly,
    warmStart: state.warmStart,
    trainMs: performance.now() - startedMs,
    records: state.history,
  };
}

function baseScoresFor(ensemble: Ensemble, rows: number): Float64Array {
  const k = ensemble.outputs;
  const scores = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) for (let c = 0; c < k; c++) scores[r * k + c] = ensemble.baseScores[c] as number;
  return scores;
}

/** Adds a freshly grown tree's values to output `c` of every binned row. */
function addTreeOnBins(
  tree: Tree,
  thresholdBin: Uint8Array,
  split: BinnedSplit,
  scores: Float64Array,
  k: number,
  c: number,
): void {
  for (let r = 0; r < split.rows; r++) {
    const at = r * k + c;
    scores[at] =
      (scores[at] as number) +
      (tree.value[leafOfBinned(tree, thresholdBin, split.bins, r * split.featureCount)] as number);
  }
}

/**
 * The round's rows into `sample` (ascending): all of them, or each with probability `fraction` from a
 * generator seeded by the round alone, so a resumed run draws the same rows.
 */
function drawRows(sample: Uint32Array, rows: number, fraction: number, seed: number): number {
  if (fraction >= 1) {
    for (let i = 0; i < rows; i++) sample[i] = i;
    return rows;
  }
  const random = mulberry32(seed);
  let n = 0;
  for (let i = 0; i < rows; i++) if (random() < fraction) sample[n++] = i;
  return n;
}

function rowWeightsOf(
  classWeights: Record<string, number> | undefined,
  classes: string[] | undefined,
): (batch: Batch) => Float32Array | undefined {
  if (!classWeights || !classes) return (batch) => batch.weights;
  const byIndex = classes.map((label) => classWeights[label] ?? 1);
  return (batch) => batch.weights ?? Float32Array.from(batch.y, (label) => byIndex[label] ?? 1);
}

/** Continues from the champion's trees when it is a gbdt model of the same task, features and classes. */
async function tryWarmStart(
  store: ArtifactStore,
  champion: NonNullable<TrainJob['warmStart']>,
  task: TrainJob['task'],
  train: BatchSource,
): Promise<{ record: WarmStartRecord; ensemble?: Ensemble }> {
  const cold = (reason: string) => ({ record: { used: false, reason: `cold start: ${reason}` } });
  const meta = await readModelMeta(store, champion.modelFolderKey);
  if (meta.format !== 'trainyard-gbdt')
    return cold(
      `the champion (v${champion.version}) is a ${meta.train.model} model; boosting continues only from gbdt trees`,
    );
  if (meta.task !== task)
    return cold(`the champion (v${champion.version}) is a ${meta.task} model, this run trains ${task}`);
  if (meta.featureNames.join('\u0000') !== train.featureNames.join('\u0000')) {
    return cold(
      `the champion (v${champion.version}) was trained on ${meta.featureCount} features, this run's preprocessor gives ${train.featureCount} (or other names/order)`,
    );
  }
  if ((meta.classes ?? []).join('\u0000') !== (train.classes ?? []).join('\u0000')) {
    return cold(
      `the champion's classes [${(meta.classes ?? []).join(', ')}] differ from this run's [${(train.classes ?? []).join(', ')}]`,
    );
  }
  const ensemble = await readEnsemble(store, meta.files.trees);
  const rounds = ensemble.trees.length / ensemble.outputs;
  return {
    record: {
      used: true,
      parentVersion: champion.version,
      reason: `warm start from champion v${champion.version}: boosting continues after its ${rounds} rounds (same features and classes)`,
    },
    ensemble,
  };
}

function coldStart(job: TrainJob): WarmStartRecord {
  if (!job.settings.warmStart) return { used: false, reason: 'cold start: warm start not requested' };
  return { used: false, reason: 'cold start: no champion to start from' };
}
