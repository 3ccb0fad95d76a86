import { randomUUID } from 'node:crypto';
import type { ArtifactStore } from '../store/artifact-store';
import type { Prediction } from './load-model';
import type { ServingRow } from './row-schema';

/** One served prediction, as the label-join monitoring will read it back. */
export interface PredictionRecord {
  id: string;
  /** When it was served, ISO-8601 UTC. */
  time: string;
  model: string;
  version: number;
  input: ServingRow;
  output: Prediction;
}

export interface PredictionLogOptions {
  /** Records are written under `<prefix>/date=YYYY-MM-DD/`; default `predictions/<model>`. */
  prefix?: string;
  /** A flush every this many ms (and on close); default 2000. */
  flushIntervalMs?: number;
  /** Records held while the store is unreachable; beyond it the oldest are dropped (and counted). Default 200,000. */
  maxBufferedRecords?: number;
  onFlushError?: (error: unknown, buffered: number) => void;
}

/** Date partitions of the log: `predictions/<model>/date=2026-12-07/`. */
export function predictionLogPrefix(model: string): string {
  return `predictions/${model}`;
}

/**
 * The prediction log: served predictions are buffered in memory and written every few seconds (and on
 * close) as one JSONL object per UTC date, `<prefix>/date=<YYYY-MM-DD>/<time>-<writer>-<seq>.jsonl`. Each
 * object is written whole in one PUT under a fresh key (create-only), so a reader sees a complete file
 * or none. A flush that fails keeps its records for the next one. What a hard crash (SIGKILL, power)
 * can lose is what was buffered: at most the last flush interval's predictions, plus a flush in flight.
 */
export class PredictionLog {
  private buffer: PredictionRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private sequence = 0;
  private readonly writer = randomUUID().slice(0, 8);
  private readonly prefix: string;
  private readonly maxBuffered: number;
  readonly counts = { written: 0, dropped: 0, objects: 0 };

  constructor(
    private readonly store: ArtifactStore,
    model: string,
    private readonly options: PredictionLogOptions = {},
  ) {
    this.prefix = options.prefix ?? predictionLogPrefix(model);
    this.maxBuffered = options.maxBufferedRecords ?? 200_000;
  }

  /** Starts the periodic flush. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.options.flushIntervalMs ?? 2000);
    this.timer.unref();
  }

  append(records: readonly PredictionRecord[]): void {
    for (const record of records) this.buffer.push(record);
    const excess = this.buffer.length - this.maxBuffered;
    if (excess > 0) {
      this.buffer.splice(0, excess);
      this.counts.dropped += excess;
    }
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Writes what is buffered now; flushes run one at a time, in order. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.writeBuffered());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer and writes everything still buffered (throws if the store refuses it). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async writeBuffered(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const byDate = new Map<string, PredictionRecord[]>();
    for (const record of batch) {
      const date = record.time.slice(0, 10);
      const list = byDate.get(date) ?? [];
      list.push(record);
      byDate.set(date, list);
    }
    const pending = [...byDate.entries()];
    try {
      while (pending.length > 0) {
        const [date, records] = pending[0] as [string, PredictionRecord[]];
        const stamp = new Date().toISOString().replace(/[-:.]/g, '');
        const key = `${this.prefix}/date=${date}/${stamp}-${this.writer}-${String(++this.sequence).padStart(6, '0')}.jsonl`;
        const body = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
        await this.store.put(key, body, { contentType: 'application/x-ndjson', condition: { ifNoneMatch: '*' } });
        this.counts.written += records.length;
        this.counts.objects++;
        pending.shift();
      }
    } catch (error) {
      // Keep the unwritten records, oldest first, ahead of what arrived meanwhile.
      this.buffer = [...pending.flatMap(([, records]) => records), ...this.buffer];
      this.append([]);
      this.options.onFlushError?.(error, this.buffer.length);
      throw error;
    }
  }
}
