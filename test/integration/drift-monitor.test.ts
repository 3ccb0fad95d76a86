import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { retrainWorkflowId } from '../../contracts/drift-check';
import type { DriftMonitorInputDraft } from '../../contracts/drift-monitor-input';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import type { DatasetFingerprint } from '../../contracts/stages';
import { createSeededRandom } from '../../lib/data/seeded-random';
import { resolveChampion } from '../../lib/registry';
import type { DriftMonitorResult, PipelineResult } from '../../workflows';
import { driftMonitorStatusQuery } from '../../workflows/drift-monitor-messages';
import { startTestHarness, type TestHarness } from '../support/temporal';

const DAY_MS = 86_400_000;
const ROWS = 1000;
const isoDay = (time: number) => new Date(time).toISOString().slice(0, 10);

interface Shape {
  seed: number;
  /** Mean of x1 (the base is 0). */
  x1Mean: number;
  /** Share of "red" among red / green / blue (the base is a third). */
  redShare: number;
  /** Rows in the batch (default ROWS). */
  rows?: number;
}

/** A generated binary batch as CSV: x1 ~ N(mean, 1), x2 ~ U(0, 100), colour, label = x1 + noise > 0.75. */
function batchCsv({ seed, x1Mean, redShare, rows = ROWS }: Shape): string {
  const random = createSeededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
  const lines = ['x1,x2,colour,label'];
  for (let i = 0; i < rows; i += 1) {
    const x1 = x1Mean + normal();
    const u = random();
    const colour = u < redShare ? 'red' : u < redShare + (1 - redShare) / 2 ? 'green' : 'blue';
    lines.push(
      `${x1.toFixed(4)},${(random() * 100).toFixed(3)},${colour},${x1 + 0.5 * normal() > 0.75 ? 'yes' : 'no'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The drift monitor on the real Temporal dev server and MinIO: a champion trained on a base batch, then
 * daily partitions — a fresh sample of the same distribution (no drift), then a shifted one (drift:
 * x1's mean moves by 1.5, colour turns mostly red) — each checked as "the newest batch"; and many
 * stationary batches of varied sizes (none may start a run), and one too small to judge.
 */
describe('driftMonitor (real Temporal + MinIO)', () => {
  let h: TestHarness;
  let prefix: string;
  let uri: string;
  const model = `drift-${randomUUID().slice(0, 8)}`;
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const partition = {
    base: `date=${isoDay(today - 3 * DAY_MS)}`,
    stationary: `date=${isoDay(today - 2 * DAY_MS)}`,
    drifted: `date=${isoDay(today - DAY_MS)}`,
  };
  /** Retraining runs promote to their own alias, so the champion the monitor compares with stays put during the test. */
  const pipeline: DriftMonitorInputDraft['pipeline'] = {
    task: { type: 'binary', label: 'label' },
    train: { model: 'mlp', epochs: 10, batchSize: 32, hiddenLayers: [8] },
    promotion: { alias: 'retrained' },
    operator: { timeout: '0s' },
  };
  const monitorInput = (over: Partial<DriftMonitorInputDraft> = {}): DriftMonitorInputDraft => ({
    model,
    dataset: { uri },
    pipeline,
    ...over,
  });

  const upload = (name: string, shape: Shape) => h.store.put(`${prefix}/${name}/part-0.csv`, batchCsv(shape));
  const monitor = (input: DriftMonitorInputDraft, workflowId = `test-drift-monitor-${randomUUID()}`) =>
    h.client.workflow.start('driftMonitor', { taskQueue: h.taskQueue, workflowId, args: [input] });

  before(async () => {
    h = await startTestHarness();
    prefix = `${h.prefix}/datasets/events`;
    uri = `${h.store.uriFor(prefix)}/`;
    await upload(partition.base, { seed: 1, x1Mean: 0, redShare: 1 / 3 });
    const champion: PipelineInputDraft = {
      model,
      dataset: { uri, partitions: { names: [partition.base] } },
      ...pipeline,
      promotion: { alias: 'champion' },
    };
    const trained = (await h.client.workflow.execute('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `test-drift-champion-${randomUUID()}`,
      args: [champion],
    })) as PipelineResult;
    assert.equal(trained.outcome, 'promoted', trained.reasons.join(' | '));
  });
  after(async () => {
    await h?.close();
  });

  it('stationary data: a fresh sample of the same distribution is "no drift", and no run starts', async () => {
    await upload(partition.stationary, { seed: 2, x1Mean: 0, redShare: 1 / 3 });
    const handle = await monitor(monitorInput());
    const result = (await handle.result()) as DriftMonitorResult;

    assert.equal(result.last.outcome, 'no-drift', result.last.reason);
    assert.match(result.last.reason, /^no drift: none of 4 columns drifted/);
    assert.deepEqual(result.last.batch?.partitions, [partition.stationary]);
    assert.deepEqual(result.last.retrain, { action: 'none' });
    await assert.rejects(
      h.client.workflow.getHandle(retrainWorkflowId(model, result.last.batch?.sha256 as string)).describe(),
      WorkflowNotFoundError,
    );

    const description = await handle.describe();
    assert.deepEqual((description.searchAttributes as Record<string, unknown[]>).TrainyardOutcome, ['no-drift']);
    assert.deepEqual((description.searchAttributes as Record<string, unknown[]>).TrainyardModel, [model]);
    assert.equal((description.memo?.lastCheck as { reason: string }).reason, result.last.reason);
    assert.equal((await handle.query(driftMonitorStatusQuery)).last?.outcome, 'no-drift');
  });

  it('many stationary batches of 300 to 2,000 rows: every check says "no drift" and none starts a run', async () => {
    // Fresh draws of the champion's distribution, seeds fixed so the test is repeatable (the calibration
    // over random seeds is the unit tests' and the soundness bench's job).
    const sizes = [300, 2000, 500, 1200, 800, 1500, 400, 1000];
    const checked = await Promise.all(
      sizes.map(async (rows, i) => {
        const name = `stationary-${i}`;
        await upload(name, { seed: 100 + i, x1Mean: 0, redShare: 1 / 3, rows });
        return (await (
          await monitor(monitorInput({ dataset: { uri, partitions: { names: [name] } } }))
        ).result()) as DriftMonitorResult;
      }),
    );
    for (const result of checked) {
      assert.equal(result.last.outcome, 'no-drift', result.last.reason);
      assert.deepEqual(result.last.retrain, { action: 'none' });
      await assert.rejects(
        h.client.workflow.getHandle(retrainWorkflowId(model, result.last.batch?.sha256 as string)).describe(),
        WorkflowNotFoundError,
      );
    }
  });

  it('a batch below validation.drift.minRows is "too few rows to judge": said in status, memo and search attribute, and no run starts', async () => {
    await upload('tiny', { seed: 7, x1Mean: 3, redShare: 0.9, rows: 40 });
    const handle = await monitor(monitorInput({ dataset: { uri, partitions: { names: ['tiny'] } } }));
    const result = (await handle.result()) as DriftMonitorResult;
    assert.equal(result.last.outcome, 'too-few-rows', result.last.reason);
    assert.equal(
      result.last.reason,
      'too few rows to judge drift: the batch has 40 rows, fewer than validation.drift.minRows (100); no verdict.',
    );
    assert.deepEqual(result.last.retrain, { action: 'none' });
    const description = await handle.describe();
    assert.deepEqual((description.searchAttributes as Record<string, unknown[]>).TrainyardOutcome, ['too-few-rows']);
    assert.equal((description.memo?.lastCheck as { outcome: string }).outcome, 'too-few-rows');
    assert.equal((await handle.query(driftMonitorStatusQuery)).last?.outcome, 'too-few-rows');
    const report = JSON.parse(await readText(result.last.reportUri as string)) as {
      outcome: string;
      drift: { outcome: string; note: string };
    };
    assert.equal(report.outcome, 'too-few-rows');
    assert.equal(report.drift.outcome, 'too-few-rows');
  });

  it('planted drift: starts one retraining run on exactly that batch, records why, and a second check of the batch starts none', async () => {
    await upload(partition.drifted, { seed: 3, x1Mean: 1.5, redShare: 0.7 });
    const firstHandle = await monitor(monitorInput());
    const first = (await firstHandle.result()) as DriftMonitorResult;
    const batch = first.last.batch as { sha256: string; partitions?: string[] };
    const expectedId = retrainWorkflowId(model, batch.sha256);

    assert.equal(first.last.outcome, 'drift-detected', first.last.reason);
    assert.deepEqual(batch.partitions, [partition.drifted]);
    assert.deepEqual(first.last.retrain, { action: 'started', workflowId: expectedId });
    assert.deepEqual(first.last.columns.map((c) => c.column).slice(0, 1), ['x1'], 'x1 moved most');
    assert.ok(first.last.columns.some((c) => c.column === 'colour' && c.metric === 'jensen-shannon'));
    assert.match(
      first.last.reason,
      new RegExp(`^drift: \\d of 4 columns drifted .* Retraining started: ${expectedId}\\.$`),
    );

    // The drift report: the full table, at a key derived from the monitor's workflow id and the batch.
    const report = JSON.parse(await readText(first.last.reportUri as string)) as {
      outcome: string;
      batch: { sha256: string };
      drift: {
        outcome: string;
        columns: {
          column: string;
          drifted: boolean;
          test: string;
          adjustedPValue: number;
          metric: string;
          value: number;
          floor: number;
        }[];
      };
    };
    assert.equal(report.outcome, 'drift-detected');
    assert.equal(report.batch.sha256, batch.sha256);
    const x1 = report.drift.columns.find((d) => d.column === 'x1');
    assert.ok(x1?.drifted);
    assert.equal(x1?.test, 'chi-square');
    assert.ok((x1?.adjustedPValue as number) < 0.005 && (x1?.value as number) > (x1?.floor as number));
    assert.ok((first.last.reportUri as string).includes(`drift-${batch.sha256.slice(0, 16)}.json`));

    // The same batch again: no second run.
    const second = (await (await monitor(monitorInput())).result()) as DriftMonitorResult;
    assert.equal(second.last.outcome, 'drift-detected');
    assert.deepEqual(second.last.retrain, { action: 'already-started', workflowId: expectedId });
    assert.match(second.last.reason, new RegExp(`Already retraining on this batch: ${expectedId}\\.$`));

    const child = h.client.workflow.getHandle(expectedId);
    const described = await child.describe();
    assert.equal(described.type, 'trainingPipeline');
    assert.equal((described.memo as Record<string, unknown>).trigger, 'drift-detected');
    const retrained = (await child.result()) as PipelineResult;
    const fingerprint = retrained.stages.find((s) => s.name === 'fingerprintDataset')
      ?.artifacts[0] as unknown as DatasetFingerprint;
    assert.deepEqual(fingerprint.partitions, [partition.drifted], 'the run read the batch that drifted');
    assert.equal(fingerprint.sha256, batch.sha256, "the run's dataset is the checked batch, byte for byte");
    const runs = [];
    for await (const run of h.client.workflow.list({ query: `WorkflowId = '${expectedId}'` })) runs.push(run.runId);
    assert.ok(runs.length <= 1, `one retraining run, found ${runs.length}`);
    assert.equal(
      (await resolveChampion(h.store, model))?.version,
      1,
      'the champion is untouched by a run promoting to its own alias',
    );
    // Recorded history (a child started) replays cleanly against the current workflow code.
    await Worker.runReplayHistory(
      { workflowBundle: h.workflowBundle },
      await firstHandle.fetchHistory(),
      firstHandle.workflowId,
    );
  });

  it('a long-lived monitor (every) checks repeatedly and continues as new after checksPerRun checks', async () => {
    const workflowId = `test-drift-loop-${randomUUID()}`;
    const handle = await monitor(
      monitorInput({ dataset: { uri, partitions: { names: [partition.stationary] } }, every: '1s', checksPerRun: 2 }),
      workflowId,
    );
    const firstRunId = handle.firstExecutionRunId;
    try {
      const latest = h.client.workflow.getHandle(workflowId);
      const deadline = Date.now() + 120_000;
      let status = await latest.query(driftMonitorStatusQuery);
      while (status.totalChecks < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        status = await latest.query(driftMonitorStatusQuery);
      }
      assert.ok(status.totalChecks >= 3, `3 checks within 2 minutes, got ${status.totalChecks}`);
      assert.ok(status.checks < status.totalChecks, 'this run continued from an earlier one');
      assert.equal(status.last?.outcome, 'no-drift');
      assert.ok(status.recent.length >= 3 && status.recent.length <= 10);
      const first = await h.client.workflow.getHandle(workflowId, firstRunId).describe();
      assert.equal(first.status.name, 'CONTINUED_AS_NEW');
      assert.notEqual((await latest.describe()).runId, firstRunId);
    } finally {
      await h.client.workflow.getHandle(workflowId).terminate('test done');
    }
  });

  it('no champion yet: says so, and does not train when trainWithoutChampion is false', async () => {
    const result = (await (
      await monitor({ ...monitorInput(), model: `${model}-new`, trainWithoutChampion: false })
    ).result()) as DriftMonitorResult;
    assert.equal(result.last.outcome, 'no-champion');
    assert.match(result.last.reason, /nothing to compare\. Not training \(trainWithoutChampion is false\)\.$/);
    assert.deepEqual(result.last.retrain, { action: 'none' });
  });

  it('rejects an invalid input naming the fields', async () => {
    const error = await (
      await monitor({ model, dataset: { uri: 'nope' } } as unknown as DriftMonitorInputDraft)
    )
      .result()
      .catch((e: unknown) => e);
    const cause = (error as { cause?: { type?: string; message: string } }).cause;
    assert.equal(cause?.type, 'InvalidPipelineConfig');
    assert.match(cause?.message ?? '', /dataset\.uri/);
    assert.match(cause?.message ?? '', /pipeline/);
  });

  async function readText(artifactUri: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await h.store.get(h.store.keyFor(artifactUri))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
});
