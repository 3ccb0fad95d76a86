import type { Context } from '@temporalio/activity';

const HEARTBEAT_EVERY_MS = 5_000;

/** The workflow id a stage's output keys derive from (stable across retries and resets). */
export function workflowIdOf(ctx: Context): string {
  return ctx.info.workflowExecution?.workflowId ?? `activity-${ctx.info.activityId}`;
}

export interface StepProgress {
  /** The step running now, as the heartbeat reports it. */
  readonly step: string;
  /** Moves to the next step, unless the activity was cancelled meanwhile (a running query is interrupted instead). */
  enter(next: string): void;
  stop(): void;
}

/** Heartbeats `{ step }` on a timer, so a long query or download never looks like a dead worker. */
export function trackSteps(ctx: Context, first: string, everyMs = HEARTBEAT_EVERY_MS): StepProgress {
  let step = first;
  const timer = setInterval(() => ctx.heartbeat({ step }), everyMs);
  return {
    get step() {
      return step;
    },
    enter(next) {
      ctx.cancellationSignal.throwIfAborted();
      step = next;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
