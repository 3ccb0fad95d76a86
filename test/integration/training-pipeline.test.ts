import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import { resolveChampion } from '../../lib/registry';
import type { PipelineResult } from '../../workflows';
import { approvalSignal, approvalUpdate, statusQuery } from '../../workflows/messages';
import { publicDatasetPath } from '../support/public-data';
import { failureOf, waitForOutcome } from '../support/pipeline-runs';
import { startTestHarness, type TestHarness } from '../support/temporal';

/** Few epochs: these tests prove the orchestration, the bench measures training. */
const FAST_TRAIN = { model: 'mlp' as const, epochs: 25, batchSize: 32, hiddenLayers: [16] };

describe('trainingPipeline end to end on the real Temporal dev server and MinIO', () => {
  let h: TestHarness;
  let penguinsUri: string;
  before(async () => {
    h = await startTestHarness();
    penguinsUri = await upload('penguins.json', await readFile(publicDatasetPath('penguins.json')));
  });
  after(async () => {
    await h?.close();
  });

  async function upload(name: string, body: Buffer | string): Promise<string> {
    const key = `${h.prefix}/datasets/${name}`;
    await h.store.put(key, body);
    return h.store.uriFor(key);
  }

  const modelName = (base: string) => `${base}-${randomUUID().slice(0, 8)}`;

  async function start(input: PipelineInputDraft | Record<string, unknown>): Promise<WorkflowHandle> {
    return h.client.workflow.start('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `test-pipeline-${randomUUID()}`,
      args: [input],
    });
  }

  const penguins = (model: string, extra: Partial<PipelineInputDraft> = {}): PipelineInputDraft => ({
    model,
    dataset: { uri: penguinsUri },
    task: { type: 'multiclass', label: 'Species' },
    train: FAST_TRAIN,
    ...extra,
  });

  it('trains penguins (multiclass) to ≥ 0.95 test accuracy, registers and promotes version 1', async () => {
    const model = modelName('penguins');
    const handle = await start(penguins(model));
    const result = (await handle.result()) as PipelineResult;

    assert.equal(result.outcome, 'promoted');
    assert.equal(result.decision, 'blessed');
    assert.equal(result.version, 1);
    assert.ok((result.metrics.accuracy ?? 0) >= 0.95, `accuracy ${result.metrics.accuracy}`);
    assert.deepEqual(
      result.stages.map((s) => [s.name, s.state]),
      [
        ['validateInput', 'completed'],
        ['fingerprintDataset', 'completed'],
        ['validateData', 'completed'],
        ['splitAndSample', 'completed'],
        ['fitPreprocessor', 'completed'],
        ['train', 'completed'],
        ['evaluate', 'completed'],
        ['register', 'completed'],
        ['promote', 'completed'],
      ],
    );
    // Every stage output is a typed artifact reference in the store.
    for (const ref of result.stages.flatMap((s) => s.artifacts)) {
      const info = await h.store.stat(h.store.keyFor(ref.uri));
      assert.ok(info, `${ref.kind} exists at ${ref.uri}`);
      assert.equal(info.bytes, ref.bytes, `${ref.kind} size`);
    }
    // The report link opens the self-contained HTML report.
    const report = await fetch(result.reportUrl);
    assert.equal(report.status, 200);
    assert.match(await report.text(), /<svg/);

    const status = await handle.query(statusQuery);
    assert.equal(status.outcome, 'promoted');
    assert.equal(status.version, 1);
    const description = await handle.describe();
    const attributes = description.searchAttributes as Record<string, unknown[]>;
    assert.deepEqual(attributes.TrainyardModel, [model]);
    assert.deepEqual(attributes.TrainyardStage, ['promote']);
    assert.deepEqual(attributes.TrainyardOutcome, ['promoted']);
    const memo = description.memo as Record<string, unknown>;
    assert.equal(memo.dataset, penguinsUri);
    assert.equal(memo.report, result.reportUrl);

    const champion = await resolveChampion(h.store, model);
    assert.equal(champion?.version, 1);

    // Activity summaries label the UI's timeline.
    const history = await handle.fetchHistory();
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => Buffer.from(e.userMetadata?.summary?.data ?? new Uint8Array()).toString());
    assert.ok(
      summaries.some((text) => /train mlp on \d+ features/.test(text)),
      summaries.join(' | '),
    );
    assert.ok(
      summaries.some((text) => text.includes(`fingerprint ${penguinsUri}`)),
      summaries.join(' | '),
    );

    // Recorded history replays cleanly against the current workflow code (determinism guard).
    await Worker.runReplayHistory({ workflowBundle: h.workflowBundle }, history, handle.workflowId);
  });

  it('is deterministic: same input, seed, data and backend give the same splits and metrics', async () => {
    const runs = await Promise.all(
      [0, 1].map(async () => (await start(penguins(modelName('determinism')))).result() as Promise<PipelineResult>),
    );
    const [a, b] = runs as [PipelineResult, PipelineResult];
    const splitHashes = (r: PipelineResult) =>
      r.stages
        .find((s) => s.name === 'splitAndSample')
        ?.artifacts.filter((x) => x.kind === 'split')
        .map((x) => x.sha256);
    assert.deepEqual(splitHashes(a), splitHashes(b));
    for (const [metric, value] of Object.entries(a.metrics)) {
      assert.ok(
        Math.abs(value - (b.metrics[metric] ?? Number.NaN)) <= 1e-6,
        `${metric}: ${value} vs ${b.metrics[metric]}`,
      );
    }
  });

  it('waits for manual approval: approve through the update promotes; reject through the signal only registers', async () => {
    const model = modelName('manual');
    const approved = await start(penguins(model, { promotion: { policy: 'manual', approvalTimeout: '10m' } }));
    await waitForOutcome(approved, 'awaiting-approval');
    const ack = await approved.executeUpdate(approvalUpdate, {
      args: [{ decision: 'approve', by: 'alice', reason: 'reviewed the report' }],
    });
    assert.equal(ack.version, 1);
    const approvedResult = (await approved.result()) as PipelineResult;
    assert.equal(approvedResult.outcome, 'promoted');
    assert.match(
      approvedResult.stages.find((s) => s.name === 'approve')?.note ?? '',
      /approve by alice: reviewed the report/,
    );

    const rejected = await start(penguins(model, { promotion: { policy: 'manual', approvalTimeout: '10m' } }));
    await waitForOutcome(rejected, 'awaiting-approval');
    await rejected.signal(approvalSignal, { decision: 'reject', by: 'bob', reason: 'not this week' });
    const rejectedResult = (await rejected.result()) as PipelineResult;
    assert.equal(rejectedResult.outcome, 'registered');
    assert.equal(rejectedResult.version, 2);
    assert.equal((await resolveChampion(h.store, model))?.version, 1, 'champion stays on the approved version');
  });

  it('trains a binary model (a label derived from penguin sex) and a regression (cars: miles per gallon)', async () => {
    const carsUri = await upload('cars.json', await readFile(publicDatasetPath('cars.json')));
    const [binary, regression] = await Promise.all([
      start({
        model: modelName('penguin-sex'),
        dataset: { uri: penguinsUri },
        task: { type: 'binary', label: { column: 'Sex', op: '==', value: 'MALE', name: 'is_male' } },
        train: FAST_TRAIN,
      }),
      start({
        model: modelName('cars-mpg'),
        dataset: { uri: carsUri },
        task: { type: 'regression', label: 'Miles_per_Gallon' },
        train: FAST_TRAIN,
        preprocess: { exclude: ['Name'] },
      }),
    ]);
    const b = (await binary.result()) as PipelineResult;
    assert.equal(b.decision, 'blessed', b.reasons.join(' | '));
    assert.ok((b.metrics.roc_auc ?? 0) > 0.85, `roc_auc ${b.metrics.roc_auc}`);
    const r = (await regression.result()) as PipelineResult;
    assert.equal(r.decision, 'blessed', r.reasons.join(' | '));
    assert.ok((r.metrics.r2 ?? 0) > 0.6, `r2 ${r.metrics.r2}`);
  });

  it('trains on a partitioned dataset: every data file under a prefix, markers skipped', async () => {
    const rows = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as unknown[];
    const half = Math.ceil(rows.length / 2);
    const prefix = `${h.prefix}/datasets/penguins-partitioned`;
    await h.store.put(`${prefix}/part=0/rows.json`, JSON.stringify(rows.slice(0, half)));
    await h.store.put(`${prefix}/part=1/rows.json`, JSON.stringify(rows.slice(half)));
    await h.store.put(`${prefix}/_SUCCESS`, '');
    const uri = `${h.store.uriFor(prefix)}/`;
    const result = (await (
      await start({ ...penguins(modelName('partitioned')), dataset: { uri } })
    ).result()) as PipelineResult;
    assert.equal(result.decision, 'blessed', result.reasons.join(' | '));
    const fingerprint = result.stages.find((s) => s.name === 'fingerprintDataset')?.artifacts[0];
    assert.equal(fingerprint?.uri, uri);
    const validation = result.stages
      .find((s) => s.name === 'validateData')
      ?.artifacts.find((a) => a.kind === 'statistics');
    assert.equal(validation?.metadata?.rows, rows.length, 'both partitions were read');
  });

  it('fails fast with InvalidPipelineConfig naming every bad field, before any activity', async () => {
    const handle = await start({
      model: 'Bad Name!',
      dataset: { uri: 'http://example.com/data.csv' },
      task: { type: 'ranking' },
      extra: true,
    });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'InvalidPipelineConfig');
    for (const field of ['model', 'dataset.uri', 'task.type', 'task.label', '(root)']) {
      assert.match(failure.message, new RegExp(`- ${field.replace(/[.()]/g, '\\$&')}:`), `message names ${field}`);
    }
    const history = await handle.fetchHistory();
    assert.equal(history.events?.filter((e) => e.activityTaskScheduledEventAttributes).length, 0, 'no activity ran');
  });

  it('fails the stage with non-retryable DatasetNotFound for a missing object, after one attempt (no operator wait)', async () => {
    const handle = await start({
      model: 'missing',
      dataset: { uri: h.store.uriFor(`${h.prefix}/datasets/missing.csv`) },
      task: { type: 'binary', label: 'y' },
      operator: { timeout: '0s' },
    });
    const failure = await failureOf(handle);
    assert.equal(failure.type, 'DatasetNotFound');
    assert.match(failure.message, /trainyard data put/);
    const history = await handle.fetchHistory();
    const fingerprintAttempts = history.events
      ?.filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes?.attempt);
    assert.deepEqual(fingerprintAttempts?.slice(-1), [1], 'not retried');
    const status = await handle.query(statusQuery);
    assert.equal(status.outcome, 'failed');
    assert.equal(status.stages.at(-1)?.error?.type, 'DatasetNotFound');
  });

  it('refuses a dataset URI in a bucket the worker does not own, as InvalidPipelineConfig', async () => {
    const failure = await failureOf(
      await start({
        model: 'elsewhere',
        dataset: { uri: 's3://some-other-bucket/data.csv' },
        task: { type: 'binary', label: 'y' },
        operator: { timeout: '0s' },
      }),
    );
    assert.equal(failure.type, 'InvalidPipelineConfig');
    assert.match(failure.message, /some-other-bucket/);
  });
});
