import os from 'node:os';
import path from 'node:path';
import { DRIFT_DEFAULTS } from '../../contracts/stage-config';
import type { DatasetColumn, DatasetTable } from '../../lib/data/dataset';
import { compareDrift, referenceEdges } from '../../lib/data/drift';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { computeStatistics, type ColumnStatistics, type DatasetStatistics } from '../../lib/data/statistics';
import { jensenShannonDistance, populationStabilityIndex } from '../../lib/stats/divergence';
import { normalQuantile } from '../../lib/stats/distributions';
import { round, type BenchRow, type SuiteResult } from '../harness';

/**
 * The drift check's false alarms and power on real data: 2001 US flights (vega-datasets). The reference
 * is the statistics (computeStatistics in DuckDB, as validateData writes them) of a random sample of
 * January rows; batches are random held-out January rows (nothing changed), the same with a planted
 * shift (+0.25σ distance; ORD's share of origin up 10 points), or June rows (a real seasonal shift).
 * Each batch is profiled on the reference's bins and judged by the product's compareDrift with default
 * settings ("now") and by the former fixed rules (PSI > 0.2 on equal-width bins, JS > 0.1: "before"),
 * on the same batches. A batch is flagged when any column drifted. `DRIFT_TRIALS` scales the trials.
 */
const FLIGHTS = path.resolve('node_modules/vega-datasets/data/flights-3m.parquet');
const REFERENCE_ROWS = 200_000;
const SIZES = [100, 1_000, 10_000, 100_000] as const;
const COLUMNS: DatasetColumn[] = [
  { name: 'delay', type: 'numeric', duckdbType: 'BIGINT' },
  { name: 'distance', type: 'numeric', duckdbType: 'BIGINT' },
  { name: 'origin', type: 'categorical', duckdbType: 'VARCHAR' },
  { name: 'destination', type: 'categorical', duckdbType: 'VARCHAR' },
];
const BOOSTED_ORIGIN = 'ORD';
const NOW = { ...DRIFT_DEFAULTS, ...floorsFromEnvironment() };
const BEFORE = { psiThreshold: 0.2, jensenShannonThreshold: 0.1 };

/** DRIFT_FLOORS=psi,js tries other floors (how the defaults were chosen). */
function floorsFromEnvironment(): { psiThreshold?: number; jensenShannonThreshold?: number } {
  const [psi, js] = (process.env.DRIFT_FLOORS ?? '').split(',').map(Number);
  return psi && js ? { psiThreshold: psi, jensenShannonThreshold: js } : {};
}

type Scenario = 'stationary' | 'distance +0.25σ' | 'ORD share +10 pts' | 'January → June';

export async function measureDriftSoundness(): Promise<SuiteResult> {
  const scale = Number(process.env.DRIFT_TRIALS ?? 1);
  const started = performance.now();
  const session = await openDuckDb({ allowedDirectories: [os.tmpdir(), path.dirname(FLIGHTS)] });
  try {
    await loadMonths(session);
    const reference = await computeStatistics(session, table('reference', REFERENCE_ROWS), { seed: 1 });
    const distanceStd = reference.columns.find((c) => c.name === 'distance')?.numeric?.std ?? 0;
    const originShare = shareOf(
      reference.columns.find((c) => c.name === 'origin'),
      BOOSTED_ORIGIN,
    );
    const plan: { scenario: Scenario; size: number; trials: number }[] = [
      ...SIZES.map((size) => ({
        scenario: 'stationary' as const,
        size,
        trials: Math.round((size <= 1_000 ? 400 : size === 10_000 ? 200 : 100) * scale),
      })),
      ...(['distance +0.25σ', 'ORD share +10 pts', 'January → June'] as const).flatMap((scenario) =>
        SIZES.map((size) => ({ scenario, size, trials: Math.round((size === 100_000 ? 50 : 100) * scale) })),
      ),
    ];
    const rows: BenchRow[] = [];
    const results: Record<string, { now: number; significant: number; before: number; trials: number }> = {};
    for (const { scenario, size, trials } of plan) {
      let now = 0;
      let significant = 0;
      let before = 0;
      for (let trial = 0; trial < trials; trial += 1) {
        const seed = hashSeed(scenario, size, trial);
        await drawBatch(session, scenario, size, seed, {
          distanceShift: 0.25 * distanceStd,
          boost: 0.1 / (1 - originShare),
        });
        const flags = await judge(session, reference, size, seed);
        now += flags.now ? 1 : 0;
        significant += flags.significant ? 1 : 0;
        before += flags.before ? 1 : 0;
      }
      results[`${scenario}@${size}`] = { now, significant, before, trials };
      const target = scenario === 'stationary' ? '≤ 1%' : size >= 1_000 ? '≥ 90%' : '(report)';
      rows.push({
        scenario,
        'batch rows': size,
        trials,
        target,
        now: rate(now, trials),
        'test alone (no floor)': rate(significant, trials),
        before: rate(before, trials),
      });
      console.log(`  ${scenario} @ ${size}: now ${rate(now, trials)}, before ${rate(before, trials)}`);
    }
    const elapsedS = (performance.now() - started) / 1000;
    return {
      rows,
      notes: notesOf(results, elapsedS),
      meta: {
        drift: {
          referenceRows: REFERENCE_ROWS,
          settings: NOW,
          before: BEFORE,
          distanceStd,
          originShare,
          results,
          elapsedS: round(elapsedS, 1),
        },
      },
    };
  } finally {
    await session.close();
  }
}

/** January and June as in-memory tables, January split into the reference sample and the held-out rows. */
async function loadMonths(session: DuckDbSession): Promise<void> {
  const source = `read_parquet('${FLIGHTS.replaceAll("'", "''")}')`;
  const select = `SELECT row_number() OVER () AS rid, delay, distance, origin, destination FROM ${source}`;
  await session.run(`CREATE TABLE january AS ${select} WHERE month(date) = 1`);
  await session.run(`CREATE TABLE june AS ${select} WHERE month(date) = 6`);
  await session.run(
    `CREATE TABLE reference AS SELECT * FROM january USING SAMPLE reservoir(${REFERENCE_ROWS} ROWS) REPEATABLE (1)`,
  );
  await session.run('CREATE TABLE held_out AS SELECT * FROM january ANTI JOIN reference USING (rid)');
}

/** A random batch (its own seed) of held-out January rows, shifted as the scenario says, or of June rows. */
async function drawBatch(
  session: DuckDbSession,
  scenario: Scenario,
  size: number,
  seed: number,
  shift: { distanceShift: number; boost: number },
): Promise<void> {
  const from = scenario === 'January → June' ? 'june' : 'held_out';
  const distance =
    scenario === 'distance +0.25σ' ? `CAST(round(distance + ${shift.distanceShift}) AS BIGINT)` : 'distance';
  // A seeded coin per row (hash of row and trial): ORD replaces other origins with probability boost, so its share rises by 10 points.
  const origin =
    scenario === 'ORD share +10 pts'
      ? `CASE WHEN origin <> '${BOOSTED_ORIGIN}' AND (hash(rid, ${seed}) % 1000000) / 1e6 < ${shift.boost} THEN '${BOOSTED_ORIGIN}' ELSE origin END`
      : 'origin';
  await session.run(
    `CREATE OR REPLACE TABLE batch AS SELECT delay, ${distance} AS distance, ${origin} AS origin, destination FROM (SELECT * FROM ${from} USING SAMPLE reservoir(${size} ROWS) REPEATABLE (${seed}))`,
  );
}

/** The batch profiled on the reference's bins, judged now and before. */
async function judge(
  session: DuckDbSession,
  reference: DatasetStatistics,
  size: number,
  seed: number,
): Promise<{ now: boolean; significant: boolean; before: boolean }> {
  const batch = table('batch', size);
  const current = await computeStatistics(session, batch, {
    referenceEdges: referenceEdges(reference),
    seed,
    quantileBins: 0,
  });
  const drift = compareDrift(reference, current, NOW).columns;
  // The former rules read the batch on the reference's equal-width bins.
  const equalWidth = Object.fromEntries(
    reference.columns.flatMap((c) => (c.numeric ? [[c.name, c.numeric.histogram.edges]] : [])),
  );
  const old = await computeStatistics(session, batch, { referenceEdges: equalWidth, seed, quantileBins: 0 });
  return {
    now: drift.some((c) => c.drifted),
    significant: drift.some((c) => c.adjustedPValue < c.alpha),
    before: formerRulesFlag(reference, old),
  };
}

/** Today's-before rules, as lib/data/drift.ts had them: PSI > 0.2 on the equal-width bins, JS distance > 0.1 over the union of categories. */
function formerRulesFlag(reference: DatasetStatistics, current: DatasetStatistics): boolean {
  return current.columns.some((column) => {
    const ref = reference.columns.find((c) => c.name === column.name);
    if (!ref) return false;
    if (ref.numeric && column.numeric?.histogramOnReferenceBins) {
      return (
        populationStabilityIndex(ref.numeric.histogram.counts, column.numeric.histogramOnReferenceBins.counts) >
        BEFORE.psiThreshold
      );
    }
    const p = categoryMap(ref);
    const q = categoryMap(column);
    const categories = [...new Set([...p.keys(), ...q.keys()])];
    return (
      jensenShannonDistance(
        categories.map((c) => p.get(c) ?? 0),
        categories.map((c) => q.get(c) ?? 0),
      ) > BEFORE.jensenShannonThreshold
    );
  });
}

function categoryMap(column: ColumnStatistics): Map<string, number> {
  const counts = new Map((column.categorical?.categories ?? []).map((c) => [c.value, c.count]));
  if (column.categorical && column.categorical.otherCount > 0) counts.set('\u0000other', column.categorical.otherCount);
  return counts;
}

function shareOf(column: ColumnStatistics | undefined, value: string): number {
  const count = column?.categorical?.categories.find((c) => c.value === value)?.count ?? 0;
  return column && column.count > 0 ? count / column.count : 0;
}

function table(name: string, rowCount: number): DatasetTable {
  return { table: `"${name}"`, relation: 'table', columns: COLUMNS, rowCount };
}

function hashSeed(scenario: string, size: number, trial: number): number {
  let h = 2166136261;
  for (const ch of `${scenario}|${size}|${trial}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0) % 2 ** 31;
}

/** "3/400 = 0.8% [0.3–2.2%]": count / trials with a 95% Wilson interval. */
function rate(count: number, trials: number): string {
  const [low, high] = wilson(count, trials);
  const pct = (v: number) => `${round(v * 100, 1)}%`;
  return `${count}/${trials} = ${pct(count / trials)} [${pct(low)}–${pct(high)}]`;
}

function wilson(successes: number, trials: number, confidence = 0.95): [number, number] {
  if (trials === 0) return [0, 1];
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const denominator = 1 + (z * z) / trials;
  const centre = (p + (z * z) / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function notesOf(
  results: Record<string, { now: number; significant: number; before: number; trials: number }>,
  elapsedS: number,
): string[] {
  const entries = Object.entries(results);
  const falseAlarms = entries.filter(([k]) => k.startsWith('stationary@'));
  const power = entries.filter(([k]) => !k.startsWith('stationary@') && Number(k.split('@')[1]) >= 1_000);
  const worstFalse = Math.max(...falseAlarms.map(([, r]) => r.now / r.trials));
  const worstPower = Math.min(...power.map(([, r]) => r.now / r.trials));
  return [
    `drift, false alarms (target ≤ 1% at every size): worst ${round(worstFalse * 100, 1)}% now — ${worstFalse <= 0.01 ? 'met' : 'MISSED'}; before: ${falseAlarms.map(([k, r]) => `${k.split('@')[1]} rows ${round((r.before / r.trials) * 100)}%`).join(', ')}.`,
    `drift, power at ≥ 1,000 rows (target ≥ 90%): worst ${round(worstPower * 100, 1)}% now — ${worstPower >= 0.9 ? 'met' : 'MISSED'}.`,
    `drift: defaults alpha ${NOW.alpha} (Holm over the columns), floors PSI ${NOW.psiThreshold} / JS ${NOW.jensenShannonThreshold} (noise-corrected), minRows ${NOW.minRows}; reference ${REFERENCE_ROWS.toLocaleString('en')} January rows; ${round(elapsedS)} s.`,
  ];
}
