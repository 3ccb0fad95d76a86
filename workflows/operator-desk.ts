import { ActivityFailure, ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES, rootFailure } from '../contracts/errors';
import { describeRetryProblems, type RetryPlan, type RetryRequest, type RetryRules } from '../contracts/operator-retry';
import { durationMs, type Duration } from '../contracts/stage-config';
import {
  abortSignal,
  abortUpdate,
  retryStageSignal,
  retryStageUpdate,
  type AbortRequest,
  type OperatorWait,
  type RetryRecord,
} from './messages';

type OperatorDecision<Input, Stage extends string> =
  | { kind: 'retry'; plan: RetryPlan<Input, Stage>; by: string; reason: string }
  | { kind: 'abort'; by: string; reason: string };

interface Waiting<Input, Stage extends string> {
  failedStage: Stage;
  input: Input;
}

/** What the desk needs from the workflow's status keeper (the pipeline's StageTracker, batchPredict's status). */
export interface OperatorDeskHost<Stage extends string> {
  /** The stage whose failure ended the last attempt, if it is one an operator can retry. */
  failedStage(): Stage | undefined;
  note(stage: Stage, note: string): void;
  awaitOperator(wait: OperatorWait<Stage>): void;
  stopAwaitingOperator(): void;
  retry(record: RetryRecord<Stage>): void;
  setOutcome(outcome: 'failed'): void;
}

/**
 * When a stage fails on bad data or an impossible config, the run does not die: it keeps the stages
 * that completed and waits (outcome "awaiting-operator") for `trainyard retry` — from the failed stage
 * or an earlier one, optionally with changed input — or `trainyard abort`. After `operator.timeout`
 * it fails with the stage's original error.
 */
export class OperatorDesk<Input extends { operator: { timeout: Duration } }, Stage extends string> {
  private waiting?: Waiting<Input, Stage>;
  private decision?: OperatorDecision<Input, Stage>;

  constructor(
    private readonly tracker: OperatorDeskHost<Stage>,
    private readonly rules: RetryRules<Input, Stage>,
  ) {
    setHandler(
      retryStageUpdate,
      (request) => {
        const plan = this.planOrThrow(request);
        this.decide({ kind: 'retry', plan, by: request.by ?? 'operator', reason: request.reason ?? '' });
        return { accepted: true, restartFrom: plan.restartFrom, kept: this.rules.kept(plan.restartFrom) };
      },
      { validator: (request) => void this.planOrThrow(request) },
    );
    setHandler(
      abortUpdate,
      (request) => {
        this.decide(abortDecision(request));
        return { accepted: true };
      },
      { validator: (_request) => void this.requireWaiting() },
    );

    // Signals cannot answer: a bad request is noted on the failed stage for `status` to show.
    setHandler(retryStageSignal, (request) => {
      try {
        this.decide({
          kind: 'retry',
          plan: this.planOrThrow(request ?? {}),
          by: request?.by ?? 'temporal-ui',
          reason: request?.reason ?? '',
        });
      } catch (error) {
        if (this.waiting)
          this.tracker.note(this.waiting.failedStage, `retry request ignored: ${(error as Error).message}`);
      }
    });
    setHandler(abortSignal, (request) => {
      if (this.waiting) this.decide(abortDecision(request ?? {}, 'temporal-ui'));
    });
  }

  /** Runs `attempt` until it succeeds, an operator aborts, or no operator answers in time. */
  async run<T>(input: Input, attempt: (input: Input) => Promise<T>): Promise<T> {
    let current = input;
    for (;;) {
      try {
        return await attempt(current);
      } catch (error) {
        const failedStage = this.tracker.failedStage();
        const timeout = current.operator.timeout;
        if (!failedStage || !needsOperator(error) || durationMs(timeout) === 0) throw error;
        const decision = await this.waitForOperator({ failedStage, input: current }, error, timeout);
        if (decision.kind === 'abort') {
          this.tracker.setOutcome('failed');
          throw aborted(decision, failedStage, error);
        }
        this.recordRetry(decision, failedStage, error);
        current = decision.plan.input;
      }
    }
  }

  private async waitForOperator(
    waiting: Waiting<Input, Stage>,
    error: unknown,
    timeout: Duration,
  ): Promise<OperatorDecision<Input, Stage>> {
    this.waiting = waiting;
    this.decision = undefined;
    this.tracker.awaitOperator({
      failedStage: waiting.failedStage,
      failure: rootFailure(error),
      since: new Date().toISOString(),
      deadline: new Date(Date.now() + durationMs(timeout)).toISOString(),
    });
    let answered: boolean;
    try {
      answered = await condition(() => this.decision !== undefined, timeout);
    } finally {
      // Also when the run is cancelled while it waits: a cancelled run is not awaiting anyone.
      this.waiting = undefined;
      this.tracker.stopAwaitingOperator();
    }
    if (!answered || !this.decision) {
      this.tracker.setOutcome('failed');
      throw error;
    }
    return this.decision;
  }

  private recordRetry(
    decision: Extract<OperatorDecision<Input, Stage>, { kind: 'retry' }>,
    failedStage: Stage,
    error: unknown,
  ): void {
    const { plan } = decision;
    this.tracker.retry({
      at: new Date().toISOString(),
      by: decision.by,
      reason: decision.reason,
      failedStage,
      failure: rootFailure(error),
      restartFrom: plan.restartFrom,
      changedPaths: plan.changedPaths,
    });
  }

  private planOrThrow(request: RetryRequest): RetryPlan<Input, Stage> {
    const waiting = this.requireWaiting();
    const result = this.rules.plan(waiting.input, waiting.failedStage, request);
    if (!result.ok) throw new Error(describeRetryProblems(result.problems));
    return result.plan;
  }

  private requireWaiting(): Waiting<Input, Stage> {
    if (!this.waiting) throw new Error('this run is not waiting for an operator');
    if (this.decision) throw new Error(`already decided: ${this.decision.kind} by ${this.decision.by}`);
    return this.waiting;
  }

  private decide(decision: OperatorDecision<Input, Stage>): void {
    this.decision ??= decision;
  }
}

/** Bad data or an impossible config: the failures a person can fix, which Temporal will not retry by itself. */
function needsOperator(error: unknown): boolean {
  if (!(error instanceof ActivityFailure) || !(error.cause instanceof ApplicationFailure)) return false;
  const cause = error.cause;
  return (
    cause.nonRetryable || (NON_RETRYABLE_FAILURE_TYPES as readonly (string | null | undefined)[]).includes(cause.type)
  );
}

function abortDecision(request: AbortRequest, defaultBy = 'operator'): { kind: 'abort'; by: string; reason: string } {
  return { kind: 'abort', by: request.by?.trim() || defaultBy, reason: request.reason?.trim() || 'no reason given' };
}

function aborted(
  decision: { kind: 'abort'; by: string; reason: string },
  failedStage: string,
  error: unknown,
): ApplicationFailure {
  const failure = rootFailure(error);
  return ApplicationFailure.create({
    type: 'PipelineAborted',
    nonRetryable: true,
    message: `Aborted by ${decision.by} (${decision.reason}) after ${failedStage} failed with ${failure.type}: ${failure.message}`,
    details: [{ failedStage, failure, by: decision.by, reason: decision.reason }],
  });
}
