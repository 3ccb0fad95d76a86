import type { WorkflowHandle } from '@temporalio/client';

/** One look at a running run while following it: whether it waits for an operator, and its progress in a line. */
export interface FollowedState {
  awaitingOperator: boolean;
  line: string;
}

/**
 * The run's result, or "awaiting-operator" as soon as a failure waits for `trainyard retry` / `abort`.
 * Meanwhile `progress` gets a line whenever `look` reports another one (the running stage and its live
 * progress), so a long run is not silent until it ends. `look` may fail or answer undefined: asked again.
 */
export async function resultUnlessOperatorNeeded<R>(
  handle: WorkflowHandle,
  look: () => Promise<FollowedState | undefined>,
  progress: (line: string) => void,
): Promise<R | 'awaiting-operator'> {
  const result = handle.result() as Promise<R>;
  let lastLine = '';
  for (;;) {
    const settled = await Promise.race([
      result.then((value) => ({ value })),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000)),
    ]);
    if (settled) return settled.value;
    const state = await look().catch(() => undefined);
    if (state?.awaitingOperator) {
      result.catch(() => undefined);
      return 'awaiting-operator';
    }
    const line = state?.line ?? '';
    if (line && line !== lastLine) progress(line);
    lastLine = line || lastLine;
  }
}
