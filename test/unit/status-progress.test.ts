import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProgress } from '../../cli/commands/status';

describe('formatProgress', () => {
  it('draws a training bar from the heartbeat: epoch of planned epochs, losses, attempt', () => {
    assert.equal(
      formatProgress({
        attempt: 2,
        details: { epoch: 5, epochs: 20, metricsSoFar: { trainLoss: 0.41234, validationLoss: 0.5 } },
      }),
      '[█████░░░░░░░░░░░░░░░] epoch 5/20  loss 0.412  val 0.500  attempt 2',
    );
    assert.equal(formatProgress({ attempt: 1, details: { epoch: 0, epochs: 10 } }), `[${'░'.repeat(20)}] epoch 0/10`);
    assert.equal(formatProgress({ attempt: 1, details: { epoch: 12, epochs: 10 } }), `[${'█'.repeat(20)}] epoch 12/10`);
  });

  it('shows bytes read for data stages, and nothing for an unknown heartbeat', () => {
    assert.equal(formatProgress({ attempt: 1, details: { bytesRead: 3 * 2 ** 20 } }), '3 MiB read');
    assert.equal(formatProgress({ attempt: 1 }), '');
  });
});

describe('training time left', () => {
  it('remaining epochs at the mean epoch length, capped by the time budget', async () => {
    const { formatDuration, timeLeftMs } = await import('../../cli/commands/status');
    const now = Date.parse('2026-12-06T10:00:00Z');
    assert.equal(timeLeftMs({ epoch: 4, epochs: 10, meanEpochMs: 5_000 }, now), 30_000);
    assert.equal(
      timeLeftMs({ epoch: 4, epochs: 10, meanEpochMs: 5_000, deadline: '2026-12-06T10:00:12Z' }, now),
      12_000,
    );
    assert.equal(
      timeLeftMs({ epoch: 0, epochs: 10, deadline: '2026-12-06T10:01:00Z' }, now),
      60_000,
      'before the first epoch: the budget',
    );
    assert.equal(timeLeftMs({ epoch: 0, epochs: 10 }, now), undefined);
    assert.deepEqual(
      [formatDuration(4_000), formatDuration(75_000), formatDuration(3_725_000)],
      ['4s', '1m 15s', '1h 2m'],
    );
    assert.match(
      formatProgress({ attempt: 1, details: { epoch: 2, epochs: 4, meanEpochMs: 30_000 } }),
      /epoch 2\/4 {2}~1m 0s left$/,
    );
  });
});
