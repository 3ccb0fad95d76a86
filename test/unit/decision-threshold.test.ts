import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { chooseDecisionThreshold } from '../../lib/evaluation/decision-threshold';
import { binaryCounts, f1Of } from '../../lib/evaluation/metrics';

/** F1 of predicting positive every row scoring at or above `threshold` (the rule evaluate applies). */
function f1At(labels: number[], scores: number[], threshold: number): number {
  const { tp, fp, fn } = binaryCounts(labels, scores, threshold);
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return f1Of(precision, recall);
}

// Validation rows with both classes and scores on a coarse grid, so ties are common.
const validation = fc
  .array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 })), { minLength: 1, maxLength: 120 })
  .filter((rows) => rows.some(([y]) => y))
  .map((rows) => ({ labels: rows.map(([y]) => (y ? 1 : 0)), scores: rows.map(([, s]) => s / 20) }));

describe('decision threshold', () => {
  it('a fixed number is taken as given', () => {
    const chosen = chooseDecisionThreshold(0.3, [1, 0], [0.9, 0.1], 0.5);
    assert.deepEqual(chosen, { threshold: 0.3, strategy: 'fixed', note: 'fixed at 0.3 by evaluate.decisionThreshold' });
  });

  it('max-f1 by hand: scores 0.9+ 0.8+ 0.7− 0.6+ 0.3− 0.2− → cut at 0.6, F1 = 2·¾·1 / (¾ + 1) = 6/7', () => {
    // Cuts from the top: F1 = 0.5, 0.8, ⅔, 6/7, ¾, ⅔.
    const labels = [1, 1, 0, 1, 0, 0];
    const scores = [0.9, 0.8, 0.7, 0.6, 0.3, 0.2];
    const chosen = chooseDecisionThreshold('max-f1', labels, scores, 0.5);
    assert.equal(chosen.threshold, 0.6);
    assert.equal(chosen.strategy, 'max-f1');
    assert.equal(chosen.note, 'maximises F1 on the 6 validation rows (F1 0.8571, precision 0.75, recall 1)');
    assert.equal(f1At(labels, scores, chosen.threshold), 6 / 7);
  });

  it('max-f1 cuts only between distinct scores: tied rows fall on the same side', () => {
    // At 0.5 a positive and a negative tie: the cut can take both or neither.
    const labels = [1, 1, 0, 0];
    const scores = [0.9, 0.5, 0.5, 0.1];
    const chosen = chooseDecisionThreshold('max-f1', labels, scores, 0.5);
    // Neither: F1 = 2·1·½/(1½) = ⅔; both: precision ⅔, recall 1, F1 = 0.8.
    assert.equal(chosen.threshold, 0.5);
    assert.equal(f1At(labels, scores, chosen.threshold), 0.8);
  });

  it('max-f1 finds the best F1 of any threshold, as brute force over every score does', () => {
    fc.assert(
      fc.property(validation, ({ labels, scores }) => {
        const chosen = chooseDecisionThreshold('max-f1', labels, scores, 0.5);
        const best = Math.max(...scores.map((t) => f1At(labels, scores, t)));
        assert.ok(scores.includes(chosen.threshold), 'the threshold is one of the scores');
        assert.ok(
          Math.abs(f1At(labels, scores, chosen.threshold) - best) < 1e-12,
          `F1 ${f1At(labels, scores, chosen.threshold)} at ${chosen.threshold}, best ${best}`,
        );
      }),
    );
  });

  it('match-positive-rate predicts the train split’s share of rows positive', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (scores, rate) => {
          const labels = scores.map(() => 0);
          const chosen = chooseDecisionThreshold('match-positive-rate', labels, scores, rate);
          const wanted = Math.round(rate * scores.length);
          if (wanted === 0) {
            assert.equal(chosen.threshold, 0.5);
            return;
          }
          assert.equal(chosen.strategy, 'match-positive-rate');
          assert.equal(
            scores.filter((s) => s >= chosen.threshold).length,
            wanted,
            `rate ${rate} of ${scores.length} rows`,
          );
        },
      ),
    );
    const chosen = chooseDecisionThreshold(
      'match-positive-rate',
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
      0.3,
    );
    assert.equal(chosen.threshold, 0.8);
    assert.match(chosen.note, /predicts 30% of validation rows positive/);
  });

  it('no positive in the validation split: 0.5, with a note saying why', () => {
    const chosen = chooseDecisionThreshold('max-f1', [0, 0, 0], [0.2, 0.7, 0.9], 0.4);
    assert.equal(chosen.threshold, 0.5);
    assert.equal(chosen.strategy, 'max-f1');
    assert.equal(chosen.note, '0.5: the validation split holds no positive rows, so the threshold could not be chosen');
  });

  it('an empty validation split or a train split without positives: 0.5, with a note', () => {
    const empty = chooseDecisionThreshold('match-positive-rate', [], [], 0.3);
    assert.equal(empty.threshold, 0.5);
    assert.match(empty.note, /^0\.5: the validation split is empty or the train split holds no positives/);
    assert.equal(chooseDecisionThreshold('match-positive-rate', [1, 0], [0.9, 0.1], 0).threshold, 0.5);
    assert.equal(chooseDecisionThreshold('max-f1', [], [], 0.3).threshold, 0.5);
  });
});
