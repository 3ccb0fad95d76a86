import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { meanAndStandardError, normalInterval, percentileInterval, wilsonInterval } from '../../lib/stats/intervals';

const close = (actual: number, expected: number, tolerance: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} expected ${expected} ± ${tolerance}, got ${actual}`);

describe('Wilson score interval', () => {
  it('8 of 10 at 95% is [0.4902, 0.9433] (by hand: centre 0.7168, half-width 0.2266)', () => {
    const interval = wilsonInterval(8, 10);
    assert.equal(interval.method, 'wilson');
    close(interval.lower, 0.4902, 5e-5, 'lower');
    close(interval.upper, 0.9433, 5e-5, 'upper');
  });

  it("matches Newcombe's (1998) published Wilson intervals", () => {
    // Newcombe, "Two-sided confidence intervals for the single proportion", Stat. Med. 17, table II, method 3.
    const table: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
      [29, 29, 0.883, 1],
    ];
    for (const [x, n, lower, upper] of table) {
      const interval = wilsonInterval(x, n);
      close(interval.lower, lower, 5e-5, `${x}/${n} lower`);
      close(interval.upper, upper, 5e-5, `${x}/${n} upper`);
    }
  });

  it('0 of n has lower bound exactly 0 and n of n upper bound exactly 1, for every n', () => {
    assert.equal(wilsonInterval(0, 10).lower, 0);
    assert.equal(wilsonInterval(10, 10).upper, 1);
    // Rounding used to leave one of the two an ulp inside for ~a third of n, so the interval excluded p̂ itself.
    for (let n = 1; n <= 2000; n++) {
      assert.equal(wilsonInterval(0, n).lower, 0, `0 of ${n}`);
      assert.equal(wilsonInterval(n, n).upper, 1, `${n} of ${n}`);
    }
  });

  it('no trials: NaN bounds', () => {
    const interval = wilsonInterval(0, 0);
    assert.ok(Number.isNaN(interval.lower) && Number.isNaN(interval.upper));
  });

  it('contains p̂, stays in [0, 1], widens with confidence and narrows with n', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.nat(),
        fc.double({ min: 0.5, max: 0.999, noNaN: true }),
        (n, xSeed, confidence) => {
          const x = xSeed % (n + 1);
          const p = x / n;
          const interval = wilsonInterval(x, n, confidence);
          assert.ok(
            interval.lower <= p && p <= interval.upper,
            `${x}/${n}: [${interval.lower}, ${interval.upper}] misses ${p}`,
          );
          assert.ok(interval.lower >= 0 && interval.upper <= 1);
          const wider = wilsonInterval(x, n, (1 + confidence) / 2);
          assert.ok(
            wider.lower <= interval.lower && wider.upper >= interval.upper,
            `${x}/${n}: higher confidence is not wider`,
          );
          const bigger = wilsonInterval(4 * x, 4 * n, confidence);
          assert.ok(
            bigger.upper - bigger.lower < interval.upper - interval.lower,
            `${x}/${n}: four times the trials is not narrower`,
          );
        },
      ),
    );
  });
});

describe('mean and standard error', () => {
  it('by hand: 2 4 4 4 5 5 7 9 has mean 5, sample variance 32/7, standard error √(4/7)', () => {
    const { mean, standardError, n } = meanAndStandardError([2, 4, 4, 4, 5, 5, 7, 9]);
    assert.equal(n, 8);
    close(mean, 5, 1e-15);
    close(standardError, Math.sqrt(4 / 7), 1e-15);
  });

  it('empty: NaN mean; one value: NaN standard error', () => {
    assert.ok(Number.isNaN(meanAndStandardError([]).mean));
    const one = meanAndStandardError(Float64Array.of(3));
    assert.equal(one.mean, 3);
    assert.ok(Number.isNaN(one.standardError));
  });

  it('agrees with the textbook formula on any list, and a constant list has standard error 0', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 200 }),
        (values) => {
          const n = values.length;
          const mean = values.reduce((a, b) => a + b, 0) / n;
          const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
          const result = meanAndStandardError(values);
          close(result.mean, mean, 1e-9 * Math.max(1, Math.abs(mean)));
          close(result.standardError, Math.sqrt(variance / n), 1e-9 * Math.max(1, Math.sqrt(variance / n)));
        },
      ),
    );
    assert.equal(meanAndStandardError([0.3, 0.3, 0.3]).standardError, 0);
  });
});

describe('normal interval', () => {
  it('is estimate ± z·se with the two-sided z of the confidence', () => {
    const i95 = normalInterval(10, 2);
    close(i95.lower, 10 - 1.959963984540054 * 2, 1e-12);
    close(i95.upper, 10 + 1.959963984540054 * 2, 1e-12);
    assert.equal(i95.method, 'normal');
    const i90 = normalInterval(0, 1, 0.9, 'delong');
    close(i90.lower, -1.6448536269514722, 1e-12);
    close(i90.upper, 1.6448536269514722, 1e-12);
    assert.equal(i90.method, 'delong');
  });

  it('a zero standard error is a point; a NaN one is NaN', () => {
    assert.deepEqual(normalInterval(0.7, 0), { lower: 0.7, upper: 0.7, method: 'normal' });
    assert.ok(Number.isNaN(normalInterval(0.7, Number.NaN).lower));
  });
});

describe('percentile interval', () => {
  it('interpolates between order statistics: 0..100 at 95% is [2.5, 97.5], at 50% [25, 75]', () => {
    const values = Array.from({ length: 101 }, (_, i) => i);
    const i95 = percentileInterval(values);
    close(i95.lower, 2.5, 1e-12);
    close(i95.upper, 97.5, 1e-12);
    assert.equal(i95.method, 'bootstrap');
    const i50 = percentileInterval(values, 0.5);
    close(i50.lower, 25, 1e-12);
    close(i50.upper, 75, 1e-12);
  });

  it('does not depend on the order of the replicates and drops NaN ones', () => {
    const values = Array.from({ length: 101 }, (_, i) => i);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(values, { minLength: 101, maxLength: 101 }),
        fc.integer({ min: 0, max: 50 }),
        (shuffled, nans) => {
          const withNaN = [...shuffled, ...new Array<number>(nans).fill(Number.NaN)];
          const interval = percentileInterval(withNaN);
          close(interval.lower, 2.5, 1e-12);
          close(interval.upper, 97.5, 1e-12);
        },
      ),
    );
  });

  it('NaN when fewer than 10 finite replicates, or more than half are NaN', () => {
    assert.ok(Number.isNaN(percentileInterval([1, 2, 3, 4, 5, 6, 7, 8, 9]).lower));
    assert.ok(Number.isFinite(percentileInterval([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).lower));
    const mostlyNaN = [...Array.from({ length: 20 }, (_, i) => i), ...new Array<number>(21).fill(Number.NaN)];
    assert.ok(Number.isNaN(percentileInterval(mostlyNaN).upper));
  });

  it('lies within the replicates and contains their median', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 10, maxLength: 300 }),
        (values) => {
          const sorted = [...values].sort((a, b) => a - b);
          const { lower, upper } = percentileInterval(values);
          const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
          assert.ok(sorted[0]! <= lower && lower <= median && median <= upper && upper <= sorted[sorted.length - 1]!);
        },
      ),
    );
  });
});
