import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { fingerprintDatasetActivity, type FingerprintArgs } from '../../activities/fingerprint-dataset';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import type { DatasetFingerprint } from '../../contracts/stages';
import { materializeDataset } from '../../lib/data/materialize';
import { createLogger } from '../../lib/logger';
import { getLatestVersion } from '../../lib/registry';
import type { PipelineResult } from '../../workflows';
import { publicDatasetPath } from '../support/public-data';
import { startTestHarness, type TestHarness } from '../support/temporal';

const DAY_MS = 86_400_000;
const FAST_TRAIN = { model: 'mlp' as const, epochs: 5, batchSize: 32, hiddenLayers: [8] };
const isoDay = (time: number) => new Date(time).toISOString().slice(0, 10);

/**
 * Partition selection against the real MinIO and the real Temporal dev server: penguins spread over
 * three daily partitions (the day before yesterday, yesterday, today) of different sizes, so the rows a
 * run reads say which partitions it read.
 */
describe('dataset partitions: "latest" and windows (real MinIO + Temporal)', () => {
  let h: TestHarness;
  let uri: string;
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const days = [today - 2 * DAY_MS, today - DAY_MS, today];
  const names = days.map((d) => `date=${isoDay(d)}`);
  /** Rows per partition: i % 6 → 0 | 1,2 | 3,4,5, so every partition holds every species. */
  const rows: Record<string, unknown>[][] = [[], [], []];

  before(async () => {
    h = await startTestHarness();
    const penguins = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as Record<
      string,
      unknown
    >[];
    penguins.forEach((row, i) => rows[[0, 1, 1, 2, 2, 2][i % 6] as number]?.push(row));
    const prefix = `${h.prefix}/datasets/penguins-daily`;
    for (const [i, name] of names.entries())
      await h.store.put(`${prefix}/${name}/part-0.json`, JSON.stringify(rows[i]));
    await h.store.put(`${prefix}/${names[2]}/_SUCCESS`, '');
    uri = `${h.store.uriFor(prefix)}/`;
  });
  after(async () => {
    await h?.close();
  });

  async function fingerprint(args: FingerprintArgs): Promise<DatasetFingerprint> {
    const env = new MockActivityEnvironment();
    return (await env.run(
      fingerprintDatasetActivity({ store: h.store, logger: createLogger({ level: 'warn', format: 'json' }) }),
      args,
    )) as DatasetFingerprint;
  }

  async function runPipeline(
    model: string,
    partitions: PipelineInputDraft['dataset']['partitions'],
  ): Promise<PipelineResult> {
    const input: PipelineInputDraft = {
      model,
      dataset: { uri, partitions },
      task: { type: 'multiclass', label: 'Species' },
      train: FAST_TRAIN,
      operator: { timeout: '0s' },
    };
    const handle = await h.client.workflow.start('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `test-partitions-${randomUUID()}`,
      args: [input],
    });
    return (await handle.result()) as PipelineResult;
  }

  const artifact = (result: PipelineResult, stage: string, kind: string) =>
    result.stages.find((s) => s.name === stage)?.artifacts.find((a) => a.kind === kind);

  it('a pipeline with partitions "latest" reads only the newest partition, and records it', async () => {
    const model = `partitions-latest-${randomUUID().slice(0, 8)}`;
    const result = await runPipeline(model, 'latest');
    const dataset = artifact(result, 'fingerprintDataset', 'dataset') as unknown as DatasetFingerprint;
    assert.deepEqual(dataset.partitions, [names[2]]);
    assert.equal(
      dataset.sha256,
      (await fingerprint({ uri, partitions: { names: [names[2] as string] } })).sha256,
      'the same files hash the same, however chosen',
    );
    assert.equal(
      artifact(result, 'validateData', 'statistics')?.metadata?.rows,
      rows[2]?.length,
      'validateData read the newest partition only',
    );

    const manifest = JSON.parse(
      await readText(artifact(result, 'splitAndSample', 'split-manifest')?.uri as string),
    ) as { dataset: { partitions?: string[] }; rowsRemoved: { inputRows: number } };
    assert.deepEqual(manifest.dataset.partitions, [names[2]]);
    assert.equal(manifest.rowsRemoved.inputRows, rows[2]?.length, 'splitAndSample read the newest partition only');
    assert.equal(result.outcome, 'promoted', result.reasons.join(' | '));
    assert.deepEqual(
      (await getLatestVersion(h.store, model)).lineage.dataset.partitions,
      [names[2]],
      'the registry lineage names the partition',
    );
  });

  it('a pipeline with a 2-day window reads yesterday and today, oldest first', async () => {
    const result = await runPipeline(`partitions-window-${randomUUID().slice(0, 8)}`, { window: '2d' });
    const dataset = artifact(result, 'fingerprintDataset', 'dataset') as unknown as DatasetFingerprint;
    assert.deepEqual(dataset.partitions, [names[1], names[2]]);
    assert.equal(
      artifact(result, 'validateData', 'statistics')?.metadata?.rows,
      (rows[1]?.length ?? 0) + (rows[2]?.length ?? 0),
    );
  });

  it('time travel: as of yesterday noon, "latest" is yesterday and a 1-day window holds yesterday only', async () => {
    const yesterdayNoon = new Date((days[1] as number) + DAY_MS / 2).toISOString();
    assert.deepEqual((await fingerprint({ uri, partitions: 'latest', asOf: yesterdayNoon })).partitions, [names[1]]);
    assert.deepEqual((await fingerprint({ uri, partitions: { window: '1d' }, asOf: yesterdayNoon })).partitions, [
      names[1],
    ]);
    assert.deepEqual((await fingerprint({ uri, partitions: { window: '7d' }, asOf: yesterdayNoon })).partitions, [
      names[0],
      names[1],
    ]);
    const all = await fingerprint({ uri, partitions: 'all' });
    assert.equal(all.partitions, undefined, '"all" names no partitions');
    const before = await fingerprint({
      uri,
      partitions: 'latest',
      asOf: new Date((days[0] as number) - DAY_MS).toISOString(),
    }).catch((e: unknown) => e);
    assert.equal((before as { type?: string }).type, 'DatasetNotFound');
    assert.match((before as Error).message, /no partition is dated on or before/);
  });

  it('materializeDataset reads only the partitions it is given', async () => {
    const local = await materializeDataset(h.store, uri, { partitions: [names[0] as string, names[2] as string] });
    try {
      assert.equal(local.files.length, 2);
      assert.ok(
        local.files.every((f) => f.includes(names[0] as string) || f.includes(names[2] as string)),
        local.files.join(', '),
      );
    } finally {
      await local.cleanup();
    }
    await assert.rejects(
      materializeDataset(h.store, uri, { partitions: ['date=1999-01-01'] }),
      (e: Error & { type?: string }) => e.type === 'DatasetNotFound',
    );
  });

  async function readText(artifactUri: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await h.store.get(h.store.keyFor(artifactUri))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
});
