import { createHash } from 'node:crypto';
import type { ArtifactRef } from '../../contracts/artifacts';
import type { PipelineInput } from '../../contracts/pipeline-input';
import type {
  ChampionRefs,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
} from '../../contracts/stage-results';
import type { ArtifactStore } from '../store/artifact-store';
import { modelFolderKey } from './store-io';
import type { GbdtOutcome } from './gbdt/train-gbdt';
import type { ThreadMessage } from './train-in-thread';
import type { TrainJob, TrainOutcome } from './trainer';
import { budgetMs, type ResolvedTrainSettings, type TrainingPlan } from './training-budget';

/** What each heartbeat of training carries; a retried attempt reads it back to resume. */
export interface TrainHeartbeat {
  epoch: number;
  /** Epochs planned (early stopping may end sooner): lets `trainyard status` draw a progress bar. */
  epochs?: number;
  checkpoint?: ArtifactRef;
  metricsSoFar: {
    trainLoss?: number;
    validationLoss?: number;
    validationAccuracy?: number;
    bestEpoch?: number;
    bestValidationLoss?: number | null;
  };
  phase: 'starting' | 'training' | 'saving';
  /** Rows done in the epoch under way, of `rows` (the train split). */
  rowsDone?: number;
  rows?: number;
  /** Mean length of this attempt's epochs so far: with `epochs` and `epoch`, the time left. */
  meanEpochMs?: number;
  /** When training must end (ISO time), when `train.maxDuration` is set. */
  deadline?: string;
  backend?: string;
}

export interface TrainRequest {
  input: PipelineInput;
  split: SplitAndSampleResult;
  preprocessor: FitPreprocessorResult;
  champion?: ChampionRefs;
}

/** The job the training thread runs: settings, seed, inputs and the keys its outputs go to. */
export function trainJobOf(
  store: ArtifactStore,
  { input, split, preprocessor, champion }: TrainRequest,
  plan: TrainingPlan,
  run: { keyOf: (file: string) => string; runId: string; attempt: number; previous: TrainHeartbeat | undefined },
): TrainJob {
  return {
    task: input.task.type,
    settings: plan.settings,
    seed: input.seed,
    ...(split.classWeights ? { classWeights: split.classWeights } : {}),
    preprocessor: preprocessor.preprocessor,
    inputsFingerprint: sha256Of([
      split.splits.train.sha256,
      split.splits.validation.sha256,
      preprocessor.preprocessor.sha256,
    ]),
    keys: { checkpoints: run.keyOf('checkpoints'), model: run.keyOf('model'), history: run.keyOf('history.json') },
    runId: run.runId,
    attempt: run.attempt,
    ...(run.previous?.checkpoint ? { heartbeatCheckpoint: run.previous.checkpoint } : {}),
    ...(input.train.warmStart && champion
      ? { warmStart: { modelFolderKey: modelFolderKey(store, champion.modelRef.uri), version: champion.version } }
      : {}),
  };
}

/** The first beat of an attempt: where an earlier attempt got to, what is planned, and the deadline. */
export function firstBeat(previous: TrainHeartbeat | undefined, settings: ResolvedTrainSettings): TrainHeartbeat {
  const budget = budgetMs(settings);
  return {
    ...(previous ?? { epoch: 0, metricsSoFar: {} }),
    epochs: settings.model === 'gbdt' ? settings.gbdt.maxIterations : settings.epochs,
    phase: 'starting',
    ...(Number.isFinite(budget) ? { deadline: new Date(Date.now() + budget).toISOString() } : {}),
  };
}

/** The beat after a message from the training thread; `epochMs` collects this attempt's epoch lengths. */
export function nextBeat(beat: TrainHeartbeat, message: ThreadMessage, epochMs: number[]): TrainHeartbeat {
  switch (message.type) {
    case 'ready':
      return { ...beat, backend: message.backend, phase: 'training' };
    case 'progress':
      return { ...beat, rowsDone: message.rowsDone };
    case 'epoch': {
      const { report } = message;
      epochMs.push(report.record.epochMs);
      return {
        ...beat,
        epoch: report.epoch,
        checkpoint: report.checkpoint,
        rowsDone: 0,
        meanEpochMs: epochMs.reduce((a, b) => a + b, 0) / epochMs.length,
        metricsSoFar: {
          trainLoss: report.record.trainLoss,
          validationLoss: report.record.validationLoss,
          ...(report.record.validationAccuracy !== undefined
            ? { validationAccuracy: report.record.validationAccuracy }
            : {}),
          bestEpoch: report.bestEpoch,
          bestValidationLoss: report.bestValidationLoss,
        },
      };
    }
    default:
      return beat;
  }
}

/** Heartbeat details come back from the server as JSON written by an earlier attempt: check before use. */
export function readHeartbeat(details: unknown): TrainHeartbeat | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const d = details as Partial<TrainHeartbeat>;
  if (typeof d.epoch !== 'number' || !Number.isInteger(d.epoch) || d.epoch < 0) return undefined;
  const checkpoint =
    d.checkpoint && typeof d.checkpoint.uri === 'string' && d.checkpoint.kind === 'checkpoint'
      ? d.checkpoint
      : undefined;
  return {
    epoch: d.epoch,
    metricsSoFar: typeof d.metricsSoFar === 'object' && d.metricsSoFar ? d.metricsSoFar : {},
    phase: 'starting',
    ...(checkpoint ? { checkpoint } : {}),
  };
}

/** The stage's result from the thread's outcome and the plan it trained by. */
export function trainResultOf(outcome: TrainOutcome | GbdtOutcome, plan: TrainingPlan): TrainResult {
  return {
    model: outcome.model,
    history: outcome.history,
    backend: outcome.backend,
    epochsRun: outcome.epochsRun,
    bestEpoch: outcome.bestEpoch,
    resumedFromEpoch: outcome.resumedFromEpoch,
    warmStart: outcome.warmStart,
    trainMs: Math.round(outcome.trainMs),
    settings: {
      epochs: plan.settings.epochs,
      batchSize: plan.settings.batchSize,
      learningRate: plan.settings.learningRate,
    },
    choices: plan.choices,
  };
}

function sha256Of(parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}
