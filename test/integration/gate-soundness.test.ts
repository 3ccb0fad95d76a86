import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import { resolveChampion } from '../../lib/registry';
import { readObject } from '../../lib/store/read-object';
import type { PipelineResult } from '../../workflows';
import { approvalUpdate, statusQuery } from '../../workflows/messages';
import { publicDatasetPath } from '../support/public-data';
import { waitForOutcome } from '../support/pipeline-runs';
import { startTestHarness, type TestHarness } from '../support/temporal';

type Row = Record<string, unknown>;

/** Few epochs: these tests prove the gate's decisions, the bench measures their error rates at scale. */
const FAST_TRAIN = { model: 'mlp' as const, epochs: 25, batchSize: 32, hiddenLayers: [16] };
const PERMUTATIONS = 20;

/**
 * The gate's decisions through the real pipeline (real Temporal, MinIO and training): noise is never
 * promoted, over fresh random label permutations each run (no fixed lucky shuffle); a model worse
 * than the base rate on log loss is rejected; a champion that collapses on the new data sends the run
 * to a person instead of promoting automatically.
 */
describe('the gate on the real pipeline: noise, base rate, champion collapse', () => {
  let h: TestHarness;
  let penguins: Row[];
  before(async () => {
    h = await startTestHarness();
    penguins = JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as Row[];
  });
  after(async () => {
    await h?.close();
  });

  async function run(model: string, rows: Row[], extra: Partial<PipelineInputDraft> = {}) {
    const key = `${h.prefix}/gate/${model}/${randomUUID()}.json`;
    await h.store.put(key, JSON.stringify(rows), { contentType: 'application/json' });
    const input: PipelineInputDraft = {
      model,
      dataset: { uri: h.store.uriFor(key), format: 'json' },
      task: { type: 'multiclass', label: 'Species' },
      train: FAST_TRAIN,
      seed: randomInt(1, 2 ** 31),
      ...extra,
    };
    return h.client.workflow.start('trainingPipeline', {
      taskQueue: h.taskQueue,
      workflowId: `gate-${model}-${randomUUID().slice(0, 8)}`,
      args: [input],
    });
  }
  const result = async (handle: Awaited<ReturnType<typeof run>>) => (await handle.result()) as PipelineResult;

  it(`promotes none of ${PERMUTATIONS} challengers trained on freshly shuffled labels, and the champion stays`, async () => {
    const model = `noise-${randomUUID().slice(0, 6)}`;
    const champion = await result(await run(model, penguins));
    assert.equal(champion.outcome, 'promoted', champion.reasons.join(' | '));
    const outcomes: string[] = [];
    // Two at a time: the machine has two cores, and each run trains.
    for (let i = 0; i < PERMUTATIONS; i += 2) {
      const pair = await Promise.all(
        [0, 1].map(async () =>
          result(await run(model, shuffleColumn(penguins, 'Species'), { promotion: { approvalTimeout: '1s' } })),
        ),
      );
      for (const r of pair) {
        outcomes.push(r.outcome);
        assert.notEqual(r.outcome, 'promoted', `a noise model was promoted: ${r.reasons.join(' | ')}`);
      }
    }
    assert.equal(outcomes.length, PERMUTATIONS);
    assert.equal((await resolveChampion(h.store, model))?.version, 1, 'the clean champion is still the champion');
  });

  it('rejects a model whose log loss is worse than the base rate, naming the rule', async () => {
    // Oversampling the rare class to parity shifts every probability towards it: on a weak signal (a
    // flight's delay from its distance and route) the ranking survives but the probabilities are worse
    // than predicting the base rate.
    const flights = (JSON.parse(await readFile(publicDatasetPath('flights-5k.json'), 'utf8')) as Row[]).map(
      ({ date: _date, ...row }) => row,
    );
    const handle = await run(`base-rate-${randomUUID().slice(0, 6)}`, flights, {
      task: { type: 'binary', label: { column: 'delay', op: '>', value: 15, name: 'delayed' } },
      sampling: { strategy: 'oversample', targetRatio: 1 },
    });
    const rejected = await result(handle);
    assert.equal(rejected.outcome, 'rejected', rejected.reasons.join(' | '));
    assert.ok(
      rejected.reasons.some((r) =>
        /^log_loss [\d.]+ is worse than the zero-rule's [\d.]+ \(difference \+[\d.]+, 99\.5% bounds \[/.test(r),
      ),
      rejected.reasons.join(' | '),
    );
    const document = JSON.parse((await readObject(h.store, h.store.keyFor(rejected.evaluationUri))).toString('utf8'));
    assert.ok(
      document.challenger.intervals.roc_auc.lower <= document.challenger.metrics.roc_auc,
      'intervals are in evaluation.json',
    );
    assert.equal(document.evidence.properScore.metric, 'log_loss');
  });

  it('a champion that collapses on the new data stops automatic promotion and waits for a person', async () => {
    const model = `collapse-${randomUUID().slice(0, 6)}`;
    const champion = await result(await run(model, penguins));
    assert.equal(champion.outcome, 'promoted', champion.reasons.join(' | '));
    // The concept changed: every species now goes by another's name. A new model learns it well; the
    // champion, right before, is now wrong on almost every row.
    const renamed: Record<string, string> = { Adelie: 'Gentoo', Gentoo: 'Chinstrap', Chinstrap: 'Adelie' };
    const handle = await run(
      model,
      penguins.map((r) => ({ ...r, Species: typeof r.Species === 'string' ? renamed[r.Species] : r.Species })),
      {
        promotion: { approvalTimeout: '10m' },
      },
    );
    const waiting = await waitForOutcome(handle, 'awaiting-approval');
    const note = waiting.stages.find((s) => s.name === 'approve')?.note ?? '';
    assert.match(
      note,
      /the champion \(version 1\) scores accuracy [\d.]+ \[[\d.]+, [\d.]+\] on this test split against [\d.]+ when it was registered/,
      note,
    );
    assert.match(note, /waits for a person's approval/);
    assert.equal((await handle.query(statusQuery)).outcome, 'awaiting-approval');
    await handle.executeUpdate(approvalUpdate, {
      args: [{ decision: 'approve', by: 'carol', reason: 'the species were renamed on purpose' }],
    });
    const approved = await result(handle);
    assert.equal(approved.outcome, 'promoted');
    assert.equal((await resolveChampion(h.store, model))?.version, 2);
  });
});

/** The rows with one column's values randomly permuted (crypto randomness: a new permutation every run). */
function shuffleColumn(rows: Row[], column: string): Row[] {
  const values = rows.map((r) => r[column]);
  for (let i = values.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
  return rows.map((row, i) => ({ ...row, [column]: values[i] }));
}
