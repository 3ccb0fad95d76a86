import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  binomialUpperTail,
  chiSquareSurvival,
  erfc,
  logGamma,
  normalCdf,
  normalQuantile,
  normalSurvival,
  regularizedGammaQ,
} from '../../lib/stats/distributions';

/** |actual − expected| ≤ tolerance, absolute. */
const close = (actual: number, expected: number, tolerance: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} expected ${expected} ± ${tolerance}, got ${actual}`);
/** |actual − expected| ≤ tolerance · |expected|: for tails far below 1e-16, where absolute error says nothing. */
const relativelyClose = (actual: number, expected: number, tolerance: number, what = '') =>
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.abs(expected),
    `${what} expected ${expected} (relative ${tolerance}), got ${actual}`,
  );

// Reference values: standard normal and chi-square tables (Abramowitz & Stegun 26.2, 26.4), the
// closed forms noted beside them, and 30-digit mpmath where a table has fewer digits.

describe('standard normal', () => {
  it('Φ matches published values', () => {
    close(normalCdf(1.96), 0.9750021048517795, 1e-15, 'Φ(1.96)');
    close(normalCdf(1), 0.8413447460685429, 1e-15, 'Φ(1)');
    close(normalCdf(-3), 0.0013498980316300945, 1e-16, 'Φ(−3)');
    close(normalCdf(0), 0.5, 1e-16, 'Φ(0)');
    assert.ok(Number.isNaN(normalCdf(Number.NaN)));
    assert.equal(normalCdf(Number.POSITIVE_INFINITY), 1);
    assert.equal(normalCdf(Number.NEGATIVE_INFINITY), 0);
  });

  it('the upper tail keeps its relative precision far out, where 1 − Φ(z) would be 0', () => {
    relativelyClose(normalSurvival(5), 2.866515718791939e-7, 1e-12, 'P(Z > 5)');
    relativelyClose(normalSurvival(8.5), 9.479534822203318e-18, 1e-12, 'P(Z > 8.5)');
    relativelyClose(normalSurvival(10), 7.619853024160526e-24, 1e-12, 'P(Z > 10)');
    relativelyClose(normalCdf(-10), 7.619853024160526e-24, 1e-12, 'Φ(−10)');
    assert.ok(Number.isNaN(normalSurvival(Number.NaN)));
  });

  it('erfc matches published values and its reflection erfc(−x) = 2 − erfc(x)', () => {
    close(erfc(0), 1, 2.3e-16, 'erfc(0)');
    close(erfc(0.5), 0.4795001221869535, 1e-16, 'erfc(0.5)');
    close(erfc(1), 0.15729920705028513, 1e-16, 'erfc(1)');
    relativelyClose(erfc(5), 1.5374597944280349e-12, 1e-12, 'erfc(5)');
    close(erfc(-1), 2 - 0.15729920705028513, 1e-15, 'erfc(−1)');
  });

  it('Φ⁻¹ matches published quantiles', () => {
    close(normalQuantile(0.975), 1.959963984540054, 1e-13, 'Φ⁻¹(0.975)');
    close(normalQuantile(0.95), 1.6448536269514722, 1e-13, 'Φ⁻¹(0.95)');
    close(normalQuantile(0.99), 2.3263478740408408, 1e-13, 'Φ⁻¹(0.99)');
    close(normalQuantile(0.999), 3.090232306167813, 1e-12, 'Φ⁻¹(0.999)');
    close(normalQuantile(0.025), -1.959963984540054, 1e-13, 'Φ⁻¹(0.025)');
    close(normalQuantile(1e-10), -6.361340902404056, 1e-10, 'Φ⁻¹(1e-10)');
    close(normalQuantile(0.5), 0, 1e-15, 'Φ⁻¹(0.5)');
  });

  it('Φ⁻¹ at and beyond the ends: ±∞ at 0 and 1, NaN outside [0, 1]', () => {
    assert.equal(normalQuantile(0), Number.NEGATIVE_INFINITY);
    assert.equal(normalQuantile(1), Number.POSITIVE_INFINITY);
    for (const p of [-0.1, 1.5, Number.NaN]) assert.ok(Number.isNaN(normalQuantile(p)), `Φ⁻¹(${p})`);
  });

  it('Φ⁻¹(Φ(z)) = z, and Φ(Φ⁻¹(p)) = p', () => {
    // Above z ≈ 4, Φ(z) is so close to 1 that the double itself no longer pins z down.
    fc.assert(
      fc.property(fc.double({ min: -8, max: 4, noNaN: true }), (z) =>
        close(normalQuantile(normalCdf(z)), z, 1e-9, `z=${z}`),
      ),
    );
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1 - 1e-12, noNaN: true }), (p) =>
        relativelyClose(normalCdf(normalQuantile(p)), p, 1e-9, `p=${p}`),
      ),
    );
  });

  it('Φ is increasing and symmetric: Φ(z) + Φ(−z) = 1', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -30, max: 30, noNaN: true }),
        fc.double({ min: -30, max: 30, noNaN: true }),
        (a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          assert.ok(normalCdf(lo) <= normalCdf(hi), `Φ(${lo}) > Φ(${hi})`);
          close(normalCdf(a) + normalCdf(-a), 1, 1e-15, `z=${a}`);
          close(normalSurvival(a), normalCdf(-a), 1e-15 * Math.max(1e-300, normalCdf(-a)) + 1e-300, `z=${a}`);
        },
      ),
    );
  });
});

describe('log-gamma', () => {
  it('matches closed forms: ln Γ(½) = ln √π, Γ(1) = Γ(2) = 1, ln Γ(3/2) = ln(√π / 2)', () => {
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14, 'ln Γ(0.5)');
    close(logGamma(1), 0, 1e-14, 'ln Γ(1)');
    close(logGamma(2), 0, 1e-14, 'ln Γ(2)');
    close(logGamma(1.5), Math.log(Math.sqrt(Math.PI) / 2), 1e-14, 'ln Γ(1.5)');
    close(logGamma(0.1), 2.252712651734206, 1e-13, 'ln Γ(0.1)');
    relativelyClose(logGamma(100), 359.1342053695754, 1e-14, 'ln Γ(100)');
  });

  it('ln Γ(n) = ln (n − 1)! for n up to 20 (factorials exact in doubles)', () => {
    let factorial = 1;
    for (let n = 1; n <= 20; n++) {
      close(logGamma(n), Math.log(factorial), 1e-13 * Math.max(1, Math.log(factorial)), `ln Γ(${n})`);
      factorial *= n;
    }
  });

  it('satisfies the recurrence ln Γ(x + 1) = ln Γ(x) + ln x', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 200, noNaN: true }), (x) =>
        close(logGamma(x + 1), logGamma(x) + Math.log(x), 1e-12 * Math.max(1, Math.abs(logGamma(x + 1))), `x=${x}`),
      ),
    );
  });
});

describe('regularized upper incomplete gamma', () => {
  it('Q(1, x) = e^−x', () => {
    for (const x of [0.001, 0.5, 1, 2, 10, 50])
      relativelyClose(regularizedGammaQ(1, x), Math.exp(-x), 1e-12, `Q(1, ${x})`);
  });

  it('Q(n, x) for integer n is the Poisson sum e^−x Σ_{k<n} x^k / k! (both the series and the continued-fraction branch)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0.01, max: 80, noNaN: true }), (n, x) => {
        let term = Math.exp(-x);
        let poisson = 0;
        for (let k = 0; k < n; k++) {
          poisson += term;
          term *= x / (k + 1);
        }
        // Absolute error near 1 (1 − P cancels), relative error in the far tail.
        assert.ok(
          Math.abs(regularizedGammaQ(n, x) - poisson) <= 1e-12 * Math.max(poisson, 1e-3),
          `Q(${n}, ${x}) = ${regularizedGammaQ(n, x)}, Poisson sum ${poisson}`,
        );
      }),
    );
  });

  it('edges: Q(a, 0) = 1, Q(a, ∞) = 0, NaN for a ≤ 0 or x < 0', () => {
    assert.equal(regularizedGammaQ(3, 0), 1);
    assert.equal(regularizedGammaQ(3, Number.POSITIVE_INFINITY), 0);
    assert.ok(Number.isNaN(regularizedGammaQ(0, 1)));
    assert.ok(Number.isNaN(regularizedGammaQ(-1, 1)));
    assert.ok(Number.isNaN(regularizedGammaQ(2, -1)));
    assert.ok(Number.isNaN(regularizedGammaQ(2, Number.NaN)));
  });
});

describe('chi-square upper tail', () => {
  it('matches the chi-square table at its critical values', () => {
    // The values as printed in tables (few digits), then to full precision.
    close(chiSquareSurvival(3.841459, 1), 0.05, 1e-7, 'χ²=3.841459, df 1');
    close(chiSquareSurvival(18.307, 10), 0.05, 1e-5, 'χ²=18.307, df 10');
    close(chiSquareSurvival(0.1026, 2), 0.95, 1e-4, 'χ²=0.1026, df 2');
    close(chiSquareSurvival(3.8414588206941259, 1), 0.05, 1e-13, 'df 1 at 0.05');
    close(chiSquareSurvival(6.6348966010212151, 1), 0.01, 1e-13, 'df 1 at 0.01');
    close(chiSquareSurvival(5.9914645471079817, 2), 0.05, 1e-13, 'df 2 at 0.05');
    close(chiSquareSurvival(18.307038053275147, 10), 0.05, 1e-13, 'df 10 at 0.05');
    close(chiSquareSurvival(0.10258658877510116, 2), 0.95, 1e-13, 'df 2 at 0.95');
    close(chiSquareSurvival(43.772971825742188, 30), 0.05, 1e-12, 'df 30 at 0.05');
    close(chiSquareSurvival(124.34211340400408, 100), 0.05, 1e-12, 'df 100 at 0.05');
  });

  it('keeps far tails relative-precise instead of rounding them to 0', () => {
    relativelyClose(chiSquareSurvival(100, 50), 3.454931382984864e-5, 1e-11, 'χ²=100, df 50');
    relativelyClose(chiSquareSurvival(1000, 10), 1.8702907209159497e-208, 1e-9, 'χ²=1000, df 10');
  });

  it('df 2 is e^(−x/2) and df 1 is erfc(√(x/2)), exactly', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 600, noNaN: true }), (x) => {
        relativelyClose(chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-12, `df 2, x=${x}`);
        relativelyClose(chiSquareSurvival(x, 1), erfc(Math.sqrt(x / 2)), 1e-11, `df 1, x=${x}`);
      }),
    );
  });

  it('decreases in the statistic, from 1 at 0', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        (df, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const pLo = chiSquareSurvival(lo, df);
          const pHi = chiSquareSurvival(hi, df);
          assert.ok(pLo >= 0 && pLo <= 1 && pHi >= 0 && pHi <= 1, `df ${df}: p out of [0, 1]`);
          // One ulp of slack where the two branches (series, continued fraction) meet.
          assert.ok(pHi <= pLo + 1e-15, `df ${df}: P(>${hi}) = ${pHi} above P(>${lo}) = ${pLo}`);
        },
      ),
    );
    assert.equal(chiSquareSurvival(0, 4), 1);
    assert.equal(chiSquareSurvival(-1, 4), 1);
  });

  it('NaN for a NaN statistic or degrees of freedom ≤ 0', () => {
    assert.ok(Number.isNaN(chiSquareSurvival(Number.NaN, 3)));
    assert.ok(Number.isNaN(chiSquareSurvival(3, 0)));
  });
});

describe('binomial upper tail', () => {
  /** Exact binomial coefficients by Pascal's triangle (exact in doubles for n ≤ 55). */
  function choose(n: number): number[] {
    let row = [1];
    for (let i = 1; i <= n; i++) row = [1, ...row.slice(1).map((v, j) => v + (row[j] as number)), 1];
    return row;
  }
  const bruteForce = (k: number, n: number, p: number) => {
    const c = choose(n);
    let total = 0;
    for (let i = Math.max(0, k); i <= n; i++) total += (c[i] as number) * p ** i * (1 - p) ** (n - i);
    return total;
  };

  it('P(X ≥ 8 | n = 10, p = ½) = 56/1024', () => {
    close(binomialUpperTail(8, 10, 0.5), 56 / 1024, 1e-14);
    close(binomialUpperTail(10, 10, 0.5), 1 / 1024, 1e-16);
    close(binomialUpperTail(1, 10, 0.5), 1023 / 1024, 1e-14);
  });

  it('edges: k ≤ 0 is 1, k > n is 0, p = 0 and p = 1', () => {
    assert.equal(binomialUpperTail(0, 10, 0.3), 1);
    assert.equal(binomialUpperTail(-2, 10, 0.3), 1);
    assert.equal(binomialUpperTail(11, 10, 0.3), 0);
    assert.equal(binomialUpperTail(3, 10, 0), 0);
    assert.equal(binomialUpperTail(3, 10, 1), 1);
  });

  it('equals the brute-force sum of the probability mass for small n', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 55 }),
        fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        fc.nat(),
        (n, p, kSeed) => {
          const k = kSeed % (n + 2);
          const expected = bruteForce(k, n, p);
          assert.ok(
            Math.abs(binomialUpperTail(k, n, p) - expected) <= 1e-12 * Math.max(expected, 1e-4),
            `P(X ≥ ${k} | ${n}, ${p}) = ${binomialUpperTail(k, n, p)}, brute force ${expected}`,
          );
        },
      ),
    );
  });

  it('decreases in k, by exactly the mass at k', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 55 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (n, p) => {
        const c = choose(n);
        for (let k = 0; k <= n; k++) {
          const here = binomialUpperTail(k, n, p);
          const next = binomialUpperTail(k + 1, n, p);
          assert.ok(next <= here, `n=${n} p=${p}: P(X ≥ ${k + 1}) > P(X ≥ ${k})`);
          const mass = (c[k] as number) * p ** k * (1 - p) ** (n - k);
          close(here - next, mass, 1e-12, `n=${n} p=${p} k=${k}`);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('large n: P(X ≥ n/2 | n = 10⁶, ½) = ½ + ½·P(X = n/2)', () => {
    const n = 1_000_000;
    const atHalf = Math.exp(logGamma(n + 1) - 2 * logGamma(n / 2 + 1) - n * Math.LN2);
    close(binomialUpperTail(n / 2, n, 0.5), 0.5 + atHalf / 2, 1e-8);
    relativelyClose(atHalf, 1 / Math.sqrt((Math.PI * n) / 2), 1e-5, 'P(X = n/2) ≈ 1/√(πn/2)');
  });
});
