import type { DriftedColumn } from '../../contracts/drift-check';
import { formatNumber, formatShare, type ColumnDrift } from './drift';

export interface DriftTrigger {
  /** At least this many columns must have drifted… */
  minDriftedColumns: number;
  /** …and at least this share of the compared columns. */
  minDriftedShare: number;
}

export interface DriftVerdict {
  drifted: boolean;
  reason: string;
  /** Drifted columns, most drifted (value / threshold) first, at most `maxColumns`. */
  columns: DriftedColumn[];
  comparedColumns: number;
  driftedColumns: number;
}

const METRIC_NAME = { psi: 'PSI', 'jensen-shannon': 'Jensen–Shannon distance' } as const;

/** Whether a batch's drift table (lib/data/drift.ts's compareDrift) should trigger retraining, and why, in words. */
export function judgeDrift(table: readonly ColumnDrift[], trigger: DriftTrigger, maxColumns = 10): DriftVerdict {
  const compared = table.length;
  const byExcess = [...table].sort((a, b) => excess(b) - excess(a) || (a.column < b.column ? -1 : 1));
  const drifted = byExcess.filter((d) => d.drifted);
  const columns = drifted.slice(0, maxColumns).map(({ column, metric, value, threshold, summary }) => ({ column, metric, value, threshold, summary }));
  const rule = `at least ${trigger.minDriftedColumns} column${trigger.minDriftedColumns === 1 ? '' : 's'}${trigger.minDriftedShare > 0 ? ` and ${formatShare(trigger.minDriftedShare)} of those compared` : ''}`;
  const verdict = (isDrifted: boolean, reason: string): DriftVerdict => ({ drifted: isDrifted, reason, columns, comparedColumns: compared, driftedColumns: drifted.length });

  if (compared === 0) {
    return verdict(false, 'no drift measured: no column of the batch could be compared with the reference statistics (names or types differ); check that the batch is the data the model was trained on.');
  }
  const share = drifted.length / compared;
  const triggered = drifted.length >= trigger.minDriftedColumns && share >= trigger.minDriftedShare;
  if (drifted.length === 0) {
    const largest = byExcess[0] as ColumnDrift;
    return verdict(false, `no drift: none of ${compared} columns drifted (largest: ${describe(largest)}).`);
  }
  const listed = drifted.slice(0, 3).map(describe).join('; ');
  const more = drifted.length > 3 ? `; and ${drifted.length - 3} more` : '';
  const counted = `${drifted.length} of ${compared} columns drifted`;
  return triggered
    ? verdict(true, `drift: ${counted} (trigger: ${rule}): ${listed}${more}.`)
    : verdict(false, `no drift: ${counted}, below the trigger (${rule}): ${listed}${more}.`);
}

/** How far past its threshold a column is: drift ranks by value / threshold, so PSI and JS distances compare. */
function excess(d: ColumnDrift): number {
  return d.threshold > 0 ? d.value / d.threshold : d.value;
}

function describe(d: ColumnDrift): string {
  return `${d.column} ${METRIC_NAME[d.metric]} ${formatNumber(d.value)} ${d.drifted ? '>' : '≤'} ${d.threshold} (${d.summary})`;
}
