import { isCancellation, upsertSearchAttributes } from '@temporalio/workflow';
import type { ArtifactRef } from '../contracts/artifacts';
import { rootFailure } from '../contracts/errors';
import type { ChampionRefs } from '../contracts/stage-results';
import { STAGES, type CacheOutcome, type StageName, type StageStatus } from '../contracts/stages';
import type { OperatorWait, PipelineOutcome, PipelineStatus, RetryRecord } from './messages';
import { TrainyardOutcome, TrainyardStage } from './search-attributes';
import { STAGE_RETRY_POLICIES } from './stage-activities';

/**
 * Keeps what the `status` query returns and the TrainyardStage / TrainyardOutcome search attributes
 * current, so the pipeline itself reads as a list of stages. It also remembers each completed stage's
 * result: when an operator retries a failed run, the stages before the restart point return what they
 * returned the first time instead of running again.
 */
export class StageTracker {
  private readonly state: PipelineStatus = { outcome: 'running', stages: [], retries: [] };
  private readonly completed = new Map<StageName, unknown>();
  /** The champion as the first attempt resolved it (undefined: there was none); retries compare against the same. */
  private champion?: { refs: ChampionRefs | undefined };

  /** What the `status` query answers. Changed only through this class's methods. */
  get status(): Readonly<PipelineStatus> {
    return this.state;
  }

  /** The stages so far, for the pipeline's result. */
  stages(): StageStatus[] {
    return [...this.state.stages];
  }

  /** Runs one stage (usually an activity); `artifactsOf` lists the refs it produced for the status query. */
  async run<T>(
    name: StageName,
    stage: () => Promise<T>,
    artifactsOf: (result: T) => ArtifactRef[] = () => [],
  ): Promise<T> {
    if (this.completed.has(name)) return this.completed.get(name) as T;
    const entry = this.begin(name);
    const startedMs = Date.now();
    try {
      const result = await stage();
      entry.state = 'completed';
      entry.artifacts = artifactsOf(result);
      const cache = cacheOutcomeOf(result);
      if (cache) entry.cache = cache;
      this.completed.set(name, result);
      return result;
    } catch (error) {
      this.fail(entry, error);
      throw error;
    } finally {
      // Workflow time is deterministic: this is the duration as the workflow observed it.
      entry.durationMs = Date.now() - startedMs;
    }
  }

  /** Resolves the champion once per run: an operator retry keeps the champion the run started with. */
  async championOnce(resolve: () => Promise<ChampionRefs | undefined>): Promise<ChampionRefs | undefined> {
    this.champion ??= { refs: await resolve() };
    return this.champion.refs;
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
    this.state.stages.push({ name, state: 'skipped', artifacts: [], note });
  }

  /** Notes what a completed stage decided (e.g. the gate's reasons). */
  note(name: StageName, note: string): void {
    const entry = this.state.stages.findLast((s) => s.name === name);
    if (entry) entry.note = note;
  }

  /** The model this run trains, as the status shows it. */
  describeModel(model: string): void {
    this.state.model = model;
  }

  recordReport(reportUrl: string): void {
    this.state.reportUrl = reportUrl;
  }

  recordVersion(version: number): void {
    this.state.version = version;
  }

  /** The stage whose failure ended the last attempt, if a stage failed. */
  failedStage(): StageName | undefined {
    const last = this.state.stages.at(-1);
    return last?.state === 'failed' ? last.name : undefined;
  }

  /** The run waits for `trainyard retry` or `abort` after `wait.failedStage` failed. */
  awaitOperator(wait: OperatorWait): void {
    this.setOutcome('awaiting-operator');
    this.state.awaitingOperator = wait;
  }

  /** The operator wait is over: answered, or timed out. */
  stopAwaitingOperator(): void {
    delete this.state.awaitingOperator;
  }

  /** Records an operator's retry and forgets its restart stage and every later one, so they run again. */
  retry(record: RetryRecord): void {
    this.state.retries?.push(record);
    this.restartFrom(record.restartFrom);
    this.setOutcome('running');
  }

  setOutcome(outcome: PipelineOutcome): void {
    if (this.state.outcome === outcome) return;
    this.state.outcome = outcome;
    upsertSearchAttributes([{ key: TrainyardOutcome, value: outcome }]);
  }

  /** Earlier stages keep their results. */
  private restartFrom(stage: StageName): void {
    const later = new Set(STAGES.slice(STAGES.indexOf(stage)));
    for (const name of later) this.completed.delete(name);
    this.state.stages = this.state.stages.filter((entry) => !later.has(entry.name));
  }

  private begin(name: StageName): StageStatus {
    const entry: StageStatus = { name, state: 'running', startedAt: new Date().toISOString(), artifacts: [] };
    const retry = STAGE_RETRY_POLICIES[name];
    if (retry) entry.retry = retry;
    this.state.stages.push(entry);
    this.state.currentStage = name;
    upsertSearchAttributes([{ key: TrainyardStage, value: name }]);
    return entry;
  }

  private fail(entry: StageStatus, error: unknown): void {
    entry.state = 'failed';
    entry.error = rootFailure(error);
    // A stage interrupted because the run was cancelled did not fail on its own: the run's outcome says so.
    this.setOutcome(isCancellation(error) ? 'cancelled' : 'failed');
  }
}

function cacheOutcomeOf(result: unknown): CacheOutcome | undefined {
  if (result === null || typeof result !== 'object' || !('cache' in result)) return undefined;
  return (result as { cache?: CacheOutcome }).cache;
}
