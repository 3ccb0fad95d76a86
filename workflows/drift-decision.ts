import type { DriftCheckResult } from '../contracts/drift-check';
import type { DriftMonitorInput } from '../contracts/drift-monitor-input';
import type { PipelineInput } from '../contracts/pipeline-input';
import type { DatasetFingerprint } from '../contracts/stages';
import type { RetrainAction } from './drift-monitor-messages';

/** The drift monitor's decisions, pure (no workflow API), so they are unit-tested outside the sandbox. */

/** Train on the batch when it drifted, or when there is no champion yet and the monitor may train a first one. */
export function shouldRetrain(
  check: Pick<DriftCheckResult, 'outcome' | 'drifted'>,
  input: Pick<DriftMonitorInput, 'trainWithoutChampion'>,
): boolean {
  return check.drifted || (check.outcome === 'no-champion' && input.trainWithoutChampion);
}

/**
 * The pipeline input of a drift-triggered run: the monitor's training config on exactly the batch that
 * was checked (its partitions pinned by name). Drift is why the run exists, so validation reports it as
 * a warning instead of failing the run on it.
 */
export function retrainInput(input: DriftMonitorInput, batch: DatasetFingerprint): PipelineInput {
  const { pipeline } = input;
  return {
    ...pipeline,
    model: input.model,
    dataset: {
      uri: batch.uri,
      format: input.dataset.format,
      partitions: batch.partitions ? { names: batch.partitions } : 'all',
    },
    validation: { ...pipeline.validation, drift: { ...pipeline.validation.drift, severity: 'warning' } },
  };
}

/** The check's verdict and what was done about it, in one sentence for the memo and `status`. */
export function explain(
  check: Pick<DriftCheckResult, 'outcome' | 'reason'>,
  retrain: RetrainAction,
  input: Pick<DriftMonitorInput, 'trainWithoutChampion'>,
): string {
  if (retrain.action === 'started') {
    return check.outcome === 'no-champion'
      ? `${check.reason} Training a first version on this batch: ${retrain.workflowId}.`
      : `${check.reason} Retraining started: ${retrain.workflowId}.`;
  }
  if (retrain.action === 'already-started')
    return `${check.reason} Already retraining on this batch: ${retrain.workflowId}.`;
  if (check.outcome === 'no-champion' && !input.trainWithoutChampion)
    return `${check.reason} Not training (trainWithoutChampion is false).`;
  return check.reason;
}
