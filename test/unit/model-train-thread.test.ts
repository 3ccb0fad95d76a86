import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ArtifactRef } from '../../contracts/artifacts';
import { trainSettings } from '../support/train-settings';
import { trainInThread, TrainThreadError, type ThreadMessage } from '../../lib/model/train-in-thread';
import type { TrainJob } from '../../lib/model/trainer';
import { FsArtifactStore } from '../../lib/store/fs-store';

const sourcesModule = new URL('../support/generated-training-sources.ts', import.meta.url).href;

function ref(metadata: Record<string, string | number>): ArtifactRef {
  return { kind: 'split', uri: 'file:///generated', sha256: '0'.repeat(64), bytes: 0, metadata };
}

describe('trainInThread', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-thread-'));
    await new FsArtifactStore(root).ensureReady();
  });
  after(() => rm(root, { recursive: true, force: true }));

  function request(name: string, settings: Record<string, unknown>, rows: number, attempt = 1) {
    const job: TrainJob = {
      task: 'binary',
      settings: trainSettings(settings),
      seed: 1,
      inputsFingerprint: 'thread-test',
      keys: {
        checkpoints: `runs/t/${name}/checkpoints`,
        model: `runs/t/${name}/model`,
        history: `runs/t/${name}/history.json`,
      },
      runId: 'r1',
      attempt,
    };
    return {
      job,
      store: { kind: 'fs' as const, root },
      sources: {
        train: ref({ kind: 'binary', rows, seed: 1 }),
        validation: ref({ kind: 'binary', rows: 200, seed: 2 }),
        preprocessor: ref({}),
      },
      sourcesModule,
    };
  }

  it('trains off the event loop: timers keep firing on time while epochs run', async () => {
    const messages: ThreadMessage[] = [];
    let lastTick = performance.now();
    let worstGapMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worstGapMs = Math.max(worstGapMs, now - lastTick);
      lastTick = now;
    }, 20);
    try {
      const outcome = await trainInThread(
        request('loop', { hiddenLayers: [64, 64], epochs: 3, batchSize: 32, earlyStopping: { enabled: false } }, 4000),
        {
          onMessage: (m) => messages.push(m),
        },
      );
      assert.equal(outcome.epochsRun, 3);
      assert.ok(outcome.records.at(-1)!.validationAccuracy! > 0.9);
    } finally {
      clearInterval(ticker);
    }
    assert.deepEqual(
      messages.filter((m) => m.type === 'epoch').map((m) => (m.type === 'epoch' ? m.report.epoch : 0)),
      [1, 2, 3],
    );
    assert.equal(messages[0]?.type, 'ready');
    assert.ok(worstGapMs < 250, `the event loop stalled for ${worstGapMs.toFixed(0)} ms`);
  });

  it('cancels by terminating the thread; a new thread resumes from the last checkpoint', async () => {
    const controller = new AbortController();
    const settings = { hiddenLayers: [64, 64], epochs: 6, batchSize: 16, earlyStopping: { enabled: false } };
    const stopped = trainInThread(request('cancel', settings, 3000), {
      signal: controller.signal,
      onMessage: (m) => {
        if (m.type === 'epoch' && m.report.epoch === 2) controller.abort(new Error('cancelled by test'));
      },
    });
    const abortedAt = performance.now();
    await assert.rejects(stopped, /cancelled by test/);
    assert.ok(performance.now() - abortedAt < 60_000);
    const resumedMessages: ThreadMessage[] = [];
    const outcome = await trainInThread(request('cancel', settings, 3000, 2), {
      onMessage: (m) => resumedMessages.push(m),
    });
    const resumed = resumedMessages.find((m) => m.type === 'resumed');
    assert.ok(resumed && resumed.type === 'resumed' && resumed.epoch >= 2, 'resumed from epoch 2 or later');
    assert.equal(outcome.epochsRun, 6);
    assert.ok(outcome.resumedFromEpoch >= 2);
  });

  it('reports a failure in the thread as a TrainThreadError', async () => {
    const bad = request('bad', { epochs: 1 }, 100);
    await assert.rejects(
      trainInThread({ ...bad, sourcesModule: new URL('./does-not-exist.ts', import.meta.url).href }),
      (error) => {
        assert.ok(error instanceof TrainThreadError);
        assert.match(error.message, /does-not-exist/);
        return true;
      },
    );
  });
});
