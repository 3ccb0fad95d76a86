import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { BatchPredictInputDraft, BatchPredictResult } from '../../contracts/batch-predict-input';
import type { VersionRecord } from '../../contracts/registry';
import { loadModel } from '../../lib/serving/load-model';
import { readObject } from '../../lib/store/read-object';
import { batchPredictStatusQuery } from '../../workflows/batch-predict-messages';
import { TrainyardOutcome } from '../../workflows/search-attributes';
import { waitForBatchOutcome } from '../support/batch-predict-runs';
import { runCli } from '../support/cli';
import { failureOf } from '../support/pipeline-runs';
import { readPredictionParts } from '../support/prediction-parts';
import { uniqueModelName } from '../support/registry-fixtures';
import { PENGUINS_SPECIES, trainVersion, uploadPenguins } from '../support/serving-models';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';

type PenguinRow = Record<string, string | number | null>;
const CHUNK_ROWS = 50;

/** batchPredict end to end: real worker, real Temporal, real MinIO, a version trained by the real pipeline. */
describe('batchPredict (real Temporal, real MinIO)', () => {
  let h: TestHarness;
  let record: VersionRecord;
  let penguins: PenguinRow[];

  before(async () => {
    h = await startTestHarness();
    record = await trainVersion(h, await uploadPenguins(h), uniqueModelName('batch'), { task: PENGUINS_SPECIES });
    penguins = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as PenguinRow[];
  });
  after(async () => {
    await h?.close();
  });

  async function upload(name: string, rows: PenguinRow[]): Promise<string> {
    const key = `${h.prefix}/datasets/${name}.json`;
    await h.store.put(key, JSON.stringify(rows));
    return h.store.uriFor(key);
  }

  function predict(input: BatchPredictInputDraft): Promise<BatchPredictResult> {
    return h.client.workflow.execute('batchPredict', {
      taskQueue: h.taskQueue,
      workflowId: `test-batch-${randomUUID()}`,
      args: [input],
    }) as Promise<BatchPredictResult>;
  }

  it("scores every row once with the resolved version, with loadModel().predict's scores and classes", async () => {
    const withIds = penguins.map((row, i) => ({ penguin_id: `p-${i}`, ...row, observer: 'field team' }));
    const uri = await upload('penguins-with-ids', withIds);
    const result = await predict({
      model: `${record.model}@champion`,
      dataset: { uri },
      output: { uri: h.store.uriFor(`${h.prefix}/predictions/main`) },
      keyColumns: ['penguin_id'],
      chunkRows: CHUNK_ROWS,
    });
    assert.equal(result.version, record.version);
    assert.equal(result.alias, 'champion');
    assert.equal(result.rows, penguins.length);
    assert.equal(result.chunks, Math.ceil(penguins.length / CHUNK_ROWS));
    assert.equal(result.chunksWritten, result.chunks);
    assert.ok(!result.warnings.some((w) => w.includes('penguin_id')), 'a key column is not an extra column');
    assert.ok(
      result.warnings.some((w) => w.includes('"observer"') && w.includes('not in the training data')),
      result.warnings.join('\n'),
    );

    const rows = await readPredictionParts(h.store, result.predictionsUri);
    assert.equal(rows.length, penguins.length);
    const model = await loadModel(h.store, `${record.model}:${record.version}`);
    try {
      const expected = await model.predict(penguins);
      const classes = model.classes ?? [];
      assert.ok(classes.length === 3, `penguins has three species, got ${classes.join(', ')}`);
      let maxDifference = 0;
      rows.forEach((row, i) => {
        assert.equal(row.row_index, i);
        assert.equal(row.penguin_id, `p-${i}`);
        assert.equal(row.model, record.model);
        assert.equal(row.version, record.version);
        const prediction = expected[i];
        assert.ok(prediction && 'class' in prediction);
        assert.equal(row.predicted_class, prediction.class, `row ${i}`);
        for (const c of classes)
          maxDifference = Math.max(
            maxDifference,
            Math.abs((row[`probability_${c}`] as number) - (prediction.probabilities[c] as number)),
          );
      });
      assert.ok(maxDifference <= 1e-6, `largest score difference ${maxDifference}`);
    } finally {
      model.dispose();
    }
    assert.equal(new Set(rows.map((r) => r.prediction_id)).size, rows.length, 'prediction ids are distinct');

    const summary = JSON.parse((await readObject(h.store, h.store.keyFor(result.summaryUri))).toString('utf8')) as {
      rows: number;
      modelVersion: number;
      predictions: { classes: Record<string, number> };
      drift: { outcome: string; columns: { column: string; drifted: boolean }[] };
    };
    assert.equal(summary.rows, penguins.length);
    assert.equal(summary.modelVersion, record.version);
    const counted: Record<string, number> = {};
    for (const row of rows) counted[row.predicted_class as string] = (counted[row.predicted_class as string] ?? 0) + 1;
    assert.deepEqual(summary.predictions.classes, counted);
    // The training data itself: compared column by column, nothing drifted (the extra columns are not compared).
    assert.equal(summary.drift.outcome, 'judged');
    assert.ok(summary.drift.columns.some((c) => c.column === 'Island'));
    assert.ok(!summary.drift.columns.some((c) => c.column === 'penguin_id' || c.column === 'observer'));
    assert.deepEqual(
      summary.drift.columns.filter((c) => c.drifted).map((c) => c.column),
      [],
    );

    // The page beside summary.json, opened through the run's link as a person would.
    assert.equal(result.summaryPageUri, result.summaryUri.replace(/summary\.json$/, 'summary.html'));
    const page = await fetch(result.reportUrl);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.ok(html.includes(`${record.model}@champion → version ${record.version}`), 'names the version');
    assert.ok(html.includes(`${penguins.length} rows`), 'names the rows');
    for (const [c, n] of Object.entries(counted))
      assert.ok(html.includes(`<td class="text">${c}</td><td class="num">${n}</td>`), c);
    assert.ok(html.includes('&quot;observer&quot;'), 'the extra-column warning, escaped');
  });

  it('with operator.timeout 0s, fails at once, non-retryably, naming the column, when the dataset lacks a column the model reads', async () => {
    const uri = await upload(
      'penguins-no-island',
      penguins.map(({ Island: _dropped, ...rest }) => rest),
    );
    await assert.rejects(
      predict({
        model: `${record.model}:${record.version}`,
        dataset: { uri },
        chunkRows: CHUNK_ROWS,
        operator: { timeout: '0s' },
      }),
      (error: unknown) => {
        assert.ok(error instanceof WorkflowFailedError);
        const activityFailure = error.cause as Error & { cause?: Error & { type?: string; nonRetryable?: boolean } };
        const failure = activityFailure.cause;
        assert.equal(failure?.type, 'IncompatibleSchema');
        assert.equal(failure?.nonRetryable, true);
        assert.match(failure?.message ?? '', /"Island"/);
        return true;
      },
    );
  });

  it('bad data waits for an operator: trainyard retry --dataset scores the fixed file with the same version; abort ends a run', async () => {
    const env = { TRAINYARD_TASK_QUEUE: h.taskQueue };
    const broken = await upload(
      'penguins-operator-no-island',
      penguins.map(({ Island: _dropped, ...rest }) => rest),
    );
    const fixed = await upload('penguins-operator-fixed', penguins);
    const start = () =>
      h.client.workflow.start('batchPredict', {
        taskQueue: h.taskQueue,
        workflowId: `test-batch-operator-${randomUUID()}`,
        args: [{ model: `${record.model}@champion`, dataset: { uri: broken }, chunkRows: 100 }],
      });

    const handle = await start();
    const waiting = await waitForBatchOutcome(handle, 'awaiting-operator');
    assert.equal(waiting.awaitingOperator?.failedStage, 'predictBatch');
    assert.equal(waiting.awaitingOperator?.failure.type, 'IncompatibleSchema');
    assert.match(waiting.awaitingOperator?.failure.message ?? '', /"Island"/);
    assert.equal(waiting.version, record.version);
    assert.equal((await handle.describe()).typedSearchAttributes.get(TrainyardOutcome), 'awaiting-operator');

    const retried = await runCli(['retry', handle.workflowId, '--dataset', fixed, '--by', 'erin', '--json'], env);
    assert.equal(retried.code, 0, retried.stderr);
    assert.deepEqual(JSON.parse(retried.stdout), {
      workflowId: handle.workflowId,
      accepted: true,
      restartFrom: 'predictBatch',
      kept: ['resolvePredictionModel'],
    });
    const result = (await handle.result()) as BatchPredictResult;
    assert.equal(result.version, record.version);
    assert.equal(result.dataset.uri, fixed);
    assert.equal(result.rows, penguins.length);
    const status = await handle.query(batchPredictStatusQuery);
    assert.equal(status.outcome, 'succeeded');
    assert.deepEqual(
      status.retries?.map((r) => [r.by, r.failedStage, r.failure.type, r.changedPaths]),
      [['erin', 'predictBatch', 'IncompatibleSchema', ['dataset.uri']]],
    );

    const abandoned = await start();
    await waitForBatchOutcome(abandoned, 'awaiting-operator');
    const aborted = await runCli(['abort', abandoned.workflowId, '--reason', 'wrong export'], env);
    assert.equal(aborted.code, 0, aborted.stderr);
    const failure = await failureOf(abandoned);
    assert.equal(failure.type, 'PipelineAborted');
    assert.match(failure.message, /wrong export.*predictBatch failed with IncompatibleSchema: .*"Island"/s);
  });

  it('scores categories training never saw with a warning naming the column and the share', async () => {
    const unseen = penguins.map((row, i) => (i % 10 === 0 ? { ...row, Island: 'Atlantis' } : row));
    const uri = await upload('penguins-atlantis', unseen);
    const result = await predict({ model: `${record.model}@champion`, dataset: { uri }, chunkRows: CHUNK_ROWS });
    assert.equal(result.rows, penguins.length);
    const share = ((100 * Math.ceil(penguins.length / 10)) / penguins.length).toFixed(1);
    const warning = result.warnings.find((w) => w.includes('"Island"'));
    assert.ok(warning, result.warnings.join('\n'));
    assert.match(warning, /Atlantis/);
    assert.ok(warning.includes(`${share}%`), warning);
  });

  it('a drifted feature is a warning in the result, a row of the drift table in summary.json and on the page', async () => {
    const heavier = penguins.map((row) =>
      typeof row['Body Mass (g)'] === 'number' ? { ...row, 'Body Mass (g)': row['Body Mass (g)'] + 1500 } : row,
    );
    const uri = await upload('penguins-heavier', heavier);
    const result = await predict({ model: `${record.model}@champion`, dataset: { uri }, chunkRows: 100 });
    assert.equal(result.rows, penguins.length, 'drift does not stop scoring');
    const warning = result.warnings.find((w) => w.includes('drifted from the training data'));
    assert.ok(warning, result.warnings.join('\n'));
    assert.match(warning, /^column "Body Mass \(g\)" drifted from the training data: psi /);
    const summary = JSON.parse((await readObject(h.store, h.store.keyFor(result.summaryUri))).toString('utf8')) as {
      drift: { outcome: string; reference: string; columns: { column: string; drifted: boolean; metric: string }[] };
    };
    assert.equal(summary.drift.reference, record.lineage.statistics.uri);
    assert.deepEqual(
      summary.drift.columns.filter((c) => c.drifted).map((c) => [c.column, c.metric]),
      [['Body Mass (g)', 'psi']],
    );
    const html = await (await fetch(result.reportUrl)).text();
    assert.match(
      html,
      /<td class="text">Body Mass \(g\)<\/td>(<td class="num">[^<]*<\/td>){2}<td class="text">psi [^<]*<\/td><td class="num">[^<]*<\/td><td class="text">yes<\/td>/,
    );
  });

  it('converts a column of another type with a warning: a value that does not convert is a missing value', async () => {
    const names = Object.keys(penguins[0] as PenguinRow);
    const cell = (v: string | number | null | undefined) => (v === null || v === undefined ? '' : String(v));
    const lines = penguins.map((row, i) =>
      names.map((n) => (n === 'Body Mass (g)' && i === 7 ? 'heavy' : cell(row[n]))).join(','),
    );
    const key = `${h.prefix}/datasets/penguins-heavy.csv`;
    await h.store.put(key, [names.join(','), ...lines].join('\n'));
    const result = await predict({
      model: `${record.model}@champion`,
      dataset: { uri: h.store.uriFor(key) },
      chunkRows: CHUNK_ROWS,
    });
    assert.ok(
      result.warnings.some((w) => /"Body Mass \(g\)" is VARCHAR here but number in training/.test(w)),
      result.warnings.join('\n'),
    );
    const rows = await readPredictionParts(h.store, result.predictionsUri);
    const model = await loadModel(h.store, `${record.model}:${record.version}`);
    try {
      const expected = await model.predict(
        penguins.map((row, i) => (i === 7 ? { ...row, 'Body Mass (g)': null } : row)),
      );
      for (const [i, prediction] of expected.entries()) {
        assert.ok('probabilities' in prediction);
        for (const [c, p] of Object.entries(prediction.probabilities))
          assert.ok(Math.abs((rows[i]?.[`probability_${c}`] as number) - p) <= 1e-6, `row ${i} ${c}`);
      }
    } finally {
      model.dispose();
    }
  });

  it('a rerun after losing one part rewrites only that chunk: same bytes, every row once', async () => {
    const uri = await upload('penguins-resume', penguins);
    const input: BatchPredictInputDraft = {
      model: `${record.model}@champion`,
      dataset: { uri },
      // A folder URI: the trailing "/" is optional.
      output: { uri: `${h.store.uriFor(`${h.prefix}/predictions/resume`)}/` },
      chunkRows: CHUNK_ROWS,
    };
    const first = await predict(input);
    assert.ok(first.predictionsUri.startsWith(`${h.store.uriFor(`${h.prefix}/predictions/resume`)}/`));
    const partsPrefix = h.store.keyFor(first.predictionsUri.replace(/\/$/, ''));
    const before = new Map<string, string>();
    for await (const object of h.store.list(partsPrefix)) before.set(object.key, object.etag);
    assert.equal(before.size, first.chunks);
    const lost = [...before.keys()].sort()[2] as string;
    await h.store.delete(lost);

    const second = await predict(input);
    assert.equal(second.chunksWritten, 1);
    assert.equal(second.rows, penguins.length);
    const after = new Map<string, string>();
    for await (const object of h.store.list(partsPrefix)) after.set(object.key, object.etag);
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    assert.deepEqual(after, before, 'the rewritten part has the bytes of the lost one; the others were not touched');

    const rows = await readPredictionParts(h.store, second.predictionsUri);
    assert.equal(rows.length, penguins.length);
    assert.equal(new Set(rows.map((r) => r.row_index)).size, penguins.length);
    assert.equal(new Set(rows.map((r) => r.prediction_id)).size, penguins.length);
  });

  it("refuses an unknown alias naming the aliases, an output folder that holds another input's parts, and an output outside the store or climbing out of its prefix", async () => {
    const uri = await upload('penguins-claims', penguins);
    const rootOf = (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError);
      return (error.cause as Error & { cause?: Error & { type?: string; nonRetryable?: boolean } }).cause;
    };
    await assert.rejects(predict({ model: `${record.model}@nosuch`, dataset: { uri } }), (error: unknown) => {
      const failure = rootOf(error);
      assert.equal(failure?.type, 'ModelVersionNotFound');
      assert.equal(failure?.nonRetryable, true);
      assert.match(failure?.message ?? '', /has no alias "nosuch".*champion → /s);
      return true;
    });
    const output = { uri: h.store.uriFor(`${h.prefix}/predictions/claimed`) };
    await predict({ model: `${record.model}@champion`, dataset: { uri }, output, chunkRows: 100 });
    await assert.rejects(
      predict({
        model: `${record.model}@champion`,
        dataset: { uri },
        output,
        chunkRows: 50,
        operator: { timeout: '0s' },
      }),
      (error: unknown) => {
        const failure = rootOf(error);
        assert.equal(failure?.type, 'InvalidPipelineConfig');
        assert.match(failure?.message ?? '', /output\.uri: .* already holds predictions of another input/);
        return true;
      },
    );
    for (const [outside, rule] of [
      ['s3://elsewhere/predictions', /names bucket "elsewhere", but this store is bucket/],
      [
        h.store.uriFor(`${h.prefix}/predictions/x`).replace('/x', '/../../x'),
        /must not contain "\." or "\.\." segments/,
      ],
    ] as const)
      await assert.rejects(
        predict({
          model: `${record.model}@champion`,
          dataset: { uri },
          output: { uri: outside },
          operator: { timeout: '0s' },
        }),
        (error: unknown) => {
          const failure = rootOf(error);
          assert.equal(failure?.type, 'InvalidPipelineConfig', outside);
          assert.equal(failure?.nonRetryable, true);
          assert.match(failure?.message ?? '', /output\.uri/);
          assert.match(failure?.message ?? '', rule);
          return true;
        },
      );
  });

  it('reads the partitions the selection names, as training does', async () => {
    const half = Math.floor(penguins.length / 2);
    const prefix = `${h.prefix}/datasets/penguins-daily`;
    await h.store.put(`${prefix}/date=2026-11-01/rows.json`, JSON.stringify(penguins.slice(0, half)));
    await h.store.put(`${prefix}/date=2026-11-02/rows.json`, JSON.stringify(penguins.slice(half)));
    const uri = `${h.store.uriFor(prefix)}/`;
    const latest = await predict({ model: `${record.model}@champion`, dataset: { uri, partitions: 'latest' } });
    assert.deepEqual(latest.dataset.partitions, ['date=2026-11-02']);
    assert.equal(latest.rows, penguins.length - half);
    const all = await predict({ model: `${record.model}@champion`, dataset: { uri }, chunkRows: CHUNK_ROWS });
    assert.equal(all.rows, penguins.length);
  });

  it("a regression version writes its prediction in the target's units, with no class", async () => {
    const mass = await trainVersion(h, await uploadPenguins(h), uniqueModelName('batch-mass'), {
      task: { type: 'regression', label: 'Body Mass (g)' },
    });
    const uri = await upload('penguins-mass', penguins);
    const result = await predict({ model: `${mass.model}@champion`, dataset: { uri }, chunkRows: 100 });
    const rows = await readPredictionParts(h.store, result.predictionsUri);
    assert.equal(rows.length, penguins.length);
    assert.ok(!('predicted_class' in (rows[0] ?? {})), 'no class column');
    const model = await loadModel(h.store, `${mass.model}:${mass.version}`);
    try {
      const expected = await model.predict(penguins.map(({ 'Body Mass (g)': _label, ...rest }) => rest));
      rows.forEach((row, i) => {
        const prediction = expected[i];
        assert.ok(prediction && 'value' in prediction);
        assert.ok(
          Math.abs((row.prediction as number) - prediction.value) <= 1e-6 * Math.abs(prediction.value),
          `row ${i}`,
        );
      });
    } finally {
      model.dispose();
    }
    const values = rows.map((r) => r.prediction as number);
    assert.ok(Math.min(...values) > 1000 && Math.max(...values) < 10_000, 'grams, not standardised units');
  });

  it('trainyard predict --follow exits like run --follow (0, 1, 4 awaiting an operator); status and runs show batchPredict runs', async () => {
    const env = { TRAINYARD_TASK_QUEUE: h.taskQueue };
    const uri = await upload('penguins-cli', penguins);
    const ok = await runCli(
      ['predict', '--model', `${record.model}@champion`, '--dataset', uri, '--chunk-rows', '100', '--follow', '--json'],
      env,
    );
    assert.equal(ok.code, 0, ok.stderr);
    const result = JSON.parse(ok.stdout.slice(ok.stdout.indexOf('{'))) as BatchPredictResult;
    assert.deepEqual([result.version, result.rows, result.chunks], [record.version, penguins.length, 4]);
    const okRun = /workflow id: (\S+)/.exec(ok.stdout)?.[1] ?? assert.fail(ok.stdout);

    const done = await runCli(['status', okRun], env);
    assert.equal(done.code, 0, done.stderr);
    assert.match(
      done.stdout,
      new RegExp(`batchPredict ${record.model}@champion\\s+version ${record.version}\\s+outcome succeeded`),
    );
    assert.ok(done.stdout.includes(`predictions: ${result.predictionsUri}`), done.stdout);
    assert.ok(done.stdout.includes(`summary:     ${result.summaryUri}`), done.stdout);
    assert.match(done.stdout, new RegExp(`rows:\\s+${penguins.length} in 4 chunks`));

    const noIsland = await upload(
      'penguins-cli-no-island',
      penguins.map(({ Island: _dropped, ...rest }) => rest),
    );
    const failed = await runCli(
      ['predict', '--model', `${record.model}@champion`, '--dataset', noIsland, '--operator-timeout', '0s', '--follow'],
      env,
    );
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    assert.match(failed.stderr, /failed: IncompatibleSchema: .*"Island"/);
    const failedRun = /workflow id: (\S+)/.exec(failed.stdout)?.[1] ?? assert.fail(failed.stdout);
    const failedStatus = await runCli(['status', failedRun, '--json'], env);
    assert.equal(failedStatus.code, 1, failedStatus.stderr);
    const failedJson = JSON.parse(failedStatus.stdout) as {
      outcome: string;
      version?: number;
      failure?: { type: string };
    };
    assert.deepEqual(
      [failedJson.outcome, failedJson.version, failedJson.failure?.type],
      ['failed', record.version, 'IncompatibleSchema'],
    );

    const waiting = await runCli(
      ['predict', '--model', `${record.model}@champion`, '--dataset', noIsland, '--follow'],
      env,
    );
    assert.equal(waiting.code, 4, waiting.stdout + waiting.stderr);
    assert.match(
      waiting.stderr,
      /waiting for an operator:[\s\S]*predictBatch failed with IncompatibleSchema: .*"Island"/,
    );
    const waitingRun = /workflow id: (\S+)/.exec(waiting.stdout)?.[1] ?? assert.fail(waiting.stdout);
    const waitingStatus = await runCli(['status', waitingRun], env);
    assert.equal(waitingStatus.code, 4, waitingStatus.stderr);
    assert.match(waitingStatus.stdout, /outcome awaiting-operator/);
    assert.match(waitingStatus.stdout, /trainyard retry <workflowId> \[--dataset <uri>\]/);
    assert.equal((await runCli(['abort', waitingRun], env)).code, 0);

    // Visibility is eventually consistent: give the listing a few seconds to catch up.
    let listed: { workflowId: string; type: string; outcome: string }[] = [];
    for (let i = 0; i < 20 && !listed.some((r) => r.workflowId === okRun && r.outcome === 'succeeded'); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      const runs = await runCli(['runs', '--model', record.model, '--outcome', 'succeeded', '--json'], env);
      assert.equal(runs.code, 0, runs.stderr);
      listed = JSON.parse(runs.stdout) as typeof listed;
    }
    assert.deepEqual(
      listed.filter((r) => r.workflowId === okRun).map((r) => [r.type, r.outcome]),
      [['batchPredict', 'succeeded']],
    );

    // An unreachable Temporal proves nothing was contacted: the flags are checked first.
    const usage = await runCli(
      ['predict', '--model', 'penguins', '--dataset', 'ftp://x', '--chunk-rows', '0', '--key', 'row_index'],
      { TEMPORAL_ADDRESS: '127.0.0.1:1' },
    );
    assert.equal(usage.code, 2, usage.stderr);
    for (const flag of ['--model', '--dataset', '--chunk-rows', '--key \\(#1\\)'])
      assert.match(usage.stderr, new RegExp(`- ${flag}:`), `names ${flag}`);
    assert.doesNotMatch(usage.stderr, /\n\s+at /, 'no stack trace');
  });
});
