import { randomInt, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import type { PipelineResult } from '../../workflows/training-pipeline';
import { MAIN_METRIC } from '../../lib/evaluation/gate';
import { promoteAlias } from '../../lib/registry/aliases';
import { readObject } from '../../lib/store/read-object';
import { wilsonInterval } from '../../lib/stats/intervals';
import { publicDatasetPath } from '../../test/support/public-data';
import { startTestHarness, type TestHarness } from '../../test/support/temporal';
import { round, type BenchRow, type SuiteResult } from '../harness';

/**
 * The gate's error rates, through the real pipeline (real Temporal, real MinIO, real training) on public
 * data, with every random draw fresh (labels shuffled, rows subsampled and the pipeline seed drawn per
 * trial; no fixed seed):
 * - noise: a challenger trained on shuffled labels against a clean champion; any promotion is wrong;
 * - power: a champion trained on a 10% random sample of its train split, a challenger on all of it (both
 *   judged on full-size test splits); it should be promoted. The champion is an MLP: gbdt's leaves need
 *   20 rows each, so on 24 penguins it cannot split at all and the gate rightly rejects it;
 * - fresh retrain: champion and challenger on two disjoint random halves (a new sample, same size); it
 *   should be promoted, not rejected.
 * The "before" column applies the former default rule (bless when the main metric beats the zero-rule's
 * point value; no champion check by default) to the same evaluations, read back from evaluation.json.
 */

const NOISE_TRIALS = Number(process.env.BENCH_GATE_NOISE_TRIALS ?? 50);
const PAIRED_TRIALS = Number(process.env.BENCH_GATE_PAIRED_TRIALS ?? 20);
/** The power champion trains on this share of the train split (sampling), so its test split is full size. */
const POWER_FRACTION = 0.1;

type Row = Record<string, unknown>;

interface DatasetCase {
  name: string;
  rows: Row[];
  task: PipelineInputDraft['task'];
  /** The column whose values are shuffled for the noise trials (the label or its source). */
  labelColumn: string;
  extra?: Partial<PipelineInputDraft>;
}

interface Trial {
  promoted: boolean;
  /** The former default gate's verdict on the same evaluation. */
  promotedBefore: boolean;
  outcome: PipelineResult['outcome'];
  reasons: string[];
}

async function datasets(): Promise<DatasetCase[]> {
  const penguins = (JSON.parse(await readFile(publicDatasetPath('penguins.json'), 'utf8')) as Row[]).filter(
    (r) => r.Species !== null,
  );
  const cars = JSON.parse(await readFile(publicDatasetPath('cars.json'), 'utf8')) as Row[];
  return [
    {
      name: 'penguins (multiclass: Species)',
      rows: penguins,
      task: { type: 'multiclass', label: 'Species' },
      labelColumn: 'Species',
    },
    {
      name: 'cars (binary: Origin == USA)',
      rows: cars,
      task: { type: 'binary', label: { column: 'Origin', op: '==', value: 'USA', name: 'american' } },
      labelColumn: 'Origin',
      extra: { preprocess: { exclude: ['Name'] } },
    },
  ];
}

export async function measureGateSoundness(): Promise<SuiteResult> {
  const harness = await startTestHarness();
  const rows: BenchRow[] = [];
  const meta: Record<string, unknown> = {};
  try {
    for (const dataset of await datasets()) {
      const runner = new PipelineRunner(harness, dataset);
      const noise = await runner.noiseTrials(NOISE_TRIALS);
      const power = await runner.pairedTrials('power', PAIRED_TRIALS);
      const fresh = await runner.pairedTrials('fresh', PAIRED_TRIALS);
      rows.push(rateRow(dataset.name, 'noise: shuffled-label challenger promoted', noise, 'promoted = 0'));
      rows.push(
        rateRow(dataset.name, `power: full train split vs a ${POWER_FRACTION * 100}% sample, promoted`, power, '≥ 90%'),
      );
      rows.push(rateRow(dataset.name, 'fresh retrain (disjoint half) promoted', fresh, '≥ 90%'));
      meta[dataset.name] = { noise, power, fresh };
    }
  } finally {
    await harness.close();
  }
  return {
    rows,
    notes: [
      'gate rows: counts over independent random draws (labels shuffled / rows subsampled / pipeline seed drawn per trial); intervals are 95% Wilson',
      '"before": the former default gate (main metric above the zero-rule point value; no champion rule by default) applied to the same evaluation.json',
      `trials: noise ${NOISE_TRIALS}, power ${PAIRED_TRIALS}, fresh ${PAIRED_TRIALS} per dataset (BENCH_GATE_NOISE_TRIALS, BENCH_GATE_PAIRED_TRIALS)`,
    ],
    meta: { gate: meta },
  };
}

function rateRow(dataset: string, what: string, trials: Trial[], target: string): BenchRow {
  const count = (f: (t: Trial) => boolean) => trials.filter(f).length;
  const now = count((t) => t.promoted);
  const before = count((t) => t.promotedBefore);
  const interval = (k: number) => {
    const w = wilsonInterval(k, trials.length);
    return `${k}/${trials.length} [${pct(w.lower)}, ${pct(w.upper)}]`;
  };
  const met = target.startsWith('≥') ? now / trials.length >= 0.9 : now === 0;
  return { part: 'gate', dataset, measure: what, now: interval(now), before: interval(before), target, met };
}

function pct(share: number): string {
  return `${round(share * 100, 1)}%`;
}

/** Runs pipelines for one dataset: uploads each variant of the data, starts the run, reads its evaluation back. */
class PipelineRunner {
  private readonly tag = randomUUID().slice(0, 6);

  constructor(
    private readonly h: TestHarness,
    private readonly dataset: DatasetCase,
  ) {}

  /** One clean champion, then shuffled-label challengers; a wrongly promoted one is rolled back so each trial faces the clean champion. */
  async noiseTrials(count: number): Promise<Trial[]> {
    const model = `soundness-noise-${this.tag}`;
    const champion = await this.run(model, this.dataset.rows);
    if (champion.outcome !== 'promoted' || champion.version === undefined)
      throw new Error(`the clean champion was not promoted: ${champion.reasons.join(' ')}`);
    const trials: Trial[] = [];
    for (let i = 0; i < count; i++) {
      const result = await this.run(model, shuffleColumn(this.dataset.rows, this.dataset.labelColumn));
      trials.push(await this.trial(result));
      if (result.outcome === 'promoted') {
        await promoteAlias(this.h.store, {
          model,
          alias: 'champion',
          version: champion.version,
          by: 'bench',
          reason: 'reset to the clean champion',
          at: new Date().toISOString(),
        });
      }
    }
    return trials;
  }

  /**
   * power: champion trained on a POWER_FRACTION uniform sample of the train split (sampling never touches
   * the test split), challenger on all of it; fresh: champion and challenger on two disjoint random halves.
   * A champion the gate itself rejects (too few test rows to show it beats the zero-rule) is drawn again,
   * up to three times.
   */
  async pairedTrials(kind: 'power' | 'fresh', count: number): Promise<Trial[]> {
    const trials: Trial[] = [];
    for (let i = 0; i < count; i++) {
      const model = `soundness-${kind}-${this.tag}-${i}`;
      const shuffled = shuffleRows(this.dataset.rows);
      const half = Math.floor(shuffled.length / 2);
      let champion: PipelineResult | undefined;
      for (let attempt = 0; attempt < 3 && champion?.outcome !== 'promoted'; attempt++) {
        champion =
          kind === 'power'
            ? await this.run(model, shuffleRows(this.dataset.rows), {
                sampling: { strategy: 'uniform', fraction: POWER_FRACTION },
                train: { model: 'mlp' },
              })
            : await this.run(model, shuffled.slice(0, half));
      }
      if (champion?.outcome !== 'promoted')
        throw new Error(`no ${kind} champion could be promoted: ${champion?.reasons.join(' ')}`);
      const challenger = await this.run(
        model,
        kind === 'power' ? shuffleRows(this.dataset.rows) : shuffled.slice(half),
      );
      trials.push(await this.trial(challenger));
    }
    return trials;
  }

  private async trial(result: PipelineResult): Promise<Trial> {
    process.stderr.write(`  ${this.dataset.name}: ${result.model} ${result.outcome}\n`);
    const document = JSON.parse(
      (await readObject(this.h.store, this.h.store.keyFor(result.evaluationUri))).toString('utf8'),
    ) as {
      task: keyof typeof MAIN_METRIC;
      nonFiniteOutputs: number;
      challenger: { metrics: Record<string, number | null> };
      baselines: { zeroRule: { metrics: Record<string, number | null> } };
    };
    const main = MAIN_METRIC[document.task];
    const value = document.challenger.metrics[main] ?? Number.NaN;
    const zero = document.baselines.zeroRule.metrics[main] ?? Number.NaN;
    return {
      promoted: result.outcome === 'promoted',
      promotedBefore: document.nonFiniteOutputs === 0 && value > zero,
      outcome: result.outcome,
      reasons: result.reasons,
    };
  }

  private async run(model: string, rows: Row[], extra: Partial<PipelineInputDraft> = {}): Promise<PipelineResult> {
    const key = `${this.h.prefix}/soundness/${model}/${randomUUID()}.json`;
    await this.h.store.put(key, JSON.stringify(rows), { contentType: 'application/json' });
    const input: PipelineInputDraft = {
      model,
      dataset: { uri: this.h.store.uriFor(key), format: 'json' },
      task: this.dataset.task,
      seed: randomInt(1, 2 ** 31),
      // A collapsed champion stops auto-promotion; nobody answers in a bench, so the run ends unpromoted.
      promotion: { approvalTimeout: '1s' },
      operator: { timeout: '0s' },
      ...this.dataset.extra,
      ...extra,
    };
    const handle = await this.h.client.workflow.start('trainingPipeline', {
      taskQueue: this.h.taskQueue,
      workflowId: `${model}-${randomUUID().slice(0, 8)}`,
      args: [input],
    });
    return (await handle.result()) as PipelineResult;
  }
}

/** A copy of the rows with one column's values randomly permuted (Fisher–Yates, crypto randomness). */
export function shuffleColumn(rows: Row[], column: string): Row[] {
  const values = shuffleRows(rows.map((r) => r[column]));
  return rows.map((row, i) => ({ ...row, [column]: values[i] }));
}

function shuffleRows<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
