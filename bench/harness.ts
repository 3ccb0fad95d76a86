import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export type Cell = string | number | boolean | null;
export type BenchRow = Record<string, Cell>;

export interface SuiteResult {
  rows: BenchRow[];
  /** Further tables, each printed under its title after `rows` (a suite measuring unlike things). */
  tables?: { title: string; rows: BenchRow[] }[];
  /** Plain-language findings: targets met or missed, ratios, caveats. */
  notes?: string[];
  meta?: Record<string, unknown>;
}

export interface Suite {
  description: string;
  run(): Promise<SuiteResult>;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function formatTable(rows: BenchRow[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const text = (v: Cell | undefined) => (v === undefined || v === null ? '' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [
    line(columns),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map((r) => line(columns.map((c) => text(r[c])))),
  ].join('\n');
}

export async function writeResult(
  suite: string,
  result: SuiteResult,
  dir = path.resolve('bench/results'),
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const body = JSON.stringify(
    {
      suite,
      at: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        memoryBytes: os.totalmem(),
        node: process.version,
        platform: process.platform,
      },
      ...result,
    },
    null,
    2,
  );
  const file = path.join(dir, `${suite}-${stamp}.json`);
  await writeFile(file, body);
  await writeFile(path.join(dir, `${suite}-latest.json`), body);
  return file;
}

/** Samples this process's RSS every `intervalMs` until stopped; returns the peak growth over the start. */
export function trackPeakRss(intervalMs = 20): {
  stop(): { startBytes: number; peakBytes: number; growthBytes: number };
} {
  const startBytes = process.memoryUsage.rss();
  let peakBytes = startBytes;
  const timer = setInterval(() => {
    peakBytes = Math.max(peakBytes, process.memoryUsage.rss());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peakBytes = Math.max(peakBytes, process.memoryUsage.rss());
      return { startBytes, peakBytes, growthBytes: peakBytes - startBytes };
    },
  };
}
