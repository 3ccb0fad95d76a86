import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { retrainWorkflowId } from '../../contracts/drift-check';
import {
  DriftMonitorInput,
  driftMonitorInputJsonSchema,
  parseDriftMonitorInput,
  resolveDriftThresholds,
  type DriftMonitorInputDraft,
} from '../../contracts/drift-monitor-input';
import { PipelineInput } from '../../contracts/pipeline-input';
import { tooFewRowsNote, type ColumnDrift, type DriftComparison } from '../../lib/data/drift';
import { judgeDrift } from '../../lib/data/drift-trigger';
import { explain, retrainInput, shouldRetrain } from '../../workflows/drift-decision';

/** A drift-table row: drifted when its adjusted p-value is below alpha and its shift above the floor. */
const column = (
  name: string,
  metric: ColumnDrift['metric'],
  value: number,
  floor: number,
  adjustedPValue = 1e-6,
): ColumnDrift => ({
  column: name,
  test: 'chi-square',
  binning: metric === 'psi' ? 'quantile' : 'categories',
  bins: 10,
  referenceCount: 5000,
  batchCount: 1000,
  statistic: 50,
  degreesOfFreedom: 9,
  pValue: adjustedPValue / 4,
  adjustedPValue,
  alpha: 0.005,
  metric,
  value,
  observedValue: value + 0.01,
  floor,
  drifted: adjustedPValue < 0.005 && value > floor,
  summary: `${name} moved`,
});
const judged = (columns: ColumnDrift[]): DriftComparison => ({
  outcome: 'judged',
  rows: 1000,
  minRows: 100,
  alpha: 0.005,
  columns,
});

const minimal: DriftMonitorInputDraft = {
  model: 'churn',
  dataset: { uri: 's3://trainyard/data/events/' },
  pipeline: { task: { type: 'binary', label: 'churned' } },
};

describe('judgeDrift', () => {
  const table = judged([
    column('x1', 'psi', 4.2, 0.2), // 21× its floor
    column('colour', 'jensen-shannon', 0.35, 0.1), // 3.5×
    column('x2', 'psi', 0.05, 0.2),
    column('label', 'jensen-shannon', 0.5, 0.1, 0.3), // large but not significant
  ]);

  it('triggers on one drifted column by default, largest shift first, and says why in words', () => {
    const verdict = judgeDrift(table, { minDriftedColumns: 1, minDriftedShare: 0 });
    assert.equal(verdict.drifted, true);
    assert.equal(verdict.outcome, 'drift-detected');
    assert.equal(verdict.comparedColumns, 4);
    assert.equal(verdict.driftedColumns, 2);
    assert.deepEqual(
      verdict.columns.map((c) => c.column),
      ['x1', 'colour'],
    );
    assert.equal(
      verdict.reason,
      'drift: 2 of 4 columns drifted (trigger: at least 1 column): x1 PSI 4.2 > floor 0.2, p 1.00e-6 < 0.005 after Holm (x1 moved); colour Jensen–Shannon distance 0.35 > floor 0.1, p 1.00e-6 < 0.005 after Holm (colour moved).',
    );
  });

  it('stays below the trigger when too few columns, or too small a share, drifted', () => {
    const tooFew = judgeDrift(table, { minDriftedColumns: 3, minDriftedShare: 0 });
    assert.equal(tooFew.drifted, false);
    assert.equal(tooFew.outcome, 'no-drift');
    assert.match(tooFew.reason, /^no drift: 2 of 4 columns drifted, below the trigger \(at least 3 columns\)/);
    assert.equal(
      judgeDrift(table, { minDriftedColumns: 1, minDriftedShare: 0.6 }).drifted,
      false,
      '2 of 4 is 50% < 60%',
    );
    assert.equal(judgeDrift(table, { minDriftedColumns: 1, minDriftedShare: 0.5 }).drifted, true, '50% ≥ 50%');
  });

  it('names the column closest to drifting when none did, and says so when nothing could be compared', () => {
    const calm = judgeDrift(
      judged([column('a', 'psi', 0.01, 0.03, 0.0001), column('b', 'jensen-shannon', 0.09, 0.05, 0.2)]),
      { minDriftedColumns: 1, minDriftedShare: 0 },
    );
    assert.equal(calm.drifted, false);
    assert.equal(
      calm.reason,
      'no drift: none of 2 columns drifted (closest: a PSI 0.01 ≤ floor 0.03, p 1.00e-4 < 0.005 after Holm (a moved)).',
    );
    const nothing = judgeDrift(judged([]), { minDriftedColumns: 1, minDriftedShare: 0 });
    assert.equal(nothing.drifted, false);
    assert.match(nothing.reason, /no column of the batch could be compared/);
  });

  it('too few rows: no verdict, never drifted', () => {
    const verdict = judgeDrift(
      { outcome: 'too-few-rows', rows: 40, minRows: 100, alpha: 0.005, note: tooFewRowsNote(40, 100), columns: [] },
      { minDriftedColumns: 1, minDriftedShare: 0 },
    );
    assert.equal(verdict.outcome, 'too-few-rows');
    assert.equal(verdict.drifted, false);
    assert.equal(
      verdict.reason,
      'too few rows to judge drift: the batch has 40 rows, fewer than validation.drift.minRows (100); no verdict.',
    );
    assert.equal(shouldRetrain(verdict, { trainWithoutChampion: true }), false);
  });

  it('drifted ⇔ enough columns and share; columns drifted, ranked and capped (property)', () => {
    const row = fc.record({
      value: fc.double({ min: 0, max: 5, noNaN: true }),
      floor: fc.double({ min: 0.01, max: 1, noNaN: true }),
      p: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 30 }),
        fc.integer({ min: 1, max: 5 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        (rows, minColumns, minShare, maxColumns) => {
          const drift = rows.map((r, i) => column(`c${i}`, 'psi', r.value, r.floor, r.p));
          const verdict = judgeDrift(
            judged(drift),
            { minDriftedColumns: minColumns, minDriftedShare: minShare },
            maxColumns,
          );
          const count = drift.filter((d) => d.drifted).length;
          assert.equal(verdict.driftedColumns, count);
          assert.equal(verdict.drifted, drift.length > 0 && count >= minColumns && count / drift.length >= minShare);
          assert.equal(verdict.columns.length, Math.min(count, maxColumns));
          assert.ok(verdict.columns.every((c) => c.value > c.floor && c.adjustedPValue < c.alpha));
          const excess = verdict.columns.map((c) => c.value / c.floor);
          assert.ok(excess.every((e, i) => i === 0 || (excess[i - 1] as number) >= e));
        },
      ),
    );
  });
});

describe('DriftMonitorInput', () => {
  it("needs only model, dataset.uri and pipeline.task; batches default to the newest partition, thresholds to validation's", () => {
    const parsed = parseDriftMonitorInput(minimal);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.dataset.partitions, 'latest');
    assert.equal(parsed.value.alias, 'champion');
    assert.equal(parsed.value.trainWithoutChampion, true);
    assert.equal(parsed.value.every, undefined);
    assert.deepEqual(resolveDriftThresholds(parsed.value), {
      psiThreshold: 0.01,
      jensenShannonThreshold: 0.03,
      alpha: 0.005,
      minRows: 100,
    });
    const own = DriftMonitorInput.parse({
      ...minimal,
      thresholds: { psi: 0.5, alpha: 0.01 },
      pipeline: {
        ...minimal.pipeline,
        validation: { drift: { jensenShannonThreshold: 0.3, alpha: 0.05, minRows: 500 } },
      },
    });
    assert.deepEqual(resolveDriftThresholds(own), {
      psiThreshold: 0.5,
      jensenShannonThreshold: 0.3,
      alpha: 0.01,
      minRows: 500,
    });
    const pipelineAlpha = DriftMonitorInput.parse({
      ...minimal,
      pipeline: { ...minimal.pipeline, validation: { drift: { alpha: 0.02 } } },
    });
    assert.equal(resolveDriftThresholds(pipelineAlpha).alpha, 0.02, "the monitor's alpha defaults to the pipeline's");
  });

  it('refuses an alpha out of range, naming the field', () => {
    for (const alpha of [0, -0.1, 0.6, 2]) {
      const parsed = parseDriftMonitorInput({
        ...minimal,
        thresholds: { alpha },
        pipeline: { ...minimal.pipeline, validation: { drift: { alpha } } },
      });
      assert.ok(!parsed.ok);
      assert.deepEqual(parsed.problems.map((p) => p.path).sort(), [
        'pipeline.validation.drift.alpha',
        'thresholds.alpha',
      ]);
    }
  });

  it('names every bad field', () => {
    const parsed = parseDriftMonitorInput({
      model: 'Bad Name',
      dataset: { uri: 'http://x' },
      every: 'hourly',
      pipeline: { model: 'x', task: { type: 'binary', label: 'y' } },
    });
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
  const input = DriftMonitorInput.parse({
    ...minimal,
    dataset: { ...minimal.dataset, format: 'csv' },
    pipeline: { ...minimal.pipeline, seed: 7, validation: { drift: { severity: 'error' } } },
  });
  const batch = {
    uri: 's3://trainyard/data/events/',
    sha256: 'ab'.repeat(32),
    bytes: 10,
    partitions: ['date=2026-11-20'],
  };

  it('retrains on drift, and without a champion only when allowed', () => {
    assert.equal(shouldRetrain({ outcome: 'drift-detected', drifted: true }, { trainWithoutChampion: false }), true);
    assert.equal(shouldRetrain({ outcome: 'no-drift', drifted: false }, { trainWithoutChampion: true }), false);
    assert.equal(shouldRetrain({ outcome: 'no-champion', drifted: false }, { trainWithoutChampion: true }), true);
    assert.equal(shouldRetrain({ outcome: 'no-champion', drifted: false }, { trainWithoutChampion: false }), false);
  });

  it("the retraining run reads exactly the checked batch, with the monitor's config, drift only warned about", () => {
    const run = retrainInput(input, batch);
    assert.equal(run.model, 'churn');
    assert.deepEqual(run.dataset, { uri: batch.uri, format: 'csv', partitions: { names: ['date=2026-11-20'] } });
    assert.equal(run.seed, 7);
    assert.equal(run.validation.drift.severity, 'warning');
    assert.equal(input.pipeline.validation.drift.severity, 'error', "the monitor's own config is untouched");
    assert.deepEqual(PipelineInput.parse(run), run, 'a valid, complete pipeline input');
    const { partitions: _ignored, ...singleFile } = batch;
    assert.equal(
      retrainInput(input, { ...singleFile, uri: 's3://trainyard/data/events.csv' }).dataset.partitions,
      'all',
    );
  });

  it('explains what was done', () => {
    const allow = { trainWithoutChampion: true };
    assert.equal(
      explain(
        { outcome: 'drift-detected', reason: 'drift: x.' },
        { action: 'started', workflowId: 'retrain-churn-abab' },
        allow,
      ),
      'drift: x. Retraining started: retrain-churn-abab.',
    );
    assert.equal(
      explain(
        { outcome: 'drift-detected', reason: 'drift: x.' },
        { action: 'already-started', workflowId: 'retrain-churn-abab' },
        allow,
      ),
      'drift: x. Already retraining on this batch: retrain-churn-abab.',
    );
    assert.equal(explain({ outcome: 'no-drift', reason: 'no drift: y.' }, { action: 'none' }, allow), 'no drift: y.');
    assert.match(
      explain(
        { outcome: 'no-champion', reason: 'no champion yet.' },
        { action: 'started', workflowId: 'retrain-churn-abab' },
        allow,
      ),
      /Training a first version on this batch/,
    );
    assert.match(
      explain(
        { outcome: 'no-champion', reason: 'no champion yet.' },
        { action: 'none' },
        { trainWithoutChampion: false },
      ),
      /trainWithoutChampion is false/,
    );
  });

  it("derives the retraining run's id from model and batch content only", () => {
    assert.equal(retrainWorkflowId('churn', 'abcdef0123456789'.repeat(4)), 'retrain-churn-abcdef012345');
  });
});
