import { upsertSearchAttributes } from '@temporalio/workflow';
import type { ArtifactRef } from '../contracts/artifacts';
import { rootFailure } from '../contracts/errors';
import type { StageName, StageStatus } from '../contracts/stages';
import type { PipelineOutcome, PipelineStatus } from './messages';
import { TrainyardOutcome, TrainyardStage } from './search-attributes';

/**
 * Keeps what the `status` query returns and the TrainyardStage / TrainyardOutcome search attributes
 * current, so the pipeline itself reads as a list of stages.
 */
export class StageTracker {
  readonly status: PipelineStatus = { outcome: 'running', stages: [] };

  /** Runs one stage (usually an activity); `artifactsOf` lists the refs it produced for the status query. */
  async run<T>(name: StageName, stage: () => Promise<T>, artifactsOf: (result: T) => ArtifactRef[] = () => []): Promise<T> {
    const entry = this.begin(name);
    const startedMs = Date.now();
    try {
      const result = await stage();
      entry.state = 'completed';
      entry.artifacts = artifactsOf(result);
      return result;
    } catch (error) {
      this.fail(entry, error);
      throw error;
    } finally {
      // Workflow time is deterministic: this is the duration as the workflow observed it.
      entry.durationMs = Date.now() - startedMs;
    }
  }

  /** A stage that runs inside the workflow itself, e.g. input validation. */
  runInline<T>(name: StageName, stage: () => T): T {
    const entry = this.begin(name);
    entry.durationMs = 0;
    try {
      const result = stage();
      entry.state = 'completed';
      return result;
    } catch (error) {
      this.fail(entry, error);
      throw error;
    }
  }

  skip(name: StageName, note: string): void {
    this.status.stages.push({ name, state: 'skipped', artifacts: [], note });
  }

  /** Notes what a completed stage decided (e.g. the gate's reasons). */
  note(name: StageName, note: string): void {
    const entry = this.status.stages.findLast((s) => s.name === name);
    if (entry) entry.note = note;
  }

  setOutcome(outcome: PipelineOutcome): void {
    if (this.status.outcome === outcome) return;
    this.status.outcome = outcome;
    upsertSearchAttributes([{ key: TrainyardOutcome, value: outcome }]);
  }

  private begin(name: StageName): StageStatus {
    const entry: StageStatus = { name, state: 'running', startedAt: new Date().toISOString(), artifacts: [] };
    this.status.stages.push(entry);
    this.status.currentStage = name;
    upsertSearchAttributes([{ key: TrainyardStage, value: name }]);
    return entry;
  }

  private fail(entry: StageStatus, error: unknown): void {
    entry.state = 'failed';
    entry.error = rootFailure(error);
    this.setOutcome('failed');
  }
}
