import {
  isCancellation,
  patched,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { pipelineRetryRules } from '../contracts/operator-retry';
import type { PipelineInput } from '../contracts/pipeline-input';
import { parsePipelineInputOrFail } from '../contracts/pipeline-input-failure';
import type { Decision } from '../contracts/stage-results';
import type { StageStatus } from '../contracts/stages';
import { ApprovalInbox } from './approval-inbox';
import { statusQuery } from './messages';
import { runAsOf } from './run-as-of';
import { TrainyardModel } from './search-attributes';
import { stages } from './stage-activities';
import { OperatorDesk } from './operator-desk';
import { StageTracker } from './stage-tracker';

export interface PipelineResult {
  outcome: 'promoted' | 'registered' | 'rejected';
  model: string;
  version?: number;
  decision: Decision;
  reasons: string[];
  metrics: Record<string, number>;
  /** 95% confidence intervals of `metrics` on the test rows, [lower, upper]. */
  intervals?: Record<string, [number, number]>;
  evaluationUri: string;
  reportUrl: string;
  stages: StageStatus[];
}

/**
 * The training pipeline, top to bottom: validate → split/sample → preprocess → train → evaluate →
 * register → (approve) → promote. Each stage is an activity returning references to what it wrote.
 */
export async function trainingPipeline(rawInput: unknown): Promise<PipelineResult> {
  const tracker = new StageTracker();
  const approvals = new ApprovalInbox(tracker);
  const operator = new OperatorDesk(tracker, pipelineRetryRules);
  setHandler(statusQuery, () => tracker.status);

  try {
    const input = tracker.runInline('validateInput', () => parsePipelineInputOrFail(rawInput));
    // A stage failing on bad data or config waits for `trainyard retry` (with fixes) or `abort`.
    return await operator.run(input, (current) => runStages(current, tracker, approvals));
  } catch (error) {
    // Cancelled while waiting for an operator (a cancelled stage has already said so).
    if (isCancellation(error) && patched('cancelled-outcome')) tracker.setOutcome('cancelled');
    throw error;
  }
}

async function runStages(
  input: PipelineInput,
  tracker: StageTracker,
  approvals: ApprovalInbox,
): Promise<PipelineResult> {
  describeRun(tracker, input);
  const resolveChampion = () =>
    tracker.championOnce(
      async () => (await stages.getChampion({ model: input.model, alias: input.promotion.alias })) ?? undefined,
    );
  const fingerprint = () =>
    tracker.run(
      'fingerprintDataset',
      () =>
        stages.fingerprintDataset({ uri: input.dataset.uri, partitions: input.dataset.partitions, asOf: runAsOf() }),
      (d) => [{ kind: 'dataset', ...d }],
    );
  // Neither needs the other, so both are scheduled in one workflow task: one round trip fewer per run.
  // Runs that began before this change replay in their recorded order.
  const [champion, dataset] = patched('concurrent-champion-and-fingerprint')
    ? await Promise.all([resolveChampion(), fingerprint()])
    : [await resolveChampion(), await fingerprint()];
  const validation = await tracker.run(
    'validateData',
    () => stages.validateData({ input, dataset, champion }),
    (v) => [v.statistics, v.schema, v.anomalies],
  );
  const split = await tracker.run(
    'splitAndSample',
    () => stages.splitAndSample({ input, dataset }),
    (s) => [s.manifest, s.splits.train, s.splits.validation, s.splits.test],
  );
  const preprocessor = await tracker.run(
    'fitPreprocessor',
    () => stages.fitPreprocessor({ input, split }),
    (p) => [p.preprocessor],
  );
  const trained = await tracker.run(
    'train',
    () => stages.train({ input, split, preprocessor, champion }),
    (t) => [t.model, t.history],
  );
  const evaluation = await tracker.run(
    'evaluate',
    () => stages.evaluate({ input, split, preprocessor, trained, champion }),
    (e) => [e.evaluation, e.report],
  );
  tracker.recordReport(evaluation.reportUrl);
  upsertMemo({ report: evaluation.reportUrl, evaluation: evaluation.evaluation.uri });
  tracker.note('evaluate', `${evaluation.decision}: ${evaluation.reasons.join(' ')}`);

  const result = (outcome: PipelineResult['outcome'], version?: number): PipelineResult => {
    tracker.setOutcome(outcome);
    return {
      outcome,
      model: input.model,
      version,
      decision: evaluation.decision,
      reasons: evaluation.reasons,
      metrics: evaluation.metrics,
      ...(evaluation.intervals ? { intervals: evaluation.intervals } : {}),
      evaluationUri: evaluation.evaluation.uri,
      reportUrl: evaluation.reportUrl,
      stages: tracker.stages(),
    };
  };

  // A rejected model is an outcome, not an error: the champion stays where it is.
  if (evaluation.decision === 'rejected') {
    for (const stage of ['register', 'approve', 'promote'] as const)
      tracker.skip(stage, 'the evaluation gate rejected the model');
    return result('rejected');
  }

  const registered = await tracker.run('register', () =>
    stages.registerModel({
      input,
      dataset,
      validation,
      split,
      preprocessor,
      trained,
      evaluation,
      warmStartParent: trained.warmStart.parentVersion,
    }),
  );
  tracker.recordVersion(registered.version);

  // The gate may bless a model yet stop automatic promotion (the champion collapsed on this split).
  const approval =
    input.promotion.policy === 'manual' || evaluation.approvalRequired
      ? await approvals.waitFor(registered.version, input.promotion.approvalTimeout, evaluation.approvalRequired)
      : { decision: 'approve' as const, by: 'trainyard', reason: `auto promotion: ${evaluation.reasons.join(' ')}` };
  if (approval.decision === 'reject') {
    tracker.skip('promote', `not approved: ${approval.reason} (${approval.by})`);
    return result('registered', registered.version);
  }

  await tracker.run('promote', () =>
    stages.promote({
      model: input.model,
      version: registered.version,
      alias: input.promotion.alias,
      by: approval.by,
      reason: approval.reason,
    }),
  );
  return result('promoted', registered.version);
}

function describeRun(tracker: StageTracker, input: PipelineInput): void {
  tracker.describeModel(input.model);
  if (workflowInfo().typedSearchAttributes.get(TrainyardModel) !== input.model) {
    upsertSearchAttributes([{ key: TrainyardModel, value: input.model }]);
  }
  upsertMemo({ model: input.model, dataset: input.dataset.uri });
}
