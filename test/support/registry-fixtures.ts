import { createHash, randomUUID } from 'node:crypto';
import type { ArtifactKind, ArtifactRef } from '../../contracts/artifacts';
import { PipelineInput } from '../../contracts/pipeline-input';
import { draftVersion, type RunOutputs, type VersionDraft } from '../../lib/registry';

/** A plausible artifact ref; nothing needs to exist at its URI for the registry's own tests. */
export function fakeRef(kind: ArtifactKind, name: string): ArtifactRef {
  return { kind, uri: `s3://trainyard/runs/fixture/${name}`, sha256: sha256(name), bytes: name.length * 100 };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Every stage's result for one imaginary run of `model`; `seed` makes the model bytes (and so the runKey) differ. */
export function fakeRunOutputs(
  model: string,
  seed: string = randomUUID(),
  metrics: Record<string, number> = { accuracy: 0.9 },
): RunOutputs {
  const input = PipelineInput.parse({
    model,
    dataset: { uri: 's3://trainyard/datasets/penguins.json' },
    task: { type: 'multiclass', label: 'Species' },
  });
  return {
    input,
    dataset: { uri: input.dataset.uri, sha256: sha256('penguins'), bytes: 53_000 },
    validation: {
      rows: 344,
      columns: 7,
      statistics: fakeRef('statistics', `${seed}/statistics.json`),
      schema: fakeRef('schema', `${seed}/schema.json`),
      anomalies: fakeRef('anomalies', `${seed}/anomalies.json`),
      warnings: [],
      schemaSource: 'inferred',
    },
    split: {
      manifest: fakeRef('split-manifest', `${seed}/splits.json`),
      splits: {
        train: fakeRef('split', `${seed}/train.parquet`),
        validation: fakeRef('split', `${seed}/validation.parquet`),
        test: fakeRef('split', `${seed}/test.parquet`),
      },
      rows: { train: 240, validation: 52, test: 52 },
      strategy: 'stratified',
    },
    preprocessor: {
      preprocessor: fakeRef('preprocessor', `${seed}/preprocessor.json`),
      featureCount: 9,
      classes: ['Adelie', 'Chinstrap', 'Gentoo'],
    },
    trained: {
      model: fakeRef('model', `${seed}/model.json`),
      history: fakeRef('checkpoint', `${seed}/history.json`),
      backend: 'wasm',
      epochsRun: 12,
      bestEpoch: 9,
      resumedFromEpoch: 0,
      warmStart: { used: false, reason: 'no champion' },
      trainMs: 1234,
    },
    evaluation: {
      evaluation: fakeRef('evaluation', `${seed}/evaluation.json`),
      report: fakeRef('report', `${seed}/report.html`),
      reportUrl: 'http://127.0.0.1:9000/trainyard/report.html',
      decision: 'blessed',
      reasons: ['accuracy 0.90 ≥ 0.80'],
      metrics,
    },
  };
}

/** A version draft as registerModel would build it for workflow `workflowId`. */
export function fakeDraft(model: string, workflowId = `wf-${randomUUID()}`, seed?: string): VersionDraft {
  return draftVersion(fakeRunOutputs(model, seed ?? workflowId), {
    workflowId,
    runId: randomUUID(),
    createdAt: '2025-01-02T03:04:05.000Z',
    code: { version: '0.1.0', gitSha: 'a'.repeat(40) },
  });
}

/** A model name no other test run uses. */
export function uniqueModelName(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
