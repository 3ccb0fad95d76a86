import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluateBaselines,
  stratifiedRandomOutputs,
  trainLabelStats,
  zeroRuleOutputs,
} from '../../lib/evaluation/baselines';

describe('baselines', () => {
  it('train label stats: class counts in class order; target mean and population std', () => {
    assert.deepEqual(trainLabelStats('multiclass', [2, 0, 2, 1, 2, -1], 3).classCounts, [1, 1, 3]);
    const regression = trainLabelStats('regression', [1, 3, 5, 7], 0);
    assert.equal(regression.mean, 4);
    assert.equal(regression.std, Math.sqrt(5));
  });

  it('zero-rule: constant train frequencies, so ROC-AUC 0.5 and accuracy = the test share of the train majority', () => {
    const stats = trainLabelStats('binary', [0, 0, 0, 1], 2);
    assert.deepEqual([...zeroRuleOutputs(stats, 2)], [0.25, 0.25]);
    const { zeroRule } = evaluateBaselines([1, 0, 1, 1, 0], stats, { threshold: 0.5, seed: 1 });
    assert.equal(zeroRule.metrics.roc_auc, 0.5);
    assert.equal(zeroRule.metrics.accuracy, 2 / 5);
    const multi = evaluateBaselines([2, 2, 1, 0], trainLabelStats('multiclass', [2, 2, 1], 3), {
      threshold: 0.5,
      classes: ['a', 'b', 'c'],
      seed: 1,
    });
    assert.equal(multi.zeroRule.metrics.accuracy, 0.5);
  });

  it('zero-rule regression predicts the train mean: R² 0 when the test mean equals it', () => {
    const { zeroRule } = evaluateBaselines([2, 4, 6], trainLabelStats('regression', [3, 5], 0), {
      threshold: 0.5,
      seed: 1,
    });
    assert.equal(zeroRule.metrics.r2, 0);
    assert.equal(zeroRule.metrics.mae, 4 / 3);
  });

  it('random (stratified): seeded, one-hot, with the train class frequencies', () => {
    const stats = trainLabelStats('multiclass', [0, 1, 1, 2, 2, 2, 2, 2, 2, 2], 3);
    const rows = 20_000;
    const a = stratifiedRandomOutputs(stats, rows, 7);
    assert.deepEqual(a, stratifiedRandomOutputs(stats, rows, 7));
    assert.notDeepEqual(a, stratifiedRandomOutputs(stats, rows, 8));
    const counts = [0, 0, 0];
    for (let r = 0; r < rows; r++) {
      const row = [...a.subarray(r * 3, r * 3 + 3)];
      assert.equal(
        row.reduce((x, y) => x + y, 0),
        1,
      );
      counts[row.indexOf(1)]! += 1;
    }
    assert.ok(
      Math.abs(counts[0]! / rows - 0.1) < 0.01 &&
        Math.abs(counts[1]! / rows - 0.2) < 0.01 &&
        Math.abs(counts[2]! / rows - 0.7) < 0.01,
      `${counts}`,
    );
  });

  it('random regression draws around the train mean with the train spread', () => {
    const values = stratifiedRandomOutputs({ task: 'regression', rows: 2, mean: 10, std: 2 }, 20_000, 3);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    assert.ok(Math.abs(mean - 10) < 0.1 && Math.abs(std - 2) < 0.1, `${mean} ${std}`);
  });
});
