import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeEvaluation } from '../../lib/evaluation/evaluation-document';
import { evaluatePredictions } from '../../lib/evaluation/metrics';
import { parseLossHistory, renderReport } from '../../lib/evaluation/report';
import { escapeXml, niceTicks } from '../../lib/evaluation/svg-charts';
import { HOSTILE, sampleDocument } from '../support/evaluation-fixtures';

const HISTORY = parseLossHistory({
  epochs: [1, 2, 3, 4, 5].map((epoch) => ({ epoch, trainLoss: 1 / epoch, validationLoss: 1.1 / epoch + 0.02 * epoch })),
});

describe('evaluation report', () => {
  it('holds the ROC, PR, calibration, confusion and loss charts, slice bars and the champion table', async () => {
    const html = renderReport(await sampleDocument(), HISTORY);
    for (const chart of [
      'ROC curve',
      'Precision-recall',
      'Calibration',
      'Confusion matrix',
      'Loss curves',
      'accuracy by island',
    ]) {
      assert.match(html, new RegExp(`<svg[^>]*aria-label="${chart}`), `missing chart ${chart}`);
    }
    assert.ok((html.match(/<svg /g) ?? []).length >= 6);
    assert.match(html, /<th>champion v3<\/th><th>change vs champion<\/th>/);
    assert.match(html, /<span class="decision">rejected<\/span>/);
    assert.match(html, /accuracy 0\.\d+ is below the floor 0\.9/);
  });

  it('is self-contained: no external src, href, stylesheet, font or script', async () => {
    const html = renderReport(await sampleDocument({ hostile: true }), HISTORY);
    assert.doesNotMatch(html, /\b(src|href|xlink:href|action)\s*=\s*["']?\s*(https?:)?\/\//i);
    assert.doesNotMatch(html, /https?:\/\//i);
    assert.doesNotMatch(html, /<script|<link|<iframe|<img|@import|url\(/i);
  });

  it('escapes hostile column names, class labels and run ids', async () => {
    const html = renderReport(await sampleDocument({ hostile: true }), HISTORY);
    assert.ok(!html.includes(HOSTILE), 'raw hostile text must not appear');
    assert.ok(!html.includes('<script>alert'), 'no live script tag');
    assert.ok(!html.includes('onerror=alert(1)>'), 'no live attribute');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), 'the hostile text is shown escaped');
    assert.ok(html.includes('&amp;amp;'), 'an entity in data is shown literally');
  });

  it('says so when there is no training history', async () => {
    const html = renderReport(await sampleDocument(), []);
    assert.match(html, /No training history was available/);
  });

  it('renders multiclass and regression documents', async () => {
    const base = await sampleDocument();
    const multi = evaluatePredictions(
      'multiclass',
      [0, 1, 2, 2],
      [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.1, 0.8, 0.5, 0.3, 0.2],
      { threshold: 0.5, classes: ['a', 'b', 'c'] },
    );
    const multiHtml = renderReport(
      {
        ...base,
        task: 'multiclass',
        mainMetric: 'accuracy',
        challenger: multi,
        baselines: { zeroRule: multi, random: multi },
        slices: [],
      },
      HISTORY,
    );
    assert.match(multiHtml, /aria-label="Confusion matrix"/);
    assert.match(multiHtml, /<th>class<\/th>/);
    assert.doesNotMatch(multiHtml, /ROC curve/);
    const reg = evaluatePredictions('regression', [1, 2, 3], [1.1, 2.2, 2.7], { threshold: 0.5 });
    const regHtml = renderReport(
      {
        ...base,
        task: 'regression',
        mainMetric: 'r2',
        challenger: reg,
        baselines: { zeroRule: reg, random: reg },
        slices: [],
        regressionSample: [
          [1, 1.1],
          [2, 2.2],
          [3, 2.7],
        ],
      },
      HISTORY,
    );
    assert.match(regHtml, /aria-label="Predicted vs actual/);
    assert.match(regHtml, /<td>rmse <span class="note">↓<\/span><\/td>/);
  });
});

describe('report helpers', () => {
  it('escapeXml covers the five specials and drops characters XML cannot hold', async () => {
    assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(escapeXml('a\u0000b\ud800c'), 'a\ufffdb\ufffdc');
  });

  it('loss history: accepts the shapes the train stage may write', async () => {
    assert.deepEqual(parseLossHistory([{ epoch: 1, loss: 0.5, val_loss: 0.6 }]), [
      { epoch: 1, trainLoss: 0.5, validationLoss: 0.6 },
    ]);
    assert.deepEqual(parseLossHistory({ history: [{ epoch: 2, trainLoss: 0.4, validationLoss: 0.45, attempt: 1 }] }), [
      { epoch: 2, trainLoss: 0.4, validationLoss: 0.45 },
    ]);
    assert.deepEqual(parseLossHistory({ nothing: true }), []);
    assert.deepEqual(parseLossHistory('garbage'), []);
  });

  it('nice ticks are round numbers spanning the domain', async () => {
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0.13, 0.61, 5), [0.2, 0.3, 0.4, 0.5, 0.6]);
    assert.deepEqual(niceTicks(3, 3, 5), [3]);
  });

  it('the evaluation JSON writes uncomputable metrics as null', async () => {
    const json = JSON.parse(
      serializeEvaluation({
        ...(await sampleDocument()),
        challenger: { task: 'binary', rows: 0, metrics: { roc_auc: Number.NaN } },
      }),
    ) as { challenger: { metrics: { roc_auc: unknown } } };
    assert.equal(json.challenger.metrics.roc_auc, null);
  });
});
