import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { rootFailure } from '../contracts/errors';
import type { ArtifactRef } from '../contracts/artifacts';
import type { StageName, StageStatus } from '../contracts/stages';
import type { PipelineStatus } from './messages';
import { TrainyardOutcome, TrainyardStage } from './search-attributes';

/**
 * Keeps the per-stage status that the `status` query returns and the TrainyardStage / TrainyardOutcome
 * search attributes current, so the pipeline itself can read as a list of stages.
 */
export class StageTracker {
  readonly status: PipelineStatus = { outcome: 'running', stages: [] };

  async run<T>(name: StageName, stage: () => Promise<T>, artifactsOf: (result: T) => ArtifactRef[] = () => []): Promise<T> {
    const entry: StageStatus = { name, state: 'running', attempt: 1, startedAt: new Date().toISOString(), artifacts: [] };
    this.status.stages.push(entry);
    this.status.currentStage = name;
    upsertSearchAttributes([{ key: TrainyardStage, value: name }]);
    const startedMs = Date.now();
    try {
      const result = await stage();
      entry.state = 'completed';
      entry.artifacts = artifactsOf(result);
      return result;
    } catch (error) {
      entry.state = 'failed';
      entry.error = rootFailure(error);
      this.finish('failed');
      throw error;
    } finally {
      // Workflow time is deterministic: this is the duration as the workflow observed it.
      entry.durationMs = Date.now() - startedMs;
    }
  }

  /** A stage that runs inside the workflow itself (no activity), e.g. input validation. */
  runInline<T>(name: StageName, stage: () => T): T {
    const entry: StageStatus = { name, state: 'running', attempt: 1, startedAt: new Date().toISOString(), artifacts: [], durationMs: 0 };
    this.status.stages.push(entry);
    this.status.currentStage = name;
    try {
      const result = stage();
      entry.state = 'completed';
      return result;
    } catch (error) {
      entry.state = 'failed';
      entry.error = rootFailure(error);
      this.finish('failed');
      throw error;
    }
  }

  finish(outcome: 'completed' | 'failed'): void {
    this.status.outcome = outcome;
    if (workflowInfo().typedSearchAttributes.get(TrainyardOutcome) !== outcome) {
      upsertSearchAttributes([{ key: TrainyardOutcome, value: outcome }]);
    }
  }
}
