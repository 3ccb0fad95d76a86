import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listValue } from '@duckdb/node-api';
import fc from 'fast-check';
import { shadowIncompatibility, type ComparableVersion } from '../../lib/batch-predict/shadow-check';
import {
  comparedScoresOf,
  compareShadowPredictions,
  ShadowRowsMismatchError,
} from '../../lib/batch-predict/shadow-comparison';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { wilsonInterval } from '../../lib/stats/intervals';
import {
  countInBins,
  kolmogorovSmirnovStatistic,
  psiOnReferenceDeciles,
  quantileCuts,
} from '../../lib/stats/two-sample';

describe('two-sample score distances (pure)', () => {
  it('KS is the largest gap between the empirical CDFs, ties stepped together (as scipy ks_2samp)', () => {
    // F_a − F_b at 1…6: 0.2, 0.4, 0.6 − 1/6, 0.8 − 2/6, 1 − 3/6, 1 − 4/6: the largest is 0.5 (at 5).
    assert.equal(kolmogorovSmirnovStatistic([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8]), 0.5);
    assert.equal(kolmogorovSmirnovStatistic([0.1, 0.2, 0.3], [0.4, 0.5, 0.6]), 1);
    assert.equal(kolmogorovSmirnovStatistic([3, 1, 2], [2, 3, 1]), 0);
    // Ties across the samples: at 1, 2/3 vs 1/3; at 2 both reach 1.
    assert.ok(Math.abs(kolmogorovSmirnovStatistic([1, 1, 2], [1, 2, 2]) - 1 / 3) < 1e-15);
    assert.ok(Number.isNaN(kolmogorovSmirnovStatistic([], [1])));
  });

  it('decile cuts are the inverse empirical CDF at k/10, ties collapsed', () => {
    assert.deepEqual(quantileCuts(Array.from({ length: 10 }, (_, i) => i + 1)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 20 values: the cut at k/10 is the (2k)-th smallest.
    assert.deepEqual(quantileCuts(Array.from({ length: 20 }, (_, i) => 20 - i)), [2, 4, 6, 8, 10, 12, 14, 16, 18]);
    assert.deepEqual(quantileCuts([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]), [0, 1]);
    assert.deepEqual(countInBins([0, 0.5, 1, 1, 2], [0, 1]), [1, 3, 1]);
  });

  it('PSI on the reference deciles matches a hand computation', () => {
    const expected = Array.from({ length: 10 }, (_, i) => i + 1);
    const actual = [1, 1, 1, 1, 1, 6, 7, 8, 9, 10];
    const { psi, expectedCounts, actualCounts } = psiOnReferenceDeciles(expected, actual);
    assert.deepEqual(expectedCounts, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(actualCounts, [5, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    // (0.5 − 0.1)·ln 5 + 4·(1e-4 − 0.1)·ln(1e-4 / 0.1): empty bins are clipped at 1e-4.
    const hand = 0.4 * Math.log(5) + 4 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
    assert.ok(Math.abs(psi - hand) < 1e-12, `${psi} vs ${hand}`);
    assert.ok(Math.abs(psi - 3.404114) < 1e-6);
    assert.equal(psiOnReferenceDeciles(expected, expected).psi, 0);
  });

  it('the agreement interval is Wilson: at 0 of n the upper bound is z² / (n + z²)', () => {
    const z2 = 1.959963984540054 ** 2;
    assert.ok(Math.abs(wilsonInterval(0, 10).upper - z2 / (10 + z2)) < 1e-12);
    assert.ok(Math.abs(wilsonInterval(10, 10).lower - 10 / (10 + z2)) < 1e-12);
    // 8 of 10: centre (p + z²/2n)/(1 + z²/n), half-width z/(1 + z²/n)·√(p(1−p)/n + z²/4n²).
    const n = 10;
    const p = 0.8;
    const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const half = (Math.sqrt(z2) / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
    const interval = wilsonInterval(8, 10);
    assert.ok(Math.abs(interval.lower - (centre - half)) < 1e-12);
    assert.ok(Math.abs(interval.upper - (centre + half)) < 1e-12);
    assert.ok(Math.abs(interval.lower - 0.4902) < 1e-4 && Math.abs(interval.upper - 0.9433) < 1e-4);
  });
});

describe('compareShadowPredictions (DuckDB) against the pure definitions', () => {
  let session: DuckDbSession;
  before(async () => {
    session = await openDuckDb();
  });
  after(async () => {
    await session.close();
  });

  /** A prediction table like batchPredict's parts: binary, P(yes) rounded so that values tie. */
  async function table(name: string, scores: number[], threshold: number, skip?: number): Promise<string> {
    const rows = scores.map((_, i) => i).filter((i) => i !== skip);
    await session.run(
      `CREATE OR REPLACE TABLE ${name} AS SELECT i AS row_index, '${name}-' || i AS prediction_id, 'k' || i AS id,
         1 - p AS probability_no, p AS probability_yes, CASE WHEN p >= $3 THEN 'yes' ELSE 'no' END AS predicted_class
       FROM (SELECT unnest(CAST($1 AS BIGINT[])) AS i, unnest(CAST($2 AS DOUBLE[])) AS p)`,
      [listValue(rows), listValue(rows.map((i) => scores[i] as number)), threshold],
    );
    return name;
  }

  const scoreLists = fc
    .integer({ min: 2, max: 120 })
    .chain((n) =>
      fc.tuple(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: n, maxLength: n }),
      ),
    );

  it('KS, PSI, agreement, confusion and the top rows equal their in-memory definitions', async () => {
    const model = { task: 'binary' as const, classes: ['no', 'yes'] };
    const scores = comparedScoresOf(model);
    assert.deepEqual(scores, [{ name: 'probability_yes', className: 'yes' }]);
    await fc.assert(
      fc.asyncProperty(scoreLists, async ([a, b]) => {
        const pa = a.map((v) => v / 20);
        const pb = b.map((v) => v / 20);
        const c = await compareShadowPredictions({
          session,
          primary: await table('primary_parts', pa, 0.5),
          shadow: await table('shadow_parts', pb, 0.4),
          rows: pa.length,
          task: 'binary',
          scores,
          classes: model.classes,
          keyColumns: ['id'],
          topRows: 5,
        });
        assert.equal(c.rowsCompared, pa.length);
        const [d] = c.scores;
        assert.ok(d);
        assert.ok(Math.abs(d.ks - kolmogorovSmirnovStatistic(pa, pb)) < 1e-12, `KS ${d.ks}`);
        const psi = psiOnReferenceDeciles(pa, pb);
        assert.deepEqual(d.psiBins, { cuts: psi.cuts, primary: psi.expectedCounts, shadow: psi.actualCounts });
        assert.ok(Math.abs(d.psi - psi.psi) < 1e-12);
        const differences = pa.map((v, i) => Math.abs(v - (pb[i] as number)));
        const mean = differences.reduce((x, y) => x + y, 0) / differences.length;
        assert.ok(Math.abs(d.meanAbsoluteDifference.mean - mean) < 1e-12);
        assert.ok((d.meanAbsoluteDifference.lower ?? 0) <= mean && mean <= (d.meanAbsoluteDifference.upper ?? 1));

        const classA = pa.map((v) => (v >= 0.5 ? 'yes' : 'no'));
        const classB = pb.map((v) => (v >= 0.4 ? 'yes' : 'no'));
        const agreed = classA.filter((x, i) => x === classB[i]).length;
        assert.equal(c.agreement?.rows, agreed);
        const wilson = wilsonInterval(agreed, pa.length);
        assert.deepEqual([c.agreement?.interval.lower, c.agreement?.interval.upper], [wilson.lower, wilson.upper]);
        const cell = (x: string, y: string) => classA.filter((v, i) => v === x && classB[i] === y).length;
        assert.deepEqual(c.confusion, {
          classes: ['no', 'yes'],
          rows: [
            [cell('no', 'no'), cell('no', 'yes')],
            [cell('yes', 'no'), cell('yes', 'yes')],
          ],
        });
        const order = differences
          .map((diff, i) => ({ diff, i }))
          .sort((x, y) => y.diff - x.diff || x.i - y.i)
          .slice(0, 5)
          .map((x) => x.i);
        assert.deepEqual(
          c.topDisagreements.rows.map((r) => r.rowIndex),
          order,
        );
        const top = c.topDisagreements.rows[0];
        assert.ok(top);
        assert.deepEqual(top.keys, { id: `k${top.rowIndex}` });
        assert.equal(top.primaryPredictionId, `primary_parts-${top.rowIndex}`);
        assert.equal(top.shadowPredictionId, `shadow_parts-${top.rowIndex}`);
        assert.equal(top.primary.scores.probability_yes, pa[top.rowIndex]);
        assert.equal(top.shadow.class, classB[top.rowIndex]);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses to compare when a side lacks a row', async () => {
    const scores = [0.1, 0.6, 0.9];
    await assert.rejects(
      compareShadowPredictions({
        session,
        primary: await table('primary_parts', scores, 0.5),
        shadow: await table('shadow_parts', scores, 0.5, 1),
        rows: 3,
        task: 'binary',
        scores: comparedScoresOf({ task: 'binary', classes: ['no', 'yes'] }),
        classes: ['no', 'yes'],
        keyColumns: [],
      }),
      (error: unknown) =>
        error instanceof ShadowRowsMismatchError && /pair up on 2 of 3 input rows/.test(error.message),
    );
  });

  it('compares every class probability of a multiclass model, the value of a regression model', () => {
    assert.deepEqual(
      comparedScoresOf({ task: 'multiclass', classes: ['a', 'b', 'c'] }).map((s) => s.name),
      ['probability_a', 'probability_b', 'probability_c'],
    );
    assert.deepEqual(comparedScoresOf({ task: 'regression' }), [{ name: 'prediction' }]);
  });
});

describe('shadowIncompatibility', () => {
  const primary: ComparableVersion = { model: 'penguins', version: 3, task: 'multiclass', classes: ['a', 'b', 'c'] };

  it('accepts another version of the same task and classes, in any order, of any model', () => {
    assert.equal(shadowIncompatibility(primary, { ...primary, version: 4, classes: ['c', 'a', 'b'] }), undefined);
    assert.equal(shadowIncompatibility(primary, { ...primary, model: 'penguins-mlp' }), undefined);
  });

  it('refuses the same version, another task or other classes, naming the field shadow', () => {
    const cases: [ComparableVersion, RegExp][] = [
      [{ ...primary }, /resolves to penguins:3, the version "model" scores with/],
      [
        { ...primary, version: 4, task: 'binary', classes: ['a', 'b'] },
        /is a binary model but penguins:3 is multiclass/,
      ],
      [{ ...primary, version: 4, classes: ['a', 'b', 'd'] }, /the shadow lacks "c"\) \(the shadow adds "d"\)/],
    ];
    for (const [shadow, message] of cases) {
      const error = shadowIncompatibility(primary, shadow);
      assert.ok(error, JSON.stringify(shadow));
      assert.equal(error.type, 'InvalidPipelineConfig');
      assert.deepEqual(
        error.problems.map((p) => p.path),
        ['shadow'],
      );
      assert.match(error.message, message);
    }
  });
});
