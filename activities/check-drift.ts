import type { DriftCheckResult } from '../contracts/drift-check';
import { DriftMonitorInput, parseDriftMonitorInput, resolveDriftThresholds } from '../contracts/drift-monitor-input';
import { valueOrFail } from '../contracts/pipeline-input-failure';
import { putJsonArtifact } from '../lib/data/artifact-files';
import type { DriftComparison } from '../lib/data/drift';
import { compareDrift } from '../lib/data/drift';
import { judgeDrift, type DriftVerdict } from '../lib/data/drift-trigger';
import { fingerprintSelection } from '../lib/data/fingerprint';
import { readChampionJson } from '../lib/data/reference-documents';
import { DatasetStatisticsSchema } from '../lib/data/statistics-schema';
import { profileBatch } from '../lib/data/validation';
import { resolveChampion } from '../lib/registry';
import type { StoreDeps } from './deps';
import { stageActivity, type StageSpec } from './stage-run';

/** 2: `drift` is the whole comparison (outcome, rows, alpha, columns with test, p-values and effect sizes). */
export const DRIFT_REPORT_VERSION = 2;

export interface CheckDriftArgs {
  input: DriftMonitorInput;
  /** ISO time "the newest batch" is judged against (the monitor's scheduled or current time). */
  asOf: string;
}

const STAGE: StageSpec<CheckDriftArgs> = {
  name: 'checkDrift',
  parse: (raw) => ({ ...raw, input: valueOrFail(parseDriftMonitorInput(raw.input), 'drift monitor input') }),
  model: (args) => args.input.model,
  firstStep: 'fingerprinting the batch',
};

/**
 * checkDrift: the newest batch under the monitor's dataset URI → its statistics (the same profile
 * validateData computes, counted on the champion's quantile bins) → the drift table against the champion's
 * training statistics (compareDrift: chi-square tests, Holm-corrected, with effect-size floors, as
 * validation) → a verdict ("too few rows to judge" below validation.drift.minRows). The
 * report is written at a key derived from the monitor's workflow id and the batch's fingerprint, so a
 * repeated check of the same batch overwrites its own report. No champion: nothing to compare, said so.
 */
export function checkDriftActivity({ store }: StoreDeps) {
  return stageActivity(STAGE, async ({ input, asOf }, run): Promise<DriftCheckResult> => {
    const batch = await fingerprintSelection(store, input.dataset.uri, input.dataset.partitions, new Date(asOf), {
      signal: run.signal,
      onProgress: (file, bytesRead) => run.beat({ file, bytesRead }),
    });
    const writeReport = (
      body: Record<string, unknown> & { outcome: DriftCheckResult['outcome']; drift?: DriftComparison },
    ) =>
      putJsonArtifact(
        store,
        run.keyOf(`drift-${batch.sha256.slice(0, 16)}.json`),
        'drift-report',
        { version: DRIFT_REPORT_VERSION, ...body },
        { outcome: body.outcome, driftedColumns: body.drift?.columns.filter((d) => d.drifted).length ?? 0 },
      );
    run.step('resolving the champion');
    const champion = await resolveChampion(store, input.model, input.alias);
    const thresholds = resolveDriftThresholds(input);

    if (!champion) {
      const reason = `no ${input.alias} yet for ${input.model}; nothing to compare.`;
      const reportRef = await writeReport({
        batch,
        thresholds,
        trigger: input.trigger,
        outcome: 'no-champion',
        drifted: false,
        reason,
      });
      return {
        outcome: 'no-champion',
        drifted: false,
        reason,
        columns: [],
        comparedColumns: 0,
        driftedColumns: 0,
        batch,
        reportRef,
      };
    }

    const reference = await readChampionJson(store, champion, champion.statistics, DatasetStatisticsSchema);
    run.step('profiling the batch');
    const local = await run.materialize(store, input.dataset.uri, {
      format: input.dataset.format,
      ...(batch.partitions ? { partitions: batch.partitions } : {}),
    });
    const current = await profileBatch(await run.openDuckDb(), local, reference, input.pipeline.seed);
    run.step('comparing with the champion');
    const table = compareDrift(reference, current, thresholds);
    const verdict = judgeDrift(table, input.trigger);
    const outcome = verdict.outcome;
    const championSummary = { version: champion.version, statisticsUri: champion.statistics.uri };

    run.step('writing the drift report');
    const reportRef = await writeReport({
      batch,
      rows: current.rowCount,
      champion: championSummary,
      thresholds,
      trigger: input.trigger,
      outcome,
      ...summaryOf(verdict),
      drift: table,
    });
    run.log.info('drift checked', {
      model: input.model,
      outcome,
      drifted: verdict.driftedColumns,
      compared: verdict.comparedColumns,
      batch: batch.sha256,
    });
    return {
      outcome,
      ...summaryOf(verdict),
      columns: verdict.columns,
      batch,
      rows: current.rowCount,
      champion: championSummary,
      reportRef,
    };
  });
}

function summaryOf(
  verdict: DriftVerdict,
): Pick<DriftCheckResult, 'drifted' | 'reason' | 'comparedColumns' | 'driftedColumns'> {
  return {
    drifted: verdict.drifted,
    reason: verdict.reason,
    comparedColumns: verdict.comparedColumns,
    driftedColumns: verdict.driftedColumns,
  };
}
