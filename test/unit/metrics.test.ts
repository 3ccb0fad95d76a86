import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  averagePrecision,
  calibrationCurve,
  evaluateBinary,
  evaluateMulticlass,
  evaluateRegression,
  expectedCalibrationError,
  LOG_LOSS_EPS,
  precisionRecallCurve,
  rocAuc,
  rocCurve,
  thinPoints,
} from '../../lib/evaluation/metrics';

const close = (actual: number | undefined, expected: number, tolerance = 1e-12) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);

// Five rows worked by hand: sorted by score 0.9(+) 0.7(−) 0.6(+) 0.4(+) 0.1(−).
const LABELS = [1, 1, 0, 1, 0];
const SCORES = [0.9, 0.6, 0.7, 0.4, 0.1];

describe('binary metrics (hand-computed)', () => {
  it('ROC-AUC counts positive-above-negative pairs: 4 of 6', () => {
    close(rocAuc(LABELS, SCORES), 4 / 6);
  });

  it('ROC-AUC counts a tie as half a pair', () => {
    // positives 0.5, 0.8; negatives 0.5, 0.2 → pairs 0.5 (tie) + 1 + 1 + 1 = 3.5 of 4
    close(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2]), 0.875);
    close(rocAuc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3]), 0.5);
  });

  it('ROC-AUC is NaN when one class is missing', () => {
    assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])));
    assert.ok(Number.isNaN(rocAuc([0, 0], [0.2, 0.3])));
  });

  it('ranking metrics refuse NaN scores instead of ranking them anywhere', () => {
    assert.throws(() => rocAuc([1, 0], [Number.NaN, 0.5]), /score 0 is NaN/);
  });

  it('infinite scores rank at the ends', () => {
    assert.equal(rocAuc([1, 0, 1, 0], [Infinity, -Infinity, 0.5, 0.2]), 1);
  });

  it('average precision sums ΔR·P over thresholds: 1/3·1 + 1/3·2/3 + 1/3·3/4 = 29/36', () => {
    close(averagePrecision(LABELS, SCORES), 29 / 36);
  });

  it('threshold metrics, Brier, ECE and log loss at 0.5', () => {
    const { metrics, confusion } = evaluateBinary(LABELS, SCORES, { threshold: 0.5, classes: ['no', 'yes'] });
    // predicted positive: 0.9 (tp), 0.6 (tp), 0.7 (fp); negative: 0.4 (fn), 0.1 (tn)
    assert.deepEqual(confusion, {
      labels: ['no', 'yes'],
      counts: [
        [1, 1],
        [1, 2],
      ],
    });
    close(metrics.accuracy, 3 / 5);
    close(metrics.precision, 2 / 3);
    close(metrics.recall, 2 / 3);
    close(metrics.f1, 2 / 3);
    close(metrics.brier, (0.01 + 0.16 + 0.49 + 0.36 + 0.01) / 5);
    // one row per bin: |0.9−1| + |0.6−1| + |0.7−0| + |0.4−1| + |0.1−0| over 5
    close(metrics.ece, (0.1 + 0.4 + 0.7 + 0.6 + 0.1) / 5);
    close(metrics.log_loss, -(Math.log(0.9) + Math.log(0.6) + Math.log(0.3) + Math.log(0.4) + Math.log(0.9)) / 5);
  });

  it('the decision threshold moves precision and recall', () => {
    const { metrics } = evaluateBinary(LABELS, SCORES, { threshold: 0.8 });
    close(metrics.precision, 1);
    close(metrics.recall, 1 / 3);
    close(metrics.f1, 0.5);
    const none = evaluateBinary(LABELS, SCORES, { threshold: 0.95 }).metrics;
    assert.equal(none.precision, 0);
    assert.equal(none.f1, 0);
  });

  it('log loss clips certainty so a confident miss is finite', () => {
    const { metrics } = evaluateBinary([1, 0], [0, 1], { threshold: 0.5 });
    // p = 0 for a positive is clipped to EPS; p = 1 for a negative to 1 − EPS (as a double)
    close(metrics.log_loss, (-Math.log(LOG_LOSS_EPS) - Math.log(1 - (1 - LOG_LOSS_EPS))) / 2, 1e-9);
    assert.ok(metrics.log_loss! > 34 && metrics.log_loss! < 35);
  });

  it('ROC and PR curves start at their corners and end at (1, 1) / full recall', () => {
    const roc = rocCurve(LABELS, SCORES);
    assert.deepEqual(
      roc.map((p) => [p.fpr, p.tpr]),
      [
        [0, 0],
        [0, 1 / 3],
        [0.5, 1 / 3],
        [0.5, 2 / 3],
        [0.5, 1],
        [1, 1],
      ],
    );
    const pr = precisionRecallCurve(LABELS, SCORES);
    assert.deepEqual(
      pr.map((p) => [p.recall, p.precision]),
      [
        [0, 1],
        [1 / 3, 1],
        [1 / 3, 0.5],
        [2 / 3, 2 / 3],
        [1, 0.75],
        [1, 0.6],
      ],
    );
  });

  it('calibration bins hold counts, mean prediction and observed rate', () => {
    const bins = calibrationCurve([1, 0, 1, 1], [0.05, 0.08, 0.95, 1]);
    assert.equal(bins.length, 2);
    assert.deepEqual(
      bins.map((b) => [b.lower, b.count]),
      [
        [0, 2],
        [0.9, 2],
      ],
    );
    close(bins[0]?.meanPredicted, 0.065);
    close(bins[0]?.observedRate, 0.5);
    close(bins[1]?.observedRate, 1);
  });

  it('thinning keeps first and last points', () => {
    const thinned = thinPoints([...Array(1000).keys()], 11);
    assert.equal(thinned.length, 11);
    assert.equal(thinned[0], 0);
    assert.equal(thinned[10], 999);
  });
});

describe('multiclass metrics (hand-computed)', () => {
  // argmax: 0 ✓, 1 ✓, 1 ✗ (was 2), 2 ✓, 2 ✗ (was 1)
  const labels = [0, 1, 2, 2, 1];
  const probabilities = [0.7, 0.2, 0.1, 0.1, 0.6, 0.3, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8, 0.3, 0.3, 0.4];

  it('accuracy, confusion matrix, macro and micro F1, per-class recall, log loss', () => {
    const result = evaluateMulticlass(labels, probabilities, ['a', 'b', 'c']);
    assert.deepEqual(result.confusion?.counts, [
      [1, 0, 0],
      [0, 1, 1],
      [0, 1, 1],
    ]);
    close(result.metrics.accuracy, 0.6);
    close(result.metrics.micro_f1, 0.6);
    close(result.metrics.macro_f1, (1 + 0.5 + 0.5) / 3);
    assert.deepEqual(
      result.perClass?.map((c) => c.recall),
      [1, 0.5, 0.5],
    );
    close(
      result.metrics.log_loss,
      -(Math.log(0.7) + Math.log(0.6) + Math.log(0.3) + Math.log(0.8) + Math.log(0.3)) / 5,
    );
  });

  it('macro F1 skips a class absent from labels and predictions', () => {
    const result = evaluateMulticlass([0, 1], [0.9, 0.05, 0.05, 0.1, 0.8, 0.1], ['a', 'b', 'c']);
    close(result.metrics.macro_f1, 1);
    assert.ok(Number.isNaN(result.perClass?.[2]?.recall ?? 0));
  });
});

describe('regression metrics (hand-computed)', () => {
  it('MAE, RMSE and R²', () => {
    // errors 0.5, 0, −1, 1; mean target 2.5, SS_tot = 5, SS_res = 2.25
    const { metrics } = evaluateRegression([1, 2, 3, 4], [1.5, 2, 2, 5]);
    close(metrics.mae, 0.625);
    close(metrics.rmse, 0.75);
    close(metrics.r2, 1 - 2.25 / 5);
  });

  it('R² of a constant target: 1 when perfect, else 0', () => {
    assert.equal(evaluateRegression([3, 3], [3, 3]).metrics.r2, 1);
    assert.equal(evaluateRegression([3, 3], [2, 4]).metrics.r2, 0);
  });
});

const binaryData = fc
  .array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 20 })), { minLength: 2, maxLength: 60 })
  .filter((rows) => rows.some(([y]) => y === 1) && rows.some(([y]) => y === 0))
  .map((rows) => ({ labels: rows.map(([y]) => y), scores: rows.map(([, s]) => s / 20) }));

describe('metric properties', () => {
  it('ROC-AUC equals the brute-force pair count', () => {
    fc.assert(
      fc.property(binaryData, ({ labels, scores }) => {
        let wins = 0;
        let pairs = 0;
        labels.forEach((yi, i) =>
          labels.forEach((yj, j) => {
            if (yi === 1 && yj === 0) {
              pairs++;
              wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
            }
          }),
        );
        close(rocAuc(labels, scores), wins / pairs, 1e-12);
      }),
    );
  });

  it('a perfect ranker has ROC-AUC 1 and average precision 1; the reversed ranker has ROC-AUC 0', () => {
    fc.assert(
      fc.property(binaryData, ({ labels, scores }) => {
        const perfect = labels.map((y, i) => y + scores[i]! * 0.5);
        assert.equal(rocAuc(labels, perfect), 1);
        close(averagePrecision(labels, perfect), 1);
        assert.equal(
          rocAuc(
            labels,
            perfect.map((s) => -s),
          ),
          0,
        );
      }),
    );
  });

  it('ROC-AUC and average precision are unchanged by strictly increasing transforms of the scores', () => {
    fc.assert(
      fc.property(binaryData, ({ labels, scores }) => {
        for (const transform of [(s: number) => s * s * s * 8000 + 5, (s: number) => Math.exp(20 * s)]) {
          const moved = scores.map(transform);
          close(rocAuc(labels, moved), rocAuc(labels, scores));
          close(averagePrecision(labels, moved), averagePrecision(labels, scores));
        }
      }),
    );
  });

  it('precision, recall, F1, accuracy, ECE and Brier stay in [0, 1]', () => {
    fc.assert(
      fc.property(binaryData, fc.double({ min: 0, max: 1, noNaN: true }), ({ labels, scores }, threshold) => {
        const { metrics } = evaluateBinary(labels, scores, { threshold });
        for (const name of ['precision', 'recall', 'f1', 'accuracy', 'ece', 'brier', 'roc_auc', 'pr_auc']) {
          const v = metrics[name]!;
          assert.ok(v >= 0 && v <= 1 + 1e-12, `${name} = ${v}`);
        }
        assert.ok(metrics.f1! <= Math.max(metrics.precision!, metrics.recall!) + 1e-12);
        assert.ok(expectedCalibrationError(labels, scores) <= 1);
      }),
    );
  });

  it('R² of the mean predictor is 0 and of the truth is 1', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: -1000, max: 1000 }), { minLength: 2, maxLength: 50 })
          .filter((t) => new Set(t).size > 1),
        (targets) => {
          const mean = targets.reduce((a, b) => a + b, 0) / targets.length;
          close(
            evaluateRegression(
              targets,
              targets.map(() => mean),
            ).metrics.r2,
            0,
            1e-9,
          );
          assert.equal(evaluateRegression(targets, targets).metrics.r2, 1);
        },
      ),
    );
  });

  it('multiclass micro F1 equals accuracy and macro F1 stays in [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 2 }),
            fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
          ),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        (rows) => {
          const labels = rows.map(([y]) => y);
          const probabilities = rows.flatMap(([, p]) => {
            const sum = p.reduce((a, b) => a + b, 0);
            return p.map((v) => v / sum);
          });
          const { metrics } = evaluateMulticlass(labels, probabilities, ['a', 'b', 'c']);
          close(metrics.micro_f1, metrics.accuracy!);
          assert.ok(metrics.macro_f1! >= 0 && metrics.macro_f1! <= 1);
          assert.ok(metrics.log_loss! >= 0);
        },
      ),
    );
  });
});
