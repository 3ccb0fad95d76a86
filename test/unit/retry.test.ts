import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryWithBackoff } from '../../lib/retry';

describe('retryWithBackoff', () => {
  it('retries until the operation succeeds, reporting each retry', async () => {
    let calls = 0;
    const retries: number[] = [];
    const value = await retryWithBackoff(
      async () => {
        calls++;
        if (calls < 3) throw new Error('not yet');
        return 'up';
      },
      { initialDelayMs: 1, onRetry: (_e, attempt) => retries.push(attempt) },
    );
    assert.equal(value, 'up');
    assert.equal(calls, 3);
    assert.deepEqual(retries, [1, 2]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    await assert.rejects(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error(`fail ${calls}`);
        },
        { initialDelayMs: 1, maxAttempts: 4 },
      ),
      /fail 4/,
    );
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    await assert.rejects(
      retryWithBackoff(
        async () => {
          throw new Error('down');
        },
        { initialDelayMs: 10_000, signal: controller.signal },
      ),
      /down/,
    );
    assert.ok(Date.now() - started < 5_000);
  });
});
