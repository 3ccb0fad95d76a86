import { upsertSearchAttributes } from '@temporalio/workflow';
import type { ArtifactRef } from '../contracts/artifacts';
import { rootFailure } from '../contracts/errors';
import { STAGES, type CacheOutcome, type StageName, type StageStatus } from '../contracts/stages';
import type { PipelineOutcome, PipelineStatus } from './messages';
import { TrainyardOutcome, TrainyardStage } from './search-attributes';
import { STAGE_RETRY_POLICIES } from './stage-activities';

/**
 * Keeps what the `status` query returns and the TrainyardStage / TrainyardOutcome search attributes
 * current, so the pipeline itself reads as a list of stages. It also remembers each completed stage's
 * result: when an operator retries a failed run, the stages before the restart point return what they
 * returned the first time instead of running again.
 */
export class StageTracker {
  readonly status: PipelineStatus = { outcome: 'running', stages: [], retries: [] };
  private readonly kept = new Map<string, unknown>();

  /** Runs one stage (usually an activity); `artifactsOf` lists the refs it produced for the status query. */
  async run<T>(
    name: StageName,
    stage: () => Promise<T>,
    artifactsOf: (result: T) => ArtifactRef[] = () => [],
  ): Promise<T> {
    if (this.kept.has(name)) return this.kept.get(name) as T;
    const entry = this.begin(name);
    const startedMs = Date.now();
    try {
      const result = await stage();
      entry.state = 'completed';
      entry.artifacts = artifactsOf(result);
      const cache = cacheOutcomeOf(result);
      if (cache) entry.cache = cache;
      this.kept.set(name, result);
      return result;
    } catch (error) {
      this.fail(entry, error);
      throw error;
    } finally {
      // Workflow time is deterministic: this is the duration as the workflow observed it.
      entry.durationMs = Date.now() - startedMs;
    }
  }

  /** A step that is not a stage of its own (e.g. resolving the champion), remembered across operator retries. */
  async once<T>(key: string, step: () => Promise<T>): Promise<T> {
    if (!this.kept.has(key)) this.kept.set(key, await step());
    return this.kept.get(key) as T;
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

  /** The stage whose failure ended the last attempt, if a stage failed. */
  failedStage(): StageName | undefined {
    const last = this.status.stages.at(-1);
    return last?.state === 'failed' ? last.name : undefined;
  }

  /** Forgets `stage` and every later stage, so they run again; earlier stages keep their results. */
  restartFrom(stage: StageName): void {
    const later = new Set(STAGES.slice(STAGES.indexOf(stage)));
    for (const name of later) this.kept.delete(name);
    this.status.stages = this.status.stages.filter((entry) => !later.has(entry.name));
  }

  setOutcome(outcome: PipelineOutcome): void {
    if (this.status.outcome === outcome) return;
    this.status.outcome = outcome;
    upsertSearchAttributes([{ key: TrainyardOutcome, value: outcome }]);
  }

  private begin(name: StageName): StageStatus {
    const entry: StageStatus = { name, state: 'running', startedAt: new Date().toISOString(), artifacts: [] };
    const retry = STAGE_RETRY_POLICIES[name];
    if (retry) entry.retry = retry;
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

function cacheOutcomeOf(result: unknown): CacheOutcome | undefined {
  if (result === null || typeof result !== 'object' || !('cache' in result)) return undefined;
  return (result as { cache?: CacheOutcome }).cache;
}
