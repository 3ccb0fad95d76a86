import { ApplicationFailure, proxyActivities, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES, formatFieldProblems } from '../contracts/errors';
import { parsePipelineInput, type PipelineInput } from '../contracts/pipeline-input';
import type { DatasetFingerprint, StageStatus } from '../contracts/stages';
import type { Activities } from '../activities';
import { statusQuery } from './messages';
import { TrainyardModel } from './search-attributes';
import { StageTracker } from './stage-tracker';

/** Reading a dataset streams it from the store: minutes for large files, heartbeating as it goes. */
const { fingerprintDataset } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
  },
});

export interface PipelineResult {
  outcome: 'registered';
  model: string;
  dataset: DatasetFingerprint;
  stages: StageStatus[];
}

/**
 * The training pipeline, read top to bottom. Each stage is an activity that returns a reference to
 * what it wrote; the stage issues add validateData → splitAndSample → fitPreprocessor → train →
 * evaluate → register → promote after the fingerprint.
 */
export async function trainingPipeline(rawInput: unknown): Promise<PipelineResult> {
  const tracker = new StageTracker();
  setHandler(statusQuery, () => tracker.status);

  const input = tracker.runInline('validateInput', () => validateInput(rawInput));
  tracker.status.model = input.model;
  upsertSearchAttributes([{ key: TrainyardModel, value: input.model }]);
  upsertMemo({ dataset: input.dataset.uri });

  const dataset = await tracker.run(
    'fingerprintDataset',
    () => fingerprintDataset({ uri: input.dataset.uri }),
    (fp) => [{ kind: 'dataset', uri: fp.uri, sha256: fp.sha256, bytes: fp.bytes }],
  );

  tracker.setOutcome('registered');
  return { outcome: 'registered', model: input.model, dataset, stages: tracker.status.stages };
}

/** The input may come from the Temporal UI as hand-written JSON: check every field before any work. */
function validateInput(rawInput: unknown): PipelineInput {
  const parsed = parsePipelineInput(rawInput);
  if (parsed.ok) return parsed.value;
  throw ApplicationFailure.create({
    type: FailureType.InvalidPipelineConfig,
    nonRetryable: true,
    message: `The pipeline input is invalid:\n${formatFieldProblems(parsed.problems)}`,
    details: [parsed.problems],
  });
}
