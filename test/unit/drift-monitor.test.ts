import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { retrainWorkflowId } from '../../contracts/drift-check';
import { DriftMonitorInput, driftMonitorInputJsonSchema, parseDriftMonitorInput, resolveDriftThresholds, type DriftMonitorInputDraft } from '../../contracts/drift-monitor-input';
import { PipelineInput } from '../../contracts/pipeline-input';
import type { ColumnDrift } from '../../lib/data/drift';
import { judgeDrift } from '../../lib/data/drift-trigger';
import { explain, retrainInput, shouldRetrain } from '../../workflows/drift-decision';

const column = (name: string, metric: ColumnDrift['metric'], value: number, threshold: number): ColumnDrift => ({
  column: name, metric, value, threshold, drifted: value > threshold, summary: `${name} moved`,
});

const minimal: DriftMonitorInputDraft = { model: 'churn', dataset: { uri: 's3://trainyard/data/events/' }, pipeline: { task: { type: 'binary', label: 'churned' } } };

describe('judgeDrift', () => {
  const table = [
    column('x1', 'psi', 4.2, 0.2), // 21× its threshold
    column('colour', 'jensen-shannon', 0.35, 0.1), // 3.5×
    column('x2', 'psi', 0.05, 0.2),
    column('label', 'jensen-shannon', 0.02, 0.1),
  ];

  it('triggers on one drifted column by default, most drifted first, and says why', () => {
    const verdict = judgeDrift(table, { minDriftedColumns: 1, minDriftedShare: 0 });
    assert.equal(verdict.drifted, true);
    assert.equal(verdict.comparedColumns, 4);
    assert.equal(verdict.driftedColumns, 2);
    assert.deepEqual(verdict.columns.map((c) => c.column), ['x1', 'colour']);
    assert.equal(verdict.reason, 'drift: 2 of 4 columns drifted (trigger: at least 1 column): x1 PSI 4.2 > 0.2 (x1 moved); colour Jensen–Shannon distance 0.35 > 0.1 (colour moved).');
  });

  it('stays below the trigger when too few columns, or too small a share, drifted', () => {
    const tooFew = judgeDrift(table, { minDriftedColumns: 3, minDriftedShare: 0 });
    assert.equal(tooFew.drifted, false);
    assert.match(tooFew.reason, /^no drift: 2 of 4 columns drifted, below the trigger \(at least 3 columns\)/);
    assert.equal(judgeDrift(table, { minDriftedColumns: 1, minDriftedShare: 0.6 }).drifted, false, '2 of 4 is 50% < 60%');
    assert.equal(judgeDrift(table, { minDriftedColumns: 1, minDriftedShare: 0.5 }).drifted, true, '50% ≥ 50%');
  });

  it('names the largest measure when nothing drifted, and says so when nothing could be compared', () => {
    const calm = judgeDrift([column('a', 'psi', 0.01, 0.2), column('b', 'jensen-shannon', 0.09, 0.1)], { minDriftedColumns: 1, minDriftedShare: 0 });
    assert.equal(calm.drifted, false);
    assert.equal(calm.reason, 'no drift: none of 2 columns drifted (largest: b Jensen–Shannon distance 0.09 ≤ 0.1 (b moved)).');
    const nothing = judgeDrift([], { minDriftedColumns: 1, minDriftedShare: 0 });
    assert.equal(nothing.drifted, false);
    assert.match(nothing.reason, /no column of the batch could be compared/);
  });

  it('drifted ⇔ enough columns and share; columns drifted, ranked and capped (property)', () => {
    const row = fc.record({ value: fc.double({ min: 0, max: 5, noNaN: true }), threshold: fc.double({ min: 0.01, max: 1, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 30 }), fc.integer({ min: 1, max: 5 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 10 }), (rows, minColumns, minShare, maxColumns) => {
        const drift = rows.map((r, i) => column(`c${i}`, 'psi', r.value, r.threshold));
        const verdict = judgeDrift(drift, { minDriftedColumns: minColumns, minDriftedShare: minShare }, maxColumns);
        const count = drift.filter((d) => d.drifted).length;
        assert.equal(verdict.driftedColumns, count);
        assert.equal(verdict.drifted, drift.length > 0 && count >= minColumns && count / drift.length >= minShare);
        assert.equal(verdict.columns.length, Math.min(count, maxColumns));
        assert.ok(verdict.columns.every((c) => c.value > c.threshold));
        const excess = verdict.columns.map((c) => c.value / c.threshold);
        assert.ok(excess.every((e, i) => i === 0 || (excess[i - 1] as number) >= e));
      }),
    );
  });
});

describe('DriftMonitorInput', () => {
  it('needs only model, dataset.uri and pipeline.task; batches default to the newest partition, thresholds to validation\'s', () => {
    const parsed = parseDriftMonitorInput(minimal);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.dataset.partitions, 'latest');
    assert.equal(parsed.value.alias, 'champion');
    assert.equal(parsed.value.trainWithoutChampion, true);
    assert.equal(parsed.value.every, undefined);
    assert.deepEqual(resolveDriftThresholds(parsed.value), { psiThreshold: 0.2, jensenShannonThreshold: 0.1 });
    const own = DriftMonitorInput.parse({ ...minimal, thresholds: { psi: 0.5 }, pipeline: { ...minimal.pipeline, validation: { drift: { jensenShannonThreshold: 0.3 } } } });
    assert.deepEqual(resolveDriftThresholds(own), { psiThreshold: 0.5, jensenShannonThreshold: 0.3 });
  });

  it('names every bad field', () => {
    const parsed = parseDriftMonitorInput({ model: 'Bad Name', dataset: { uri: 'http://x' }, every: 'hourly', pipeline: { model: 'x', task: { type: 'binary', label: 'y' } } });
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.problems.map((p) => p.path).sort(), ['dataset.uri', 'every', 'model', 'pipeline']);
  });

  it('has a JSON Schema whose required fields are the essentials', () => {
    const schema = driftMonitorInputJsonSchema() as { required: string[]; additionalProperties: boolean };
    assert.deepEqual([...schema.required].sort(), ['dataset', 'model', 'pipeline']);
    assert.equal(schema.additionalProperties, false);
  });
});

describe('drift monitor decisions', () => {
  const input = DriftMonitorInput.parse({ ...minimal, dataset: { ...minimal.dataset, format: 'csv' }, pipeline: { ...minimal.pipeline, seed: 7, validation: { drift: { severity: 'error' } } } });
  const batch = { uri: 's3://trainyard/data/events/', sha256: 'ab'.repeat(32), bytes: 10, partitions: ['date=2026-11-20'] };

  it('retrains on drift, and without a champion only when allowed', () => {
    assert.equal(shouldRetrain({ outcome: 'drift-detected', drifted: true }, { trainWithoutChampion: false }), true);
    assert.equal(shouldRetrain({ outcome: 'no-drift', drifted: false }, { trainWithoutChampion: true }), false);
    assert.equal(shouldRetrain({ outcome: 'no-champion', drifted: false }, { trainWithoutChampion: true }), true);
    assert.equal(shouldRetrain({ outcome: 'no-champion', drifted: false }, { trainWithoutChampion: false }), false);
  });

  it('the retraining run reads exactly the checked batch, with the monitor\'s config, drift only warned about', () => {
    const run = retrainInput(input, batch);
    assert.equal(run.model, 'churn');
    assert.deepEqual(run.dataset, { uri: batch.uri, format: 'csv', partitions: { names: ['date=2026-11-20'] } });
    assert.equal(run.seed, 7);
    assert.equal(run.validation.drift.severity, 'warning');
    assert.equal(input.pipeline.validation.drift.severity, 'error', 'the monitor\'s own config is untouched');
    assert.deepEqual(PipelineInput.parse(run), run, 'a valid, complete pipeline input');
    const { partitions: _ignored, ...singleFile } = batch;
    assert.equal(retrainInput(input, { ...singleFile, uri: 's3://trainyard/data/events.csv' }).dataset.partitions, 'all');
  });

  it('explains what was done', () => {
    const allow = { trainWithoutChampion: true };
    assert.equal(explain({ outcome: 'drift-detected', reason: 'drift: x.' }, { action: 'started', workflowId: 'retrain-churn-abab' }, allow), 'drift: x. Retraining started: retrain-churn-abab.');
    assert.equal(explain({ outcome: 'drift-detected', reason: 'drift: x.' }, { action: 'already-started', workflowId: 'retrain-churn-abab' }, allow), 'drift: x. Already retraining on this batch: retrain-churn-abab.');
    assert.equal(explain({ outcome: 'no-drift', reason: 'no drift: y.' }, { action: 'none' }, allow), 'no drift: y.');
    assert.match(explain({ outcome: 'no-champion', reason: 'no champion yet.' }, { action: 'started', workflowId: 'retrain-churn-abab' }, allow), /Training a first version on this batch/);
    assert.match(explain({ outcome: 'no-champion', reason: 'no champion yet.' }, { action: 'none' }, { trainWithoutChampion: false }), /trainWithoutChampion is false/);
  });

  it('derives the retraining run\'s id from model and batch content only', () => {
    assert.equal(retrainWorkflowId('churn', 'abcdef0123456789'.repeat(4)), 'retrain-churn-abcdef012345');
  });
});
