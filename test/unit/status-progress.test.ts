import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProgress } from '../../cli/commands/status';

describe('formatProgress', () => {
  it('draws a training bar from the heartbeat: epoch of planned epochs, losses, attempt', () => {
    assert.equal(
      formatProgress({ attempt: 2, details: { epoch: 5, epochs: 20, metricsSoFar: { trainLoss: 0.41234, validationLoss: 0.5 } } }),
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
