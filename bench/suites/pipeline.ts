import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { temporal } from '@temporalio/proto';
import { publicDatasetPath } from '../../test/support/public-data';
import { startTestHarness } from '../../test/support/temporal';
import { median, round, type BenchRow, type Suite } from '../harness';

const RUNS = Number(process.env.BENCH_PIPELINE_RUNS ?? 20);
const TARGET_MS_PER_TRANSITION = 30;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * Orchestration overhead: a run's wall time minus the time its activities spent executing, per stage
 * transition (one per activity), read from the server's own event timestamps.
 */
export function orchestrationOverhead(events: HistoryEvent[]): {
  wallMs: number;
  activityMs: number;
  transitions: number;
} {
  const ms = (e: HistoryEvent | undefined) => {
    const t = e?.eventTime;
    return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : Number.NaN;
  };
  const started = new Map<number, number>();
  let activityMs = 0;
  let transitions = 0;
  for (const e of events) {
    if (e.activityTaskStartedEventAttributes)
      started.set(Number(e.activityTaskStartedEventAttributes.scheduledEventId), ms(e));
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      activityMs += ms(e) - (started.get(Number(done.scheduledEventId)) ?? Number.NaN);
      transitions++;
    }
  }
  return { wallMs: ms(events.at(-1)) - ms(events[0]), activityMs, transitions };
}

const suite: Suite = {
  description: `orchestration overhead of trainingPipeline on penguins (${RUNS} sequential runs, one worker)`,
  async run() {
    const h = await startTestHarness();
    try {
      const key = `${h.prefix}/datasets/penguins.json`;
      await h.store.put(key, await readFile(publicDatasetPath('penguins.json')));
      const model = `bench-pipeline-${randomUUID().slice(0, 6)}`;
      const samples: { wallMs: number; activityMs: number; perTransitionMs: number; transitions: number }[] = [];
      for (let i = 0; i < RUNS; i++) {
        const handle = await h.client.workflow.start('trainingPipeline', {
          taskQueue: h.taskQueue,
          workflowId: `${model}-${i}`,
          args: [
            {
              model,
              dataset: { uri: h.store.uriFor(key) },
              task: { type: 'multiclass', label: 'Species' },
              train: { model: 'mlp', epochs: 5, hiddenLayers: [8] },
            },
          ],
        });
        await handle.result();
        const { wallMs, activityMs, transitions } = orchestrationOverhead((await handle.fetchHistory()).events ?? []);
        samples.push({ wallMs, activityMs, transitions, perTransitionMs: (wallMs - activityMs) / transitions });
      }
      const perTransition = median(samples.map((s) => s.perTransitionMs));
      const rows: BenchRow[] = [
        {
          runs: RUNS,
          'transitions/run': samples[0]?.transitions ?? 0,
          'median wall ms': round(median(samples.map((s) => s.wallMs)), 0),
          'median activity ms': round(median(samples.map((s) => s.activityMs)), 0),
          'median overhead ms': round(median(samples.map((s) => s.wallMs - s.activityMs)), 0),
          'median overhead ms/transition': round(perTransition, 1),
          'min ms/transition': round(Math.min(...samples.map((s) => s.perTransitionMs)), 1),
          'max ms/transition': round(Math.max(...samples.map((s) => s.perTransitionMs)), 1),
          target: `≤ ${TARGET_MS_PER_TRANSITION}`,
          met: perTransition <= TARGET_MS_PER_TRANSITION,
        },
      ];
      return {
        rows,
        notes: [
          `overhead per transition ${round(perTransition, 1)} ms (median of ${RUNS}) — target ≤ ${TARGET_MS_PER_TRANSITION} ms ${perTransition <= TARGET_MS_PER_TRANSITION ? 'met' : 'MISSED'}`,
          'overhead = workflow wall time (first to last history event) − Σ activity execution (started → completed), divided by the number of activities',
        ],
        meta: { samples },
      };
    } finally {
      await h.close();
    }
  },
};

export default suite;
