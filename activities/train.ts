import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactRef } from '../contracts/artifacts';
import { FailureType } from '../contracts/errors';
import type { PipelineInput } from '../contracts/pipeline-input';
import type {
  ChampionRefs,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
} from '../contracts/stage-results';
import { loadConfig, type StoreSettings } from '../lib/config';
import { trainInThread, TrainThreadError, type ThreadMessage } from '../lib/model/train-in-thread';
import type { TrainJob } from '../lib/model/trainer';
import { budgetMs, planTraining, type ResolvedTrainSettings } from '../lib/model/training-budget';
import { modelFolderKey } from '../lib/model/store-io';
import { stageKey } from '../lib/run-keys';
import type { ArtifactStore } from '../lib/store/artifact-store';
import { FsArtifactStore } from '../lib/store/fs-store';
import type { ActivityDeps } from './deps';

export interface TrainArgs {
  input: PipelineInput;
  split: SplitAndSampleResult;
  preprocessor: FitPreprocessorResult;
  champion?: ChampionRefs;
}

/** What each heartbeat carries; a retried attempt reads it back to resume. */
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

export const TRAIN_HEARTBEAT_EVERY_MS = 5_000;

export interface TrainActivityOptions {
  /** How the training thread opens its own store; default: the worker's environment (checked against deps.store). */
  storeSettings?: StoreSettings;
  /** Module the thread loads batch sources from (tests use generated data); default: the split artifacts. */
  sourcesModule?: string;
}

/**
 * Trains the model in a worker thread, heartbeating on a timer (not only per epoch) with the last
 * checkpoint, so a retried attempt — after a crash, a lost worker or a timeout — resumes from it.
 */
export function trainActivity({ store, logger }: ActivityDeps, options: TrainActivityOptions = {}) {
  return async function train(args: TrainArgs): Promise<TrainResult> {
    const ctx = Context.current();
    const execution = ctx.info.workflowExecution;
    if (!execution) throw new Error('train must run as part of a workflow: its outputs are keyed by the workflow id');
    const { workflowId, runId } = execution;
    const { input, split, preprocessor, champion } = args;
    checkClasses(input.task.type, preprocessor.classes);

    const previous = readHeartbeat(ctx.info.heartbeatDetails);
    const plan = planTraining(input.train, split.rows.train);
    const job: TrainJob = {
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
      keys: {
        checkpoints: stageKey(input.model, workflowId, 'train', 'checkpoints'),
        model: stageKey(input.model, workflowId, 'train', 'model'),
        history: stageKey(input.model, workflowId, 'train', 'history.json'),
      },
      runId,
      attempt: ctx.info.attempt,
      ...(previous?.checkpoint ? { heartbeatCheckpoint: previous.checkpoint } : {}),
      ...(input.train.warmStart && champion
        ? { warmStart: { modelFolderKey: modelFolderKey(store, champion.modelRef.uri), version: champion.version } }
        : {}),
    };

    let beat: TrainHeartbeat = {
      ...(previous ?? { epoch: 0, metricsSoFar: {} }),
      epochs: plan.settings.model === 'gbdt' ? plan.settings.gbdt.maxIterations : plan.settings.epochs,
      phase: 'starting',
      ...timeBudgetOf(plan.settings),
    };
    ctx.heartbeat(beat);
    const timer = setInterval(() => ctx.heartbeat(beat), TRAIN_HEARTBEAT_EVERY_MS);
    const epochMs: number[] = [];
    const onMessage = (message: ThreadMessage) => {
      switch (message.type) {
        case 'ready':
          beat = { ...beat, backend: message.backend, phase: 'training' };
          logger.info(
            {
              backend: message.backend,
              fallbackReasons: message.fallbackReasons,
              workflowId,
              attempt: ctx.info.attempt,
            },
            'training thread ready',
          );
          break;
        case 'resumed':
          logger.info(
            { epoch: message.epoch, source: message.source, workflowId, attempt: ctx.info.attempt },
            'training resumed from checkpoint',
          );
          break;
        case 'progress':
          beat = { ...beat, rowsDone: message.rowsDone };
          break;
        case 'epoch': {
          const { report } = message;
          epochMs.push(report.record.epochMs);
          beat = {
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
          ctx.heartbeat(beat);
          logger.debug({ workflowId, ...report.record }, 'epoch done');
          break;
        }
        case 'done':
        case 'failed':
          break;
      }
    };

    try {
      const outcome = await trainInThread(
        {
          job,
          store: options.storeSettings ?? storeSettingsOf(store),
          sources: {
            train: split.splits.train,
            validation: split.splits.validation,
            preprocessor: preprocessor.preprocessor,
          },
          ...(options.sourcesModule ? { sourcesModule: options.sourcesModule } : {}),
        },
        { signal: ctx.cancellationSignal, onMessage },
      );
      logger.info(
        {
          workflowId,
          backend: outcome.backend,
          epochsRun: outcome.epochsRun,
          bestEpoch: outcome.bestEpoch,
          resumedFromEpoch: outcome.resumedFromEpoch,
          trainMs: Math.round(outcome.trainMs),
        },
        'model trained',
      );
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
    } catch (error) {
      throw asActivityFailure(error);
    } finally {
      clearInterval(timer);
    }
  };
}

/** The heartbeat's view of the time budget: when training must end, if it must. */
function timeBudgetOf(settings: ResolvedTrainSettings): Pick<TrainHeartbeat, 'deadline'> {
  const budget = budgetMs(settings);
  return Number.isFinite(budget) ? { deadline: new Date(Date.now() + budget).toISOString() } : {};
}

function checkClasses(task: PipelineInput['task']['type'], classes: string[] | undefined): void {
  if (task === 'regression') return;
  const count = classes?.length ?? 0;
  const ok = task === 'binary' ? count === 2 : count >= 2;
  if (ok) return;
  throw ApplicationFailure.create({
    type: FailureType.InvalidPipelineConfig,
    nonRetryable: true,
    message:
      task === 'binary'
        ? `task.type is "binary" but the label has ${count} classes (${(classes ?? []).join(', ')}); use "multiclass", or derive a two-valued label.`
        : `task.type is "multiclass" but the label has ${count} class(es); a classifier needs at least two.`,
    details: [{ path: 'task.type', classes: classes ?? [] }],
  });
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

/**
 * The training thread opens its own store. A local store is described by its root; an S3 store by the
 * worker's environment, which is what built `store` in the first place.
 */
function storeSettingsOf(store: ArtifactStore): StoreSettings {
  if (store instanceof FsArtifactStore) return { kind: 'fs', root: store.root };
  const settings = loadConfig().store;
  if (settings.kind !== store.kind) {
    throw new Error(
      `the worker's store is ${store.kind} but its environment describes a ${settings.kind} store; pass storeSettings to trainActivity`,
    );
  }
  return settings;
}

function asActivityFailure(error: unknown): unknown {
  if (error instanceof TrainThreadError && error.nonRetryable) {
    return ApplicationFailure.create({
      type: error.failureType ?? 'TrainingFailed',
      nonRetryable: true,
      message: error.message,
      details: error.details ?? [],
    });
  }
  return error;
}

function sha256Of(parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}
