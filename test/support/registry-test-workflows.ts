// Workflows used only by test/integration/registry-activities.test.ts: they drive the registry
// activities through a real Temporal server the way trainingPipeline does.
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES, rootFailure, type FailureSummary } from '../../contracts/errors';
import type { Activities } from '../../activities';
import type { RegisterModelArgs } from '../../activities/registry';
import { approvalUpdate, type ApprovalAck, type ApprovalDecision } from '../../workflows/messages';

const { registerModel, promote, getChampion } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '100 ms', maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

export async function registryScenario(outputs: RegisterModelArgs) {
  const model = outputs.input.model;
  const championBefore = await getChampion({ model });
  const registered = await registerModel(outputs);
  // What a retried attempt sees: the same run registering the same model again.
  const registeredAgain = await registerModel(outputs);
  const promoted = await promote({
    model,
    version: registered.version,
    alias: 'champion',
    by: 'pipeline',
    reason: 'blessed by the gate',
  });
  const promotedAgain = await promote({
    model,
    version: registered.version,
    alias: 'champion',
    by: 'pipeline',
    reason: 'blessed by the gate',
  });
  const champion = await getChampion({ model });
  let missingVersion: FailureSummary | undefined;
  try {
    await promote({ model, version: 999, alias: 'champion', by: 'pipeline', reason: 'typo' });
  } catch (error) {
    missingVersion = rootFailure(error);
  }
  return { championBefore, registered, registeredAgain, promoted, promotedAgain, champion, missingVersion };
}

/**
 * A stand-in for trainingPipeline's manual-approval wait, with the same message definitions, so the
 * `trainyard approve|reject` CLI can be tested end to end before the pipeline grows that stage.
 */
export async function approvalScenario(): Promise<ApprovalDecision> {
  let decision: ApprovalDecision | undefined;
  setHandler(
    approvalUpdate,
    (received): ApprovalAck => {
      decision = received;
      return { accepted: true, version: 7 };
    },
    {
      validator: (_next: ApprovalDecision) => {
        if (decision)
          throw new Error(`already ${decision.decision === 'approve' ? 'approved' : 'rejected'} by ${decision.by}`);
      },
    },
  );
  let closed = false;
  setHandler(closeSignal, () => {
    closed = true;
  });
  await condition(() => decision !== undefined);
  await condition(() => closed, '5 minutes'); // stays open so that a second decision reaches the validator
  return decision as ApprovalDecision;
}

export const closeSignal = defineSignal('close');
