import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import type { VersionRecord } from '../../contracts/registry';
import { readJsonArtifact } from '../../lib/data/artifact-files';
import type { CellValue } from '../../lib/data/column-values';
import { readSplitColumns } from '../../lib/data/split-batches';
import { SplitManifest } from '../../lib/data/split-manifest';
import { getVersion } from '../../lib/registry';
import type { PipelineResult } from '../../workflows';
import { publicDatasetPath } from './public-data';
import type { TestHarness } from './temporal';

/** Uploads penguins (vega-datasets) under the harness's prefix; returns its URI. */
export async function uploadPenguins(h: TestHarness): Promise<string> {
  const key = `${h.prefix}/datasets/penguins.json`;
  await h.store.put(key, await readFile(publicDatasetPath('penguins.json')));
  return h.store.uriFor(key);
}

/** Species from the measurements: multiclass, trainyard's default model (gbdt). */
export const PENGUINS_SPECIES = { type: 'multiclass', label: 'Species' } as const;
/** Sex from the measurements: binary, through a derived label, so the version records a decision threshold. */
export const PENGUINS_IS_MALE = {
  type: 'binary',
  label: { column: 'Sex', op: '==', value: 'MALE', name: 'is_male' },
} as const;

/**
 * Trains and registers a real version through the real pipeline (worker, Temporal, MinIO); a blessed run
 * is promoted to champion unless `promotion` says otherwise. Returns the registered version's record.
 */
export async function trainVersion(
  h: TestHarness,
  datasetUri: string,
  model: string,
  extra: Partial<PipelineInputDraft> & { task: PipelineInputDraft['task'] },
): Promise<VersionRecord> {
  const result = (await h.client.workflow.execute('trainingPipeline', {
    taskQueue: h.taskQueue,
    workflowId: `test-serving-${randomUUID()}`,
    args: [{ model, dataset: { uri: datasetUri }, cache: { enabled: false }, ...extra }],
  })) as PipelineResult;
  assert.notEqual(result.outcome, 'rejected', `the gate rejected ${model}: ${result.reasons.join('; ')}`);
  return getVersion(h.store, model, result.version as number);
}

/** The version's test split (the rows evaluate scored), as columns and as row objects. */
export async function testSplitOf(
  h: TestHarness,
  record: VersionRecord,
): Promise<{ columns: Record<string, CellValue[]>; rows: number; objects: Record<string, CellValue>[] }> {
  const manifest = await readJsonArtifact(h.store, record.lineage.splitManifest, SplitManifest);
  const { columns, rows } = await readSplitColumns(h.store, manifest.splits.test);
  const names = Object.keys(columns);
  const objects = Array.from({ length: rows }, (_, r) =>
    Object.fromEntries(names.map((name) => [name, (columns[name] as CellValue[])[r] ?? null])),
  );
  return { columns, rows, objects };
}
