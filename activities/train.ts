import type { PipelineInput } from '../contracts/pipeline-input';
import type {
  ChampionRefs,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
} from '../contracts/stage-results';
import { loadConfig, type StoreSettings } from '../lib/config';
import { requireTaskClasses } from '../lib/data/label-classes';
import { trainInThread, type ThreadMessage } from '../lib/model/train-in-thread';
import { firstBeat, nextBeat, readHeartbeat, trainJobOf, trainResultOf } from '../lib/model/train-job';
import { planTraining } from '../lib/model/training-budget';
import type { ArtifactStore } from '../lib/store/artifact-store';
import { FsArtifactStore } from '../lib/store/fs-store';
import type { ActivityDeps } from './deps';
import { pipelineStage, runStage } from './stage-run';

export type { TrainHeartbeat } from '../lib/model/train-job';

export interface TrainArgs {
  input: PipelineInput;
  split: SplitAndSampleResult;
  preprocessor: FitPreprocessorResult;
  champion?: ChampionRefs;
}

export interface TrainActivityOptions {
  /** How the training thread opens its own store; default: the worker's environment (checked against deps.store). */
  storeSettings?: StoreSettings;
  /** Module the thread loads batch sources from (tests use generated data); default: the split artifacts. */
  sourcesModule?: string;
}

/**
 * Trains the model in a worker thread (lib/model/train-in-thread.ts), heartbeating on the lifecycle's
 * timer (not only per epoch) with the last checkpoint, so a retried attempt — after a crash, a lost
 * worker or a timeout — resumes from it.
 */
export function trainActivity({ store, logger }: ActivityDeps, options: TrainActivityOptions = {}) {
  const stage = pipelineStage<TrainArgs>('train');
  return (raw: TrainArgs): Promise<TrainResult> =>
    runStage(stage, raw, async (args, run) => {
      const { input, split, preprocessor } = args;
      requireTaskClasses(input.task.type, preprocessor.classes);
      const { workflowId, attempt } = run;
      const previous = readHeartbeat(run.info.heartbeatDetails);
      const plan = planTraining(input.train, split.rows.train);
      const job = trainJobOf(store, args, plan, {
        keyOf: (file) => run.keyOf(file),
        runId: run.runId,
        attempt,
        previous,
      });

      let beat = firstBeat(previous, plan.settings);
      run.progress(beat);
      const epochMs: number[] = [];
      const onMessage = (message: ThreadMessage) => {
        beat = nextBeat(beat, message, epochMs);
        run.progress(beat, message.type === 'epoch');
        if (message.type === 'ready') {
          const { backend, fallbackReasons } = message;
          logger.info({ backend, fallbackReasons, workflowId, attempt }, 'training thread ready');
        } else if (message.type === 'resumed') {
          const { epoch, source } = message;
          logger.info({ epoch, source, workflowId, attempt }, 'training resumed from checkpoint');
        } else if (message.type === 'epoch') {
          logger.debug({ workflowId, ...message.report.record }, 'epoch done');
        }
      };

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
        { signal: run.signal, onMessage },
      );
      const result = trainResultOf(outcome, plan);
      const { backend, epochsRun, bestEpoch, resumedFromEpoch, trainMs } = result;
      logger.info({ workflowId, backend, epochsRun, bestEpoch, resumedFromEpoch, trainMs }, 'model trained');
      return result;
    });
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
