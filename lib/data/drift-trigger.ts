import type { ColumnDrift } from '../../contracts/drift-check';
import { formatNumber, formatShare, type DriftComparison } from './drift';

export interface DriftTrigger {
  /** At least this many columns must have drifted… */
  minDriftedColumns: number;
  /** …and at least this share of the compared columns. */
  minDriftedShare: number;
}

export interface DriftVerdict {
  outcome: 'drift-detected' | 'no-drift' | 'too-few-rows';
  drifted: boolean;
  reason: string;
  /** Drifted columns, the largest shift (value / floor) first, at most `maxColumns`. */
  columns: ColumnDrift[];
  comparedColumns: number;
  driftedColumns: number;
}

const METRIC_NAME = { psi: 'PSI', 'jensen-shannon': 'Jensen–Shannon distance' } as const;

/** Whether a batch's drift table (lib/data/drift.ts's compareDrift) should trigger retraining, and why, in words. */
export function judgeDrift(comparison: DriftComparison, trigger: DriftTrigger, maxColumns = 10): DriftVerdict {
  const table = comparison.columns;
  const compared = table.length;
  const drifted = table
    .filter((d) => d.drifted)
    .sort((a, b) => excess(b) - excess(a) || (a.column < b.column ? -1 : 1));
  const columns = drifted.slice(0, maxColumns);
  const rule = `at least ${trigger.minDriftedColumns} column${trigger.minDriftedColumns === 1 ? '' : 's'}${trigger.minDriftedShare > 0 ? ` and ${formatShare(trigger.minDriftedShare)} of those compared` : ''}`;
  const verdict = (isDrifted: boolean, reason: string): DriftVerdict => ({
    outcome: isDrifted ? 'drift-detected' : 'no-drift',
    drifted: isDrifted,
    reason,
    columns,
    comparedColumns: compared,
    driftedColumns: drifted.length,
  });

  if (comparison.outcome === 'too-few-rows')
    return {
      ...verdict(false, `${comparison.note ?? 'too few rows to judge drift'}; no verdict.`),
      outcome: 'too-few-rows',
    };
  if (compared === 0) {
    return verdict(
      false,
      'no drift measured: no column of the batch could be compared with the reference statistics (names or types differ, or too few values); check that the batch is the data the model was trained on.',
    );
  }
  const share = drifted.length / compared;
  const triggered = drifted.length >= trigger.minDriftedColumns && share >= trigger.minDriftedShare;
  if (drifted.length === 0) {
    const closest = [...table].sort(
      (a, b) => a.adjustedPValue - b.adjustedPValue || excess(b) - excess(a),
    )[0] as ColumnDrift;
    return verdict(false, `no drift: none of ${compared} columns drifted (closest: ${describe(closest)}).`);
  }
  const listed = drifted.slice(0, 3).map(describe).join('; ');
  const more = drifted.length > 3 ? `; and ${drifted.length - 3} more` : '';
  const counted = `${drifted.length} of ${compared} columns drifted`;
  return triggered
    ? verdict(true, `drift: ${counted} (trigger: ${rule}): ${listed}${more}.`)
    : verdict(false, `no drift: ${counted}, below the trigger (${rule}): ${listed}${more}.`);
}

/** How far past its floor a column's shift is: drift ranks by value / floor, so PSI and JS distances compare. */
function excess(d: ColumnDrift): number {
  return d.floor > 0 ? d.value / d.floor : d.value;
}

/** "x1 PSI 0.31 > floor 0.03, p 2.1e-12 < 0.005 after Holm (mean 0 → 1.5, …)". */
export function describe(d: ColumnDrift): string {
  return `${d.column} ${describeShift(d)}`;
}

/** "PSI 0.31 > floor 0.03, p 2.1e-12 < 0.005 after Holm (mean 0 → 1.5, …)": the test's evidence and the shift, in words. */
export function describeShift(d: ColumnDrift): string {
  const effect = `${METRIC_NAME[d.metric]} ${formatNumber(d.value)} ${d.value > d.floor ? '>' : '≤'} floor ${d.floor}`;
  const significance = `p ${formatNumber(d.adjustedPValue)} ${d.adjustedPValue < d.alpha ? '<' : '≥'} ${d.alpha} after Holm`;
  return `${effect}, ${significance} (${d.summary})`;
}
