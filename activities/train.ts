import type { PipelineInput } from '../contracts/pipeline-input';
import type {
  ChampionRefs,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
} from '../contracts/stage-results';
import { requireTaskClasses } from '../lib/data/label-classes';
import { DEFAULT_SOURCES_MODULE, trainInThread, type ThreadMessage } from '../lib/model/train-in-thread';
import { firstBeat, nextBeat, readHeartbeat, trainJobOf, trainResultOf } from '../lib/model/train-job';
import { planTraining } from '../lib/model/training-budget';
import type { ActivityDeps } from './deps';
import { pipelineActivity } from './stage-run';

export type { TrainHeartbeat } from '../lib/model/train-job';

export interface TrainArgs {
  input: PipelineInput;
  split: SplitAndSampleResult;
  preprocessor: FitPreprocessorResult;
  champion?: ChampionRefs;
}

/**
 * Trains the model in a worker thread (lib/model/train-in-thread.ts), heartbeating on the lifecycle's
 * timer (not only per epoch) with the last checkpoint, so a retried attempt — after a crash, a lost
 * worker or a timeout — resumes from it.
 */
export function trainActivity(deps: ActivityDeps) {
  return trainActivityReading(deps, DEFAULT_SOURCES_MODULE);
}

/**
 * The train activity with the thread's batch sources loaded from `sourcesModule` (a module like
 * lib/model/split-sources.ts): the seam tests use to train on generated data instead of split files.
 */
export function trainActivityReading({ store, storeSettings, logger }: ActivityDeps, sourcesModule: string) {
  return pipelineActivity('train', undefined, async (args: TrainArgs, run): Promise<TrainResult> => {
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
        store: storeSettings,
        sources: {
          train: split.splits.train,
          validation: split.splits.validation,
          preprocessor: preprocessor.preprocessor,
        },
        sourcesModule,
      },
      { signal: run.signal, onMessage },
    );
    const result = trainResultOf(outcome, plan);
    const { backend, epochsRun, bestEpoch, resumedFromEpoch, trainMs } = result;
    logger.info({ workflowId, backend, epochsRun, bestEpoch, resumedFromEpoch, trainMs }, 'model trained');
    return result;
  });
}
