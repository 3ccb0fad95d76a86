import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { startWorkerProcess } from '../support/cli';

describe('trainyard worker process', () => {
  it('waits for an unreachable Temporal with backoff and one clear line per attempt, then stops on SIGTERM', async () => {
    const worker = startWorkerProcess({
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      TRAINYARD_TASK_QUEUE: `test-${randomUUID()}`,
      LOG_LEVEL: 'info',
    });
    const line = JSON.parse(await worker.waitForLine(/not reachable yet; retrying/)) as {
      msg: string;
      attempt: number;
      retryInMs: number;
    };
    assert.match(line.msg, /Temporal at 127\.0\.0\.1:1 not reachable yet/);
    assert.equal(line.attempt, 1);
    await worker.waitForLine(/"attempt":2/);
    assert.equal(worker.child.exitCode, null, 'still running: no crash loop');
    worker.child.kill('SIGTERM');
    const [code] = await once(worker.child, 'exit');
    assert.equal(code, 0, 'exits cleanly when asked');
  });

  it('logs through one pino stream, redacts secrets, and shuts down gracefully on SIGTERM', async () => {
    const secret = `s3cr3t-${randomUUID()}`;
    const worker = startWorkerProcess({
      TRAINYARD_TASK_QUEUE: `test-${randomUUID()}`,
      LOG_LEVEL: 'debug',
      S3_SECRET_KEY: secret,
    });
    // With a wrong secret the store is unreachable; the worker keeps retrying and must never print the secret.
    await worker.waitForLine(/artifact store .* not reachable yet; retrying/);
    worker.child.kill('SIGTERM');
    await once(worker.child, 'exit');
    assert.ok(worker.lines.length > 0);
    for (const l of worker.lines) {
      assert.doesNotThrow(() => JSON.parse(l), `JSON log line: ${l}`);
      assert.ok(!l.includes(secret), 'secret never logged');
    }
  });

  it('starts, logs SDK lines through pino with worker context, and stops cleanly on SIGTERM', async () => {
    const taskQueue = `test-${randomUUID()}`;
    const worker = startWorkerProcess({ TRAINYARD_TASK_QUEUE: taskQueue, LOG_LEVEL: 'info' });
    const started = JSON.parse(await worker.waitForLine(/trainyard worker started/)) as Record<string, unknown>;
    assert.equal(started.taskQueue, taskQueue);
    assert.equal(started.name, 'trainyard-worker');
    // The SDK's own lifecycle lines come through the same logger, tagged with their component.
    const sdkLine = JSON.parse(await worker.waitForLine(/"component":"worker"/)) as Record<string, unknown>;
    assert.equal(sdkLine.taskQueue, taskQueue);
    worker.child.kill('SIGTERM');
    const [code] = await once(worker.child, 'exit');
    assert.equal(code, 0);
    assert.ok(
      worker.lines.some((l) => l.includes('trainyard worker stopped')),
      'graceful shutdown logged',
    );
  });
});
