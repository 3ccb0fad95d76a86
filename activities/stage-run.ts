import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context, type Info } from '@temporalio/activity';
import { DomainError } from '../contracts/errors';
import { applicationFailureOf } from '../contracts/failures';
import { parsePipelineInputOrFail } from '../contracts/pipeline-input-failure';
import type { PipelineInput } from '../contracts/pipeline-input';
import { interruptOnAbort, openDuckDb, type DuckDbOptions, type DuckDbSession } from '../lib/data/duckdb';
import { materializeDataset, type LocalDataset, type MaterializeOptions } from '../lib/data/materialize';
import { stageKey } from '../lib/run-keys';
import type { ArtifactStore } from '../lib/store/artifact-store';

/** How often a running stage heartbeats between its own progress reports: a long query never looks like a dead worker. */
export const HEARTBEAT_EVERY_MS = 5_000;

/**
 * The workflow id a stage's output keys derive from (stable across retries and resets); an activity run
 * outside a workflow (a test) keys by its activity id. The one rule every activity and the cache use.
 */
export function workflowIdOf(info: Info): string {
  return info.workflowExecution?.workflowId ?? `activity-${info.activityId}`;
}

/** The run a stage's records name (the registry's lineage, the training job), by the same rule. */
export function runOf(info: Info): { workflowId: string; runId: string } {
  return { workflowId: workflowIdOf(info), runId: info.workflowExecution?.runId ?? `activity-${info.activityId}` };
}

/** How an activity's arguments are parsed at its edge, and which model its output keys belong to. */
export interface StageSpec<A> {
  name: string;
  parse?: (raw: A) => A;
  model?: (args: A) => string;
  /** The step the heartbeat reports before the body enters another. */
  firstStep?: string;
}

/** An activity whose body runs inside the stage lifecycle (runStage). */
export function stageActivity<A, R>(
  spec: StageSpec<A>,
  body: (args: A, run: StageRun) => Promise<R>,
): (raw: A) => Promise<R> {
  return (raw) => runStage(spec, raw, body);
}

/**
 * A pipeline stage's activity: its `input` is the pipeline input, parsed once (a bad field is
 * InvalidPipelineConfig), and its outputs are keyed by `input.model`.
 */
export function pipelineActivity<A extends { input: PipelineInput }, R>(
  name: string,
  firstStep: string | undefined,
  body: (args: A, run: StageRun) => Promise<R>,
): (raw: A) => Promise<R> {
  const spec: StageSpec<A> = {
    name,
    parse: (raw) => ({ ...raw, input: parsePipelineInputOrFail(raw.input) }),
    model: (args) => args.input.model,
    ...(firstStep !== undefined ? { firstStep } : {}),
  };
  return stageActivity(spec, body);
}

/** What a stage's body gets from its lifecycle: run keys, progress, cancellation and resources that are cleaned up for it. */
export interface StageRun {
  readonly workflowId: string;
  readonly runId: string;
  readonly attempt: number;
  readonly info: Info;
  readonly signal: AbortSignal;
  readonly log: Context['log'];
  /** The key of one of this stage's output files: `runs/<model>/<workflowId>/<stage>/<file>`. */
  keyOf(file: string): string;
  /** Moves to the next step (the heartbeat says which), unless the activity was cancelled meanwhile. */
  step(name: string): void;
  /** Replaces what the heartbeat carries; `now` also beats at once (the timer beats it otherwise). */
  progress(details: object, now?: boolean): void;
  /** Beats now with the current progress plus `extra` (bytes read, say). */
  beat(extra?: object): void;
  /** A DuckDB session interrupted on cancellation, closed when the stage ends. */
  openDuckDb(options?: DuckDbOptions): Promise<DuckDbSession>;
  /** A fresh temporary directory, removed when the stage ends. */
  tempDirectory(prefix: string): Promise<string>;
  /** The dataset at `uri` on local disk (heartbeating bytes as they arrive), removed when the stage ends. */
  materialize(
    store: ArtifactStore,
    uri: string,
    options: Omit<MaterializeOptions, 'signal' | 'onProgress'>,
  ): Promise<LocalDataset>;
}

/**
 * The one lifecycle of an activity: parses its arguments, keys its outputs by the workflow id, heartbeats
 * on a timer with the step or progress the body reports, turns failures into Temporal failures (an
 * interrupted query or aborted download after cancellation is the cancellation), and cleans up every
 * session, directory and download the body opened, last opened first.
 */
export async function runStage<A, R>(
  spec: StageSpec<A>,
  raw: A,
  body: (args: A, run: StageRun) => Promise<R>,
): Promise<R> {
  const ctx = Context.current();
  const lifecycle = new Lifecycle(ctx, spec);
  try {
    const args = spec.parse ? spec.parse(raw) : raw;
    lifecycle.model = spec.model?.(args);
    return await body(args, lifecycle);
  } catch (error) {
    throw stageFailure(spec.name, ctx.cancellationSignal, error);
  } finally {
    await lifecycle.close();
  }
}

/** The one mapping from what a stage threw to what Temporal records: domain errors become their typed failures. */
function stageFailure(stage: string, signal: AbortSignal, error: unknown): unknown {
  if (error instanceof DomainError) return applicationFailureOf(error);
  if (error instanceof ApplicationFailure || error instanceof CancelledFailure) return error;
  if (signal.aborted) {
    return signal.reason instanceof CancelledFailure ? signal.reason : new CancelledFailure(`${stage} was cancelled`);
  }
  return error;
}

class Lifecycle implements StageRun {
  model: string | undefined;
  private details: object | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly cleanups: (() => unknown)[] = [];

  constructor(
    private readonly ctx: Context,
    private readonly spec: Pick<StageSpec<unknown>, 'name' | 'firstStep'>,
  ) {
    if (spec.firstStep !== undefined) this.details = { step: spec.firstStep };
    this.timer = setInterval(() => {
      if (this.details !== undefined) ctx.heartbeat(this.details);
    }, HEARTBEAT_EVERY_MS);
  }

  get workflowId() {
    return workflowIdOf(this.ctx.info);
  }
  get runId() {
    return runOf(this.ctx.info).runId;
  }
  get attempt() {
    return this.ctx.info.attempt;
  }
  get info() {
    return this.ctx.info;
  }
  get signal() {
    return this.ctx.cancellationSignal;
  }
  get log() {
    return this.ctx.log;
  }

  keyOf(file: string): string {
    if (this.model === undefined) throw new Error(`${this.spec.name} names no model to key its outputs by`);
    return stageKey(this.model, this.workflowId, this.spec.name, file);
  }

  step(name: string): void {
    this.signal.throwIfAborted();
    this.details = { step: name };
  }

  progress(details: object, now = true): void {
    this.details = details;
    if (now) this.ctx.heartbeat(details);
  }

  beat(extra: object = {}): void {
    this.ctx.heartbeat({ ...this.details, ...extra });
  }

  async openDuckDb(options?: DuckDbOptions): Promise<DuckDbSession> {
    const session = await openDuckDb(options);
    const detach = interruptOnAbort(session, this.signal);
    this.cleanups.push(async () => {
      detach();
      await session.close();
    });
    return session;
  }

  async tempDirectory(prefix: string): Promise<string> {
    const directory = await mkdtemp(path.join(os.tmpdir(), prefix));
    this.cleanups.push(() => rm(directory, { recursive: true, force: true }));
    return directory;
  }

  async materialize(
    store: ArtifactStore,
    uri: string,
    options: Omit<MaterializeOptions, 'signal' | 'onProgress'>,
  ): Promise<LocalDataset> {
    const local = await materializeDataset(store, uri, {
      ...options,
      signal: this.signal,
      onProgress: (bytes) => this.beat({ bytes }),
    });
    this.cleanups.push(() => local.cleanup());
    return local;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    let failure: unknown;
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
