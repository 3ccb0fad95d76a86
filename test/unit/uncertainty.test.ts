import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { METRIC_NAMES } from '../../contracts/evaluate-names';
import { createSeededRandom, type Random } from '../../lib/data/seeded-random';
import { evaluatePredictions, isLowerBetter, rocAuc } from '../../lib/evaluation/metrics';
import {
  aucAboveChancePValue,
  aucComponents,
  delongVariance,
  rowCorrect,
  rowLosses,
} from '../../lib/evaluation/row-scores';
import {
  bootstrapCount,
  comparePaired,
  metricIntervals,
  zeroRuleTest,
  type PairedOptions,
} from '../../lib/evaluation/uncertainty';
import { binomialUpperTail, normalCdf, normalQuantile, normalSurvival } from '../../lib/stats/distributions';
import { normalInterval, wilsonInterval } from '../../lib/stats/intervals';
import type { TaskType } from '../../contracts/pipeline-input';

const close = (actual: number, expected: number, tolerance: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} expected ${expected} ± ${tolerance}, got ${actual}`);

const CLASSES = ['a', 'b', 'c'];
const options = (overrides: Partial<PairedOptions> = {}): PairedOptions => ({
  threshold: 0.5,
  classes: CLASSES,
  confidence: 0.95,
  resamples: 100,
  seed: 7,
  alpha: 0.05,
  ...overrides,
});
const binaryOptions = (overrides: Partial<PairedOptions> = {}): PairedOptions =>
  options({ classes: undefined, ...overrides });

// ---------------------------------------------------------------------------------------------------
// Synthetic data: every generator takes a seeded Random, so each trial below draws its own rows.

function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
}

/** Labels Bernoulli(rate); P(positive) = sigmoid(signal·(±1) + noise). signal 0: scores independent of labels. */
function binaryRows(random: Random, n: number, signal: number, rate = 0.4) {
  const labels = new Float32Array(n);
  const outputs = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const y = random() < rate ? 1 : 0;
    labels[i] = y;
    outputs[i] = 1 / (1 + Math.exp(-(signal * (2 * y - 1) + gaussian(random))));
  }
  return { labels, outputs };
}

/** Labels from `weights`; rows of softmax(signal·onehot(label) + noise). */
function multiclassRows(random: Random, n: number, signal: number, weights = [1 / 3, 1 / 3, 1 / 3]) {
  const k = weights.length;
  const labels = new Float32Array(n);
  const outputs = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let u = random();
    let y = 0;
    while (y < k - 1 && u >= (weights[y] as number)) u -= weights[y++] as number;
    labels[i] = y;
    const logits = Array.from({ length: k }, (_, c) => (c === y ? signal : 0) + gaussian(random));
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const total = exp.reduce((a, b) => a + b, 0);
    for (let c = 0; c < k; c++) outputs[i * k + c] = (exp[c] as number) / total;
  }
  return { labels, outputs };
}

/** y = 3x + noise; the prediction is signal·3x + (1 − signal)·(train mean 0) + its own noise. */
function regressionRows(random: Random, n: number, signal: number) {
  const labels = new Float32Array(n);
  const outputs = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = gaussian(random);
    labels[i] = 3 * x + gaussian(random);
    outputs[i] = signal * 3 * x + 0.3 * gaussian(random);
  }
  return { labels, outputs };
}

function rows(task: TaskType, random: Random, n: number, signal: number) {
  return task === 'binary'
    ? binaryRows(random, n, signal)
    : task === 'multiclass'
      ? multiclassRows(random, n, signal)
      : regressionRows(random, n, signal);
}

/** The zero-rule's outputs: the train split's class frequencies (or mean) on every row. */
function zeroOutputs(task: TaskType, n: number, frequencies: number[]): Float32Array {
  if (task !== 'multiclass') return new Float32Array(n).fill(frequencies[0] ?? 0);
  const out = new Float32Array(n * frequencies.length);
  for (let i = 0; i < n; i++) out.set(frequencies, i * frequencies.length);
  return out;
}

/**
 * Distinct per-trial seeds from fast-check, so each trial of a calibration test draws different rows.
 * Unbiased and unique on purpose: fc.integer's default bias towards small and extreme values repeats
 * seeds (~17% of 60,000 draws), and a repeated trial counts its rejection many times over.
 */
const trialSeeds = (trials: number, seed: number): number[] =>
  fc.sample(
    fc.uniqueArray(fc.noBias(fc.integer({ min: 1, max: 0x7fffffff })), { minLength: trials, maxLength: trials }),
    { numRuns: 1, seed },
  )[0]!;

/**
 * The largest rejection count still consistent, at 99% two-sided, with a test of size `alpha` over
 * `trials` independent trials: P(Binomial(trials, alpha) > bound) ≤ 0.5%.
 */
function rejectionBound(trials: number, alpha: number): number {
  let bound = Math.ceil(trials * alpha);
  while (binomialUpperTail(bound + 1, trials, alpha) > 0.005) bound++;
  return bound;
}

// ---------------------------------------------------------------------------------------------------

describe('per-row scores', () => {
  it('row losses by hand: binary log loss, multiclass log loss of the true class, squared error', async () => {
    const binary = rowLosses('binary', [1, 0, 1], [0.8, 0.3, 0], 2);
    close(binary[0]!, -Math.log(0.8), 1e-15);
    close(binary[1]!, -Math.log(0.7), 1e-15);
    close(binary[2]!, -Math.log(1e-15), 1e-9, 'a confident miss is clipped, not infinite');
    const multiclass = rowLosses('multiclass', [2, 0], [0.1, 0.2, 0.7, 0.5, 0.25, 0.25], 3);
    close(multiclass[0]!, -Math.log(0.7), 1e-15);
    close(multiclass[1]!, -Math.log(0.5), 1e-15);
    assert.deepEqual([...rowLosses('regression', [1, -2], [3, -2], 1)], [4, 0]);
  });

  it('rows correct by hand: binary at or above the threshold, multiclass argmax with the first class on ties', async () => {
    assert.deepEqual([...rowCorrect('binary', [1, 0, 1, 0], [0.5, 0.5, 0.49, 0.1], 2, 0.5)], [1, 0, 0, 1]);
    assert.deepEqual(
      [...rowCorrect('multiclass', [0, 1, 2], [0.4, 0.4, 0.2, 0.1, 0.8, 0.1, 0.3, 0.3, 0.3], 3, 0.5)],
      [1, 1, 0],
    );
  });

  it('their means are the log loss and the accuracy evaluatePredictions reports', async () => {
    fc.assert(
      fc.property(
        fc.constantFrom<TaskType>('binary', 'multiclass'),
        fc.integer({ min: 1, max: 0x7fffffff }),
        fc.integer({ min: 1, max: 300 }),
        (task, seed, n) => {
          const { labels, outputs } = rows(task, createSeededRandom(seed), n, 1);
          const metrics = evaluatePredictions(task, labels, outputs, { threshold: 0.5, classes: CLASSES }).metrics;
          const mean = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0) / values.length;
          close(mean(rowLosses(task, labels, outputs, 3)), metrics.log_loss!, 1e-9);
          close(mean(rowCorrect(task, labels, outputs, 3, 0.5)), metrics.accuracy!, 1e-12);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('ROC-AUC structural components and DeLong variance', () => {
  // Positives 0.9, 0.6, 0.4; negatives 0.7, 0.1 (the five rows of metrics.test.ts).
  const LABELS = [1, 1, 0, 1, 0];
  const SCORES = [0.9, 0.6, 0.7, 0.4, 0.1];

  it('by hand: components [1, ½, ½] and [⅓, 1], AUC ⅔, Var = (1/12)/3 + (2/9)/2 = 5/36', async () => {
    const c = aucComponents(LABELS, SCORES);
    assert.deepEqual([...c.positives], [1, 0.5, 0.5]);
    close(c.negatives[0]!, 1 / 3, 1e-15);
    assert.equal(c.negatives[1], 1);
    close(c.auc, 2 / 3, 1e-15);
    close(delongVariance(c), 5 / 36, 1e-15);
  });

  it('the difference of a model with itself has variance 0', async () => {
    const c = aucComponents(LABELS, SCORES);
    assert.equal(delongVariance(c, c), 0);
    assert.equal(delongVariance(c, aucComponents(LABELS, SCORES)), 0);
  });

  it('NaN with fewer than two rows of a class; AUC NaN with none', async () => {
    assert.ok(Number.isNaN(delongVariance(aucComponents([1, 0, 0], [0.3, 0.2, 0.1]))));
    assert.ok(Number.isNaN(aucComponents([1, 1], [0.3, 0.2]).auc));
  });

  /** ψ(x, y) = 1 if x > y, ½ if equal: the O(m·n) definition. */
  function bruteForceComponents(labels: number[], scores: number[]) {
    const pos = scores.filter((_, i) => labels[i] === 1);
    const neg = scores.filter((_, i) => labels[i] !== 1);
    const psi = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
    return {
      positives: pos.map((x) => neg.reduce((s, y) => s + psi(x, y), 0) / neg.length),
      negatives: neg.map((y) => pos.reduce((s, x) => s + psi(x, y), 0) / pos.length),
    };
  }
  const covariance = (x: number[], y: number[]) => {
    const mx = x.reduce((a, b) => a + b, 0) / x.length;
    const my = y.reduce((a, b) => a + b, 0) / y.length;
    return x.reduce((s, v, i) => s + (v - mx) * ((y[i] as number) - my), 0) / (x.length - 1);
  };

  // Scores on a coarse grid so ties between and within classes are common.
  const dataset = fc
    .array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })), {
      minLength: 4,
      maxLength: 80,
    })
    .filter((r) => r.filter(([y]) => y).length >= 2 && r.filter(([y]) => !y).length >= 2)
    .map((r) => ({ labels: r.map(([y]) => (y ? 1 : 0)), a: r.map(([, s]) => s / 6), b: r.map(([, , s]) => s / 6) }));

  it('AUC equals metrics.rocAuc, and the components equal their O(m·n) definition, with ties', async () => {
    fc.assert(
      fc.property(dataset, ({ labels, a }) => {
        const c = aucComponents(labels, a);
        close(c.auc, rocAuc(labels, a), 1e-12);
        const brute = bruteForceComponents(labels, a);
        brute.positives.forEach((v, i) => close(c.positives[i]!, v, 1e-12));
        brute.negatives.forEach((v, j) => close(c.negatives[j]!, v, 1e-12));
        // Both component means are the AUC.
        close(Array.from(c.negatives).reduce((s, v) => s + v, 0) / c.negatives.length, c.auc, 1e-12);
      }),
    );
  });

  it('variance of one AUC and of a difference match the DeLong formula computed from the brute-force covariances', async () => {
    fc.assert(
      fc.property(dataset, ({ labels, a, b }) => {
        const ba = bruteForceComponents(labels, a);
        const bb = bruteForceComponents(labels, b);
        const m = ba.positives.length;
        const n = ba.negatives.length;
        const single = covariance(ba.positives, ba.positives) / m + covariance(ba.negatives, ba.negatives) / n;
        const s10 =
          covariance(ba.positives, ba.positives) +
          covariance(bb.positives, bb.positives) -
          2 * covariance(ba.positives, bb.positives);
        const s01 =
          covariance(ba.negatives, ba.negatives) +
          covariance(bb.negatives, bb.negatives) -
          2 * covariance(ba.negatives, bb.negatives);
        const ca = aucComponents(labels, a);
        const cb = aucComponents(labels, b);
        close(delongVariance(ca), single, 1e-12);
        close(delongVariance(ca, cb), s10 / m + s01 / n, 1e-12);
        close(delongVariance(ca, cb), delongVariance(cb, ca), 1e-12);
      }),
    );
  });

  it('the DeLong 95% interval covers the true AUC about 95% of the time (binormal scores, AUC = Φ(μ/√2))', async () => {
    const mu = 1;
    const trueAuc = normalCdf(mu / Math.SQRT2);
    const seeds = trialSeeds(600, 101);
    let covered = 0;
    for (const seed of seeds) {
      const random = createSeededRandom(seed);
      const labels = Array.from({ length: 200 }, () => (random() < 0.5 ? 1 : 0));
      const scores = labels.map((y) => y * mu + gaussian(random));
      const c = aucComponents(labels, scores);
      const interval = normalInterval(c.auc, Math.sqrt(delongVariance(c)));
      if (interval.lower <= trueAuc && trueAuc <= interval.upper) covered++;
    }
    // Binomial(600, 0.95): 99% of runs see at least 557 covered.
    assert.ok(covered >= 557, `covered ${covered} of 600`);
  });
});

describe('Mann–Whitney test of AUC > ½', () => {
  it('by hand: three positives above three negatives, U = 9, Var(U) = 9·7/12, z = 4.5/√5.25', async () => {
    const { z, pValue } = aucAboveChancePValue([1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.3, 0.2, 0.1]);
    close(z, 4.5 / Math.sqrt(5.25), 1e-12);
    close(pValue, normalSurvival(4.5 / Math.sqrt(5.25)), 1e-15);
    close(pValue, 0.02477, 1e-5);
  });

  it('by hand with a tie: U = 3.5, Var(U) = (4/12)·(5 − 6/12) = 1.5', async () => {
    const { z } = aucAboveChancePValue([1, 1, 0, 0], [1, 0.5, 0.5, 0]);
    close(z, 1.5 / Math.sqrt(1.5), 1e-12);
  });

  it('NaN with one class or with every score equal: nothing to rank', async () => {
    assert.ok(Number.isNaN(aucAboveChancePValue([1, 1, 1], [0.1, 0.2, 0.3]).pValue));
    assert.ok(Number.isNaN(aucAboveChancePValue([0, 0, 0], [0.1, 0.2, 0.3]).pValue));
    assert.ok(Number.isNaN(aucAboveChancePValue([1, 0, 1, 0], [0.4, 0.4, 0.4, 0.4]).pValue));
  });

  it('a strongly informative score gives p < 1e-6', async () => {
    const { labels, outputs } = binaryRows(createSeededRandom(3), 300, 2);
    assert.ok(aucAboveChancePValue(labels, outputs).pValue < 1e-6);
  });

  it('is calibrated under the null: scores independent of labels are rejected at 0.05 at most ~5% of the time (2000 trials, small and tied splits included)', async () => {
    const trials = 2000;
    let rejected = 0;
    for (const seed of trialSeeds(trials, 202)) {
      const random = createSeededRandom(seed);
      const n = 8 + Math.floor(random() * 150);
      const rate = 0.05 + 0.9 * random();
      const tied = random() < 0.3;
      const labels = Array.from({ length: n }, () => (random() < rate ? 1 : 0));
      if (!labels.includes(1)) labels[0] = 1;
      if (!labels.includes(0)) labels[n - 1] = 0;
      const scores = labels.map(() => (tied ? Math.floor(random() * 4) / 4 : random()));
      if (aucAboveChancePValue(labels, scores).pValue < 0.05) rejected++;
    }
    assert.ok(
      rejected <= rejectionBound(trials, 0.05),
      `${rejected} of ${trials} rejected; at most ${rejectionBound(trials, 0.05)} expected at α 0.05`,
    );
  });
});

describe('metric intervals', () => {
  const TASKS: TaskType[] = ['binary', 'multiclass', 'regression'];

  it('every metric of each task gets a finite interval containing its value on the test rows', async () => {
    for (const task of TASKS) {
      for (const [trial, seed] of trialSeeds(6, 303).entries()) {
        const n = [150, 400, 1000][trial % 3] as number;
        const { labels, outputs } = rows(task, createSeededRandom(seed), n, trial % 2 === 0 ? 1.5 : 0.5);
        const o = options({ seed });
        const metrics = evaluatePredictions(task, labels, outputs, o).metrics;
        const intervals = await metricIntervals(task, labels, outputs, o);
        assert.deepEqual(
          Object.keys(intervals).sort(),
          [...METRIC_NAMES[task]].sort(),
          `${task}: an interval for each metric`,
        );
        for (const metric of METRIC_NAMES[task]) {
          const value = metrics[metric] as number;
          const { lower, upper } = intervals[metric]!;
          assert.ok(
            Number.isFinite(lower) && Number.isFinite(upper),
            `${task} ${metric} (seed ${seed}): [${lower}, ${upper}]`,
          );
          // 1e-12: ROC-AUC sums its components in another order than metrics.ts does.
          assert.ok(
            lower <= value + 1e-12 && value - 1e-12 <= upper,
            `${task} ${metric} = ${value} outside [${lower}, ${upper}] (seed ${seed}, n ${n})`,
          );
        }
      }
    }
  });

  it('a well-calibrated model: the ECE interval contains its own ECE (the bootstrap is bias-corrected)', async () => {
    // Uncorrected, the bootstrap ECE of a calibrated model sits above the ECE itself ~15% of the time.
    for (const seed of trialSeeds(30, 404)) {
      const random = createSeededRandom(seed);
      const n = 500;
      const outputs = Float32Array.from({ length: n }, () => random());
      const labels = outputs.map((p) => (random() < p ? 1 : 0));
      const o = binaryOptions({ seed, resamples: 200 });
      const ece = evaluatePredictions('binary', labels, outputs, o).metrics.ece!;
      const interval = (await metricIntervals('binary', labels, outputs, o)).ece!;
      assert.ok(
        interval.lower <= ece && ece <= interval.upper,
        `seed ${seed}: ECE ${ece} outside [${interval.lower}, ${interval.upper}]`,
      );
    }
  });

  it('accuracy uses the Wilson interval, ROC-AUC the DeLong one, each on the same rows', async () => {
    const { labels, outputs } = binaryRows(createSeededRandom(5), 300, 1);
    const intervals = await metricIntervals('binary', labels, outputs, binaryOptions());
    const correct = rowCorrect('binary', labels, outputs, 2, 0.5).reduce((a, b) => a + b, 0);
    assert.deepEqual(intervals.accuracy, wilsonInterval(correct, 300));
    const c = aucComponents(labels, outputs);
    const delong = normalInterval(c.auc, Math.sqrt(delongVariance(c)), 0.95, 'delong');
    assert.deepEqual(intervals.roc_auc, delong);
    assert.ok(
      intervals.roc_auc!.upper - intervals.roc_auc!.lower > 0.02,
      'a model with AUC < 1 on 300 rows has a real interval, not a point',
    );
    const multiclass = multiclassRows(createSeededRandom(6), 300, 1);
    const mc = await metricIntervals('multiclass', multiclass.labels, multiclass.outputs, options());
    assert.equal(mc.accuracy?.method, 'wilson');
    assert.deepEqual(mc.micro_f1, mc.accuracy);
  });

  it('intervals shrink as the test split grows', async () => {
    for (const task of TASKS) {
      const small = rows(task, createSeededRandom(11), 300, 1);
      const large = rows(task, createSeededRandom(12), 4800, 1);
      const a = await metricIntervals(task, small.labels, small.outputs, options());
      const b = await metricIntervals(task, large.labels, large.outputs, options());
      for (const metric of METRIC_NAMES[task]) {
        const widthSmall = a[metric]!.upper - a[metric]!.lower;
        const widthLarge = b[metric]!.upper - b[metric]!.lower;
        // 16× the rows: about ¼ the width.
        assert.ok(
          widthLarge < 0.6 * widthSmall,
          `${task} ${metric}: width ${widthLarge} on 4800 rows vs ${widthSmall} on 300`,
        );
      }
    }
  });

  it('the bootstrap is deterministic: same seed, identical intervals; another seed moves only the bootstrapped ones', async () => {
    const { labels, outputs } = binaryRows(createSeededRandom(13), 400, 1);
    const first = await metricIntervals('binary', labels, outputs, binaryOptions({ seed: 99 }));
    assert.deepEqual(await metricIntervals('binary', labels, outputs, binaryOptions({ seed: 99 })), first);
    const other = await metricIntervals('binary', labels, outputs, binaryOptions({ seed: 100 }));
    assert.notDeepEqual(other.ece, first.ece);
    assert.equal(first.ece?.method, 'bootstrap');
    for (const analytic of ['accuracy', 'roc_auc', 'log_loss', 'brier', 'precision', 'recall'])
      assert.deepEqual(other[analytic], first[analytic], analytic);
  });

  it('regression: R² has no interval when the target is constant', async () => {
    const labels = new Float32Array(50).fill(2);
    const outputs = Float32Array.from({ length: 50 }, (_, i) => 2 + Math.sin(i));
    const intervals = await metricIntervals('regression', labels, outputs, options());
    assert.ok(Number.isNaN(intervals.r2!.lower));
    assert.ok(Number.isFinite(intervals.mae!.lower));
  });

  it('bootstrap resamples are capped on large splits, never below 50', async () => {
    assert.equal(bootstrapCount(1000, 400), 400);
    assert.equal(bootstrapCount(100_000, 400), 50);
    assert.equal(bootstrapCount(20_000, 400), 250);
  });
});

describe('paired comparisons', () => {
  const PROPER: Record<TaskType, string> = { binary: 'log_loss', multiclass: 'log_loss', regression: 'mse' };
  const metricsOf = (task: TaskType) => [...METRIC_NAMES[task], ...(task === 'regression' ? ['mse'] : [])];
  const valueOf = (task: TaskType, metric: string, labels: Float32Array, outputs: Float32Array) => {
    const metrics = evaluatePredictions(task, labels, outputs, options()).metrics;
    return metric === 'mse' ? metrics.rmse! ** 2 : (metrics[metric] as number);
  };

  it('a model compared with itself: improvement 0 with a zero-width interval, on every metric', async () => {
    for (const task of ['binary', 'multiclass', 'regression'] as TaskType[]) {
      const { labels, outputs } = rows(task, createSeededRandom(21), 200, 1);
      for (const metric of metricsOf(task)) {
        const c = await comparePaired(task, metric, labels, outputs, outputs, options());
        assert.ok(c.improvement === 0, `${task} ${metric}: improvement ${c.improvement}`);
        assert.ok(c.lower === 0 && c.upper === 0, `${task} ${metric}: [${c.lower}, ${c.upper}]`);
      }
    }
  });

  it('positive means `a` is better, for lower-is-better metrics too: the improvement is ±(a − b) of the metric values', async () => {
    for (const task of ['binary', 'multiclass', 'regression'] as TaskType[]) {
      const strong = rows(task, createSeededRandom(22), 500, task === 'regression' ? 1 : 2);
      // The weak model's outputs come from another draw: unrelated to these rows' labels.
      const weak = rows(task, createSeededRandom(23), 500, 1);
      const labels = strong.labels;
      for (const metric of metricsOf(task)) {
        const sign = isLowerBetter(metric) || metric === 'mse' ? -1 : 1;
        const expected =
          sign * (valueOf(task, metric, labels, strong.outputs) - valueOf(task, metric, labels, weak.outputs));
        const ab = await comparePaired(task, metric, labels, strong.outputs, weak.outputs, options());
        const ba = await comparePaired(task, metric, labels, weak.outputs, strong.outputs, options());
        close(ab.improvement, expected, 1e-6, `${task} ${metric}`);
        close(ba.improvement, -ab.improvement, 1e-12, `${task} ${metric} swapped`);
        assert.ok(
          ab.lower <= ab.improvement && ab.improvement <= ab.upper,
          `${task} ${metric}: bounds around the improvement`,
        );
      }
      // The strong model is clearly better on the main metric and the proper scoring rule.
      const main = { binary: 'roc_auc', multiclass: 'accuracy', regression: 'r2' }[task];
      for (const metric of [main, PROPER[task]]) {
        const c = await comparePaired(task, metric, labels, strong.outputs, weak.outputs, options());
        assert.ok(
          c.improvement > 0 && c.lower > 0,
          `${task} ${metric}: improvement ${c.improvement}, lower ${c.lower}`,
        );
      }
    }
  });

  it('analytic bounds are one-sided at alpha: improvement ∓ z₁₋α · se, with the method named', async () => {
    const { labels, outputs } = binaryRows(createSeededRandom(24), 300, 1);
    const other = binaryRows(createSeededRandom(25), 300, 0.5).outputs;
    const z = normalQuantile(0.9);
    for (const [metric, method] of [
      ['roc_auc', 'delong'],
      ['log_loss', 'paired-rows'],
      ['accuracy', 'paired-rows'],
      ['brier', 'paired-rows'],
    ] as const) {
      const c = await comparePaired('binary', metric, labels, outputs, other, binaryOptions({ alpha: 0.1 }));
      assert.equal(c.method, method);
      close(c.lower, c.improvement - z * c.standardError, 1e-12, metric);
      close(c.upper, c.improvement + z * c.standardError, 1e-12, metric);
      assert.ok(c.standardError > 0);
    }
    const bootstrap = await comparePaired('binary', 'f1', labels, outputs, other, binaryOptions({ alpha: 0.1 }));
    assert.equal(bootstrap.method, 'bootstrap');
    assert.deepEqual(
      await comparePaired('binary', 'f1', labels, outputs, other, binaryOptions({ alpha: 0.1 })),
      bootstrap,
      'same seed, same comparison',
    );
  });
});

describe('beating the zero-rule', () => {
  it('binary AUC: a model whose scores are independent of the labels beats the zero-rule at α 0.05 at most ~5% of the time (2000 trials)', async () => {
    const trials = 2000;
    let rejected = 0;
    for (const seed of trialSeeds(trials, 505)) {
      const random = createSeededRandom(seed);
      const n = 10 + Math.floor(random() * 190);
      const rate = 0.1 + 0.8 * random();
      const { labels, outputs } = binaryRows(random, n, 0, rate);
      if (!labels.includes(1)) labels[0] = 1;
      if (!labels.includes(0)) labels[n - 1] = 0;
      const { pValue } = await zeroRuleTest(
        'binary',
        'roc_auc',
        labels,
        outputs,
        zeroOutputs('binary', n, [rate]),
        0,
        binaryOptions({ seed }),
      );
      if (pValue < 0.05) rejected++;
    }
    assert.ok(
      rejected <= rejectionBound(trials, 0.05),
      `${rejected} of ${trials} rejected; at most ${rejectionBound(trials, 0.05)} expected at α 0.05`,
    );
  });

  it('multiclass accuracy (exact McNemar): a model independent of the labels beats the zero-rule at α 0.05 at most ~5% of the time (2000 trials)', async () => {
    const trials = 2000;
    let rejected = 0;
    for (const seed of trialSeeds(trials, 606)) {
      const random = createSeededRandom(seed);
      const n = 15 + Math.floor(random() * 185);
      // Balanced classes put the null on its boundary: a random guess is right as often as the zero-rule.
      const weights = random() < 0.6 ? [1 / 3, 1 / 3, 1 / 3] : [0.5, 0.3, 0.2];
      const { labels, outputs } = multiclassRows(random, n, 0, weights);
      // The zero-rule's class frequencies come from a separate train sample of the same distribution.
      const train = multiclassRows(random, 100, 0, weights).labels;
      const frequencies = [0, 1, 2].map((c) => train.filter((y) => y === c).length / train.length);
      const { pValue } = await zeroRuleTest(
        'multiclass',
        'accuracy',
        labels,
        outputs,
        zeroOutputs('multiclass', n, frequencies),
        0,
        options({ seed }),
      );
      if (pValue < 0.05) rejected++;
    }
    assert.ok(
      rejected <= rejectionBound(trials, 0.05),
      `${rejected} of ${trials} rejected; at most ${rejectionBound(trials, 0.05)} expected at α 0.05`,
    );
  });

  it('a genuinely good model is detected', async () => {
    const binary = binaryRows(createSeededRandom(31), 300, 1.5);
    assert.ok(
      (
        await zeroRuleTest(
          'binary',
          'roc_auc',
          binary.labels,
          binary.outputs,
          zeroOutputs('binary', 300, [0.4]),
          0,
          binaryOptions(),
        )
      ).pValue < 1e-6,
    );
    const multiclass = multiclassRows(createSeededRandom(32), 300, 3);
    const mc = await zeroRuleTest(
      'multiclass',
      'accuracy',
      multiclass.labels,
      multiclass.outputs,
      zeroOutputs('multiclass', 300, [0.4, 0.3, 0.3]),
      0,
      options(),
    );
    assert.ok(mc.pValue < 1e-6, `p = ${mc.pValue}`);
    assert.ok(mc.comparison.improvement > 0.2);
    const regression = regressionRows(createSeededRandom(33), 300, 1);
    assert.ok(
      (
        await zeroRuleTest(
          'regression',
          'r2',
          regression.labels,
          regression.outputs,
          zeroOutputs('regression', 300, [0]),
          0,
          options(),
        )
      ).pValue < 1e-6,
    );
  });

  it('McNemar by hand: only the discordant rows count, p = P(X ≥ model-only | discordant, ½)', async () => {
    // Six rows: the zero-rule always says class 0; the model is right on rows 1, 2, 3 (class 1, 2, 1) and wrong on row 0 (class 0).
    const labels = [0, 1, 2, 1, 0, 0];
    const zero = zeroOutputs('multiclass', 6, [0.5, 0.3, 0.2]);
    const model = Float32Array.from([0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0]);
    const { pValue } = await zeroRuleTest('multiclass', 'accuracy', labels, model, zero, 0, options());
    // Model-only correct: rows 1, 2, 3; zero-only correct: row 0. P(X ≥ 3 | 4, ½) = 5/16.
    close(pValue, 5 / 16, 1e-14);
    close(pValue, binomialUpperTail(3, 4, 0.5), 1e-15);
  });

  it('with a margin: the normal test on the paired improvement above the margin, never below the margin-0 test', async () => {
    const { labels, outputs } = binaryRows(createSeededRandom(34), 400, 1);
    const zero = zeroOutputs('binary', 400, [0.4]);
    const { pValue, comparison } = await zeroRuleTest(
      'binary',
      'roc_auc',
      labels,
      outputs,
      zero,
      0.05,
      binaryOptions(),
    );
    const normal = normalSurvival((comparison.improvement - 0.05) / comparison.standardError);
    close(pValue, Math.max(normal, aucAboveChancePValue(labels, outputs).pValue), 1e-15);
    close(pValue, normal, 1e-15, 'on a healthy split the stronger claim is the harder one');
    const impossible = await zeroRuleTest('binary', 'roc_auc', labels, outputs, zero, 0.49, binaryOptions());
    assert.ok(impossible.pValue > 0.5, 'a margin the model cannot beat is not significant');
  });

  it('with a margin, a perfect ranking (DeLong standard error 0) is significant, not "not computable"', async () => {
    // Regression: z = (0.5 − margin) / 0 = ∞ used to give NaN, rejecting a perfect classifier whenever mustBeatZeroRuleBy > 0.
    const labels = Array.from({ length: 60 }, (_, i) => i % 2);
    const outputs = labels.map((y, i) => (y ? 0.7 : 0.2) + (i % 7) * 0.01);
    const zero = zeroOutputs('binary', 60, [0.5]);
    const perfect = await zeroRuleTest('binary', 'roc_auc', labels, outputs, zero, 0.05, binaryOptions());
    assert.equal(perfect.comparison.standardError, 0);
    assert.equal(perfect.pValue, aucAboveChancePValue(labels, outputs).pValue);
    assert.ok(perfect.pValue < 1e-6);
    // ...but not on four rows, where the margin-0 test cannot tell a perfect ranking from luck (p ≈ 0.06).
    const tiny = await zeroRuleTest(
      'binary',
      'roc_auc',
      [1, 0, 1, 0],
      [0.9, 0.1, 0.8, 0.2],
      zeroOutputs('binary', 4, [0.5]),
      0.05,
      binaryOptions(),
    );
    assert.ok(tiny.pValue > 0.05, `p = ${tiny.pValue}`);
    // Multiclass: right on every row where the zero-rule is wrong on every row; with a margin, McNemar's 0.5ⁿ still bounds p.
    const mcLabels = [1, 2, 1, 2, 1, 2, 1, 2];
    const mcModel = Float32Array.from(mcLabels.flatMap((y) => [0, 1, 2].map((c) => (c === y ? 0.8 : 0.1))));
    const mc = await zeroRuleTest(
      'multiclass',
      'accuracy',
      mcLabels,
      mcModel,
      zeroOutputs('multiclass', 8, [0.6, 0.2, 0.2]),
      0.1,
      options(),
    );
    close(mc.pValue, 0.5 ** 8, 1e-15);
  });
});
