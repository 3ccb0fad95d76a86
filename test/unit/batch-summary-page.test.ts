import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderSummaryPage, type SummaryPageInput } from '../../lib/batch-predict/summary-page';

const hostile = '<script>alert("x")</script>';

const summary: SummaryPageInput = {
  model: 'penguins',
  modelVersion: 3,
  alias: 'champion',
  task: 'multiclass',
  dataset: { uri: `s3://trainyard/${hostile}.csv`, sha256: 'ab12', partitions: null },
  predictionsUri: 's3://trainyard/scores/penguins/v3/parts/',
  rows: 10,
  chunks: 2,
  predictions: {
    rows: 10,
    distinctPredictionIds: 10,
    classes: { Adelie: 6, [hostile]: 4 },
    scores: { probability_Adelie: { p01: 0.01, p50: 0.5, p99: 0.99, mean: 0.48 } },
  },
  unseenCategories: [{ column: `Island${hostile}`, rows: 2, share: 0.2, examples: [hostile] }],
  convertedColumns: [{ column: 'Body Mass (g)', from: 'VARCHAR' }],
  warnings: [`column "${hostile}" is not in the training data`],
  drift: {
    outcome: 'judged',
    reference: 's3://trainyard/runs/x/statistics.json',
    rows: 10,
    minRows: 5,
    alpha: 0.005,
    columns: [
      {
        column: hostile,
        test: 'chi-square',
        binning: 'categories',
        bins: 3,
        referenceCount: 100,
        batchCount: 10,
        statistic: 42.5,
        degreesOfFreedom: 2,
        pValue: 0.0001,
        adjustedPValue: 0.0002,
        alpha: 0.005,
        metric: 'jensen-shannon',
        value: 0.25,
        observedValue: 0.3,
        floor: 0.03,
        drifted: true,
        summary: `share of ${hostile} rose`,
      },
    ],
  },
};

describe('batch prediction summary page', () => {
  it('shows rows, classes, score quantiles, warnings and unseen categories', () => {
    const page = renderSummaryPage(summary);
    assert.match(page, /<h1>penguins@champion → version 3<\/h1>/);
    assert.match(page, /multiclass · 10 rows in 2 chunks/);
    assert.match(page, /<td class="text">Adelie<\/td><td class="num">6<\/td><td class="text">60\.0%<\/td>/);
    assert.match(
      page,
      /<td class="text">probability_Adelie<\/td><td class="num">0\.01000<\/td><td class="num">0\.5000<\/td>/,
    );
    assert.match(page, /<h2>Warnings \(1\)<\/h2>/);
    assert.match(page, /<td class="num">2<\/td><td class="text">20\.0%<\/td>/);
    assert.match(page, /Body Mass \(g\)<\/td><td class="text">VARCHAR/);
    assert.match(
      page,
      /<td class="num">42\.50<\/td><td class="num">0\.0002000<\/td><td class="text">jensen-shannon 0\.2500<\/td><td class="num">0\.03000<\/td><td class="text">yes<\/td>/,
    );
  });

  it('escapes every data-derived string: no markup from the data reaches the page', () => {
    const page = renderSummaryPage(summary);
    assert.ok(!page.includes('<script'), 'no script element');
    assert.ok(!page.includes('"x"'), 'quotes escaped');
    assert.ok(page.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  });

  it('says so when nothing was flagged', () => {
    const page = renderSummaryPage({
      ...summary,
      warnings: [],
      unseenCategories: [],
      convertedColumns: [],
      drift: {
        outcome: 'too-few-rows',
        reference: 's3://r',
        rows: 3,
        minRows: 100,
        alpha: 0.005,
        note: 'too few rows',
        columns: [],
      },
    });
    assert.match(page, /too few rows/);
    assert.match(page, /No warnings/);
    assert.match(page, /Every category was seen in training/);
    assert.doesNotMatch(page, /Converted columns/);
  });
});
