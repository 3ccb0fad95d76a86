export interface BackoffOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many attempts; undefined retries until `signal` aborts. */
  maxAttempts?: number;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Retries `operation` with exponential backoff and jitter; for reaching services that may not be up yet. */
export async function retryWithBackoff<T>(operation: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const { initialDelayMs = 500, maxDelayMs = 15_000, maxAttempts, signal, onRetry } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (signal?.aborted || (maxAttempts !== undefined && attempt >= maxAttempts)) throw error;
      const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, signal);
      if (signal?.aborted) throw error;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
