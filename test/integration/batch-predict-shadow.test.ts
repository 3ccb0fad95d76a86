import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { BatchPredictInputDraft, BatchPredictResult } from '../../contracts/batch-predict-input';
import type { VersionRecord } from '../../contracts/registry';
import type { ShadowComparison } from '../../lib/batch-predict/shadow-comparison';
import { readAliases } from '../../lib/registry/aliases';
import { loadModel } from '../../lib/serving/load-model';
import { wilsonInterval } from '../../lib/stats/intervals';
import { kolmogorovSmirnovStatistic, psiOnReferenceDeciles } from '../../lib/stats/two-sample';
import { readObject } from '../../lib/store/read-object';
import { batchPredictStatusQuery } from '../../workflows/batch-predict-messages';
import { runCli } from '../support/cli';
import { readPredictionParts } from '../support/prediction-parts';
import { publicDatasetPath } from '../support/public-data';
import { uniqueModelName } from '../support/registry-fixtures';
import { PENGUINS_IS_MALE, PENGUINS_SPECIES, trainVersion, uploadPenguins } from '../support/serving-models';
import { startTestHarness, type TestHarness } from '../support/temporal';

type PenguinRow = Record<string, string | number | null>;
type Comparison = ShadowComparison & { primary: { version: number }; shadow: { version: number } };
const CHUNK_ROWS = 50;

/** Shadow scoring end to end: two real versions, real worker, real Temporal, real MinIO. */
describe('batchPredict with a shadow version (real Temporal, real MinIO)', () => {
  let h: TestHarness;
  let first: VersionRecord;
  let second: VersionRecord;
  let penguins: PenguinRow[];
  let datasetUri: string;

  before(async () => {
    h = await startTestHarness();
    const uploaded = await uploadPenguins(h);
    const name = uniqueModelName('shadow');
    // Same data, another seed: another split and sampling, so a version that truly scores differently.
    first = await trainVersion(h, uploaded, name, { task: PENGUINS_SPECIES });
    second = await trainVersion(h, uploaded, name, { task: PENGUINS_SPECIES, seed: 7 });
    penguins = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as PenguinRow[];
    const key = `${h.prefix}/datasets/penguins-with-ids.json`;
    await h.store.put(key, JSON.stringify(penguins.map((row, i) => ({ penguin_id: `p-${i}`, ...row }))));
    datasetUri = h.store.uriFor(key);
  });
  after(async () => {
    await h?.close();
  });

  async function predict(input: BatchPredictInputDraft, workflowId = `test-shadow-${randomUUID()}`) {
    return (await h.client.workflow.execute('batchPredict', {
      taskQueue: h.taskQueue,
      workflowId,
      args: [input],
    })) as BatchPredictResult;
  }

  async function readComparison(uri: string): Promise<Comparison> {
    return JSON.parse((await readObject(h.store, h.store.keyFor(uri))).toString('utf8')) as Comparison;
  }

  it('writes both prediction sets and a comparison that the parts, read back, reproduce', async () => {
    const workflowId = `test-shadow-${randomUUID()}`;
    const result = await predict(
      {
        model: `${first.model}:${first.version}`,
        shadow: `${second.model}:${second.version}`,
        dataset: { uri: datasetUri },
        output: { uri: h.store.uriFor(`${h.prefix}/predictions/shadow`) },
        keyColumns: ['penguin_id'],
        chunkRows: CHUNK_ROWS,
      },
      workflowId,
    );
    assert.equal(result.version, first.version);
    assert.equal(result.shadow?.version, second.version);
    assert.equal(result.rows, penguins.length);
    assert.equal(result.shadow?.chunksWritten, Math.ceil(penguins.length / CHUNK_ROWS));
    assert.notEqual(result.shadow?.predictionsUri, result.predictionsUri);

    const primaryRows = await readPredictionParts(h.store, result.predictionsUri);
    const shadowRows = await readPredictionParts(h.store, result.shadow?.predictionsUri ?? '');
    for (const [rows, version] of [
      [primaryRows, first.version],
      [shadowRows, second.version],
    ] as const) {
      assert.equal(rows.length, penguins.length);
      rows.forEach((row, i) => {
        assert.equal(row.row_index, i);
        assert.equal(row.penguin_id, `p-${i}`);
        assert.equal(row.version, version);
      });
    }
    const ids = new Set([...primaryRows, ...shadowRows].map((r) => r.prediction_id));
    assert.equal(ids.size, 2 * penguins.length, 'prediction ids are distinct within and across the two sets');

    // The shadow's predictions are its version's own, as the serving library gives them.
    const shadowModel = await loadModel(h.store, `${second.model}:${second.version}`);
    const classes = shadowModel.classes ?? [];
    try {
      const expected = await shadowModel.predict(penguins);
      expected.forEach((prediction, i) => {
        assert.ok('class' in prediction);
        assert.equal(shadowRows[i]?.predicted_class, prediction.class, `row ${i}`);
        for (const c of classes)
          assert.ok(
            Math.abs((shadowRows[i]?.[`probability_${c}`] as number) - (prediction.probabilities[c] ?? NaN)) <= 1e-6,
          );
      });
    } finally {
      shadowModel.dispose();
    }

    // The comparison, recomputed independently from the parts.
    assert.ok(result.comparison);
    const comparison = await readComparison(result.comparison.uri);
    assert.deepEqual([comparison.primary.version, comparison.shadow.version], [first.version, second.version]);
    assert.equal(comparison.rowsCompared, penguins.length);
    assert.equal(result.comparison.rowsCompared, penguins.length);
    const primaryClass = primaryRows.map((r) => r.predicted_class as string);
    const shadowClass = shadowRows.map((r) => r.predicted_class as string);
    const agreed = primaryClass.filter((c, i) => c === shadowClass[i]).length;
    const wilson = wilsonInterval(agreed, penguins.length);
    assert.equal(comparison.agreement?.rows, agreed);
    assert.ok(Math.abs((comparison.agreement?.rate ?? NaN) - agreed / penguins.length) < 1e-12);
    assert.deepEqual(
      [comparison.agreement?.interval.lower, comparison.agreement?.interval.upper],
      [wilson.lower, wilson.upper],
    );
    assert.deepEqual(comparison.confusion?.classes, classes);
    const confusion = classes.map((a) =>
      classes.map((b) => primaryClass.filter((c, i) => c === a && shadowClass[i] === b).length),
    );
    assert.deepEqual(comparison.confusion?.rows, confusion);

    assert.deepEqual(
      comparison.scores.map((s) => s.score),
      classes.map((c) => `probability_${c}`),
    );
    const column = (rows: Record<string, unknown>[], name: string) => rows.map((r) => r[name] as number);
    for (const distance of comparison.scores) {
      const a = column(primaryRows, distance.score);
      const b = column(shadowRows, distance.score);
      assert.ok(Math.abs(distance.ks - kolmogorovSmirnovStatistic(a, b)) < 1e-12, `KS of ${distance.score}`);
      const psi = psiOnReferenceDeciles(a, b);
      assert.deepEqual(distance.psiBins.cuts, psi.cuts);
      assert.ok(Math.abs(distance.psi - psi.psi) < 1e-9, `PSI of ${distance.score}: ${distance.psi} vs ${psi.psi}`);
      const mad = a.reduce((sum, v, i) => sum + Math.abs(v - (b[i] as number)), 0) / a.length;
      assert.ok(Math.abs(distance.meanAbsoluteDifference.mean - mad) < 1e-12);
    }
    const largestKs = Math.max(...comparison.scores.map((s) => s.ks));
    assert.equal(comparison.headline.ks.statistic, largestKs);
    assert.deepEqual(result.comparison.ks, comparison.headline.ks);
    assert.deepEqual(result.comparison.psi, comparison.headline.psi);
    assert.ok(agreed < penguins.length || largestKs > 0, 'two versions trained on other splits score differently');

    const difference = (i: number) =>
      Math.max(
        ...classes.map((c) =>
          Math.abs((primaryRows[i]?.[`probability_${c}`] as number) - (shadowRows[i]?.[`probability_${c}`] as number)),
        ),
      );
    const top = primaryRows
      .map((_, i) => ({ i, d: difference(i) }))
      .sort((x, y) => y.d - x.d || x.i - y.i)
      .slice(0, 20);
    assert.deepEqual(
      comparison.topDisagreements.rows.map((r) => r.rowIndex),
      top.map((t) => t.i),
    );
    const worst = comparison.topDisagreements.rows[0];
    assert.ok(worst);
    assert.deepEqual(worst.keys, { penguin_id: `p-${worst.rowIndex}` });
    assert.equal(worst.primaryPredictionId, primaryRows[worst.rowIndex]?.prediction_id);
    assert.equal(worst.shadowPredictionId, shadowRows[worst.rowIndex]?.prediction_id);
    assert.equal(worst.shadow.class, shadowClass[worst.rowIndex]);

    const handle = h.client.workflow.getHandle(workflowId);
    const memo = (await handle.describe()).memo ?? {};
    assert.equal(memo.shadowVersion, second.version);
    assert.equal(memo.comparison, result.comparison.uri);
    assert.equal((await handle.query(batchPredictStatusQuery)).shadowVersion, second.version);
  });

  it('a rerun after losing a part of each set rewrites only those two chunks, and the same comparison', async () => {
    const input: BatchPredictInputDraft = {
      model: `${first.model}:${first.version}`,
      shadow: `${second.model}:${second.version}`,
      dataset: { uri: datasetUri },
      output: { uri: h.store.uriFor(`${h.prefix}/predictions/shadow-resume`) },
      chunkRows: CHUNK_ROWS,
    };
    const before = await predict(input);
    assert.ok(before.shadow && before.comparison);
    const comparisonBefore = await readComparison(before.comparison.uri);
    for (const uri of [before.predictionsUri, before.shadow.predictionsUri]) {
      const prefix = h.store.keyFor(uri.replace(/\/$/, ''));
      const keys: string[] = [];
      for await (const object of h.store.list(prefix)) keys.push(object.key);
      await h.store.delete(keys.sort()[1] as string);
    }
    const again = await predict(input);
    assert.equal(again.chunksWritten, 1);
    assert.equal(again.shadow?.chunksWritten, 1);
    assert.deepEqual(await readComparison(again.comparison?.uri ?? ''), comparisonBefore);
    const shadowRows = await readPredictionParts(h.store, again.shadow?.predictionsUri ?? '');
    assert.equal(new Set(shadowRows.map((r) => r.row_index)).size, penguins.length);
    assert.equal(shadowRows.length, penguins.length);
  });

  it('refuses, naming shadow, a shadow that is the same version, of another task, or unknown; nothing is written', async () => {
    const rootOf = (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      return (error.cause as Error & { cause?: Error & { type?: string; nonRetryable?: boolean; details?: unknown[] } })
        .cause;
    };
    const champion = (await readAliases(h.store, first.model)).aliases.champion?.version;
    assert.ok(champion !== undefined);
    const male = await trainVersion(h, await uploadPenguins(h), uniqueModelName('shadow-male'), {
      task: PENGUINS_IS_MALE,
    });
    const output = { uri: h.store.uriFor(`${h.prefix}/predictions/refused`) };
    const cases: [string, string, RegExp][] = [
      [`${first.model}:${champion}`, 'InvalidPipelineConfig', /^shadow: resolves to .*the version "model" scores with/],
      [`${male.model}:${male.version}`, 'InvalidPipelineConfig', /^shadow: .* is a binary model but .* is multiclass/],
      [`${first.model}@nosuch`, 'ModelVersionNotFound', /has no alias "nosuch"/],
    ];
    for (const [shadow, type, message] of cases)
      await assert.rejects(
        predict({ model: `${first.model}@champion`, shadow, dataset: { uri: datasetUri }, output }),
        (error: unknown) => {
          const failure = rootOf(error);
          assert.equal(failure?.type, type, shadow);
          assert.equal(failure?.nonRetryable, true);
          assert.match(failure?.message ?? '', message);
          assert.deepEqual(
            (failure?.details as { path: string }[]).map((d) => d.path),
            ['shadow'],
          );
          return true;
        },
      );
    const written: string[] = [];
    for await (const object of h.store.list(h.store.keyFor(output.uri))) written.push(object.key);
    assert.deepEqual(written, []);
  });

  it('trainyard predict --shadow --follow prints the shadow version and the comparison headline', async () => {
    const run = await runCli(
      [
        'predict',
        '--model',
        `${first.model}:${first.version}`,
        '--shadow',
        `${second.model}:${second.version}`,
        '--dataset',
        datasetUri,
        '--chunk-rows',
        '100',
        '--follow',
      ],
      { TRAINYARD_TASK_QUEUE: h.taskQueue },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`shadow: +${second.model}:${second.version}`));
    const line =
      /comparison: +(\d+) rows compared; agreement ([\d.]+)% \(95% CI [\d.]+%–[\d.]+%\); KS ([\d.]+) on probability_\S+; PSI ([\d.]+) on probability_\S+/.exec(
        run.stdout,
      );
    assert.ok(line, run.stdout);
    assert.equal(Number(line[1]), penguins.length);
    assert.match(run.stdout, /\/comparison-.*\.json/);
  });
});
