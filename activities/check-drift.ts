import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { ArtifactRef } from '../contracts/artifacts';
import type { DriftCheckResult } from '../contracts/drift-check';
import { DriftMonitorInput, resolveDriftThresholds } from '../contracts/drift-monitor-input';
import type { DatasetFingerprint } from '../contracts/stages';
import { loadDataset, toDatasetFailure } from '../lib/data/dataset';
import { compareDrift, referenceEdges, type DriftComparison } from '../lib/data/drift';
import { judgeDrift, type DriftVerdict } from '../lib/data/drift-trigger';
import { interruptOnAbort, openDuckDb } from '../lib/data/duckdb';
import { materializeDataset } from '../lib/data/materialize';
import { computeStatistics, type DatasetStatistics } from '../lib/data/statistics';
import { DatasetStatisticsSchema } from '../lib/data/statistics-schema';
import { resolveChampion } from '../lib/registry';
import { stageKey } from '../lib/run-keys';
import type { ActivityDeps } from './deps';
import { fingerprintSelection } from './fingerprint-dataset';
import { trackSteps, workflowIdOf } from './stage-progress';
import { readChampionJson } from './validate-data';

const STAGE = 'checkDrift';
/** 2: `drift` is the whole comparison (outcome, rows, alpha, columns with test, p-values and effect sizes). */
export const DRIFT_REPORT_VERSION = 2;

export interface CheckDriftArgs {
  input: DriftMonitorInput;
  /** ISO time "the newest batch" is judged against (the monitor's scheduled or current time). */
  asOf: string;
}

/**
 * checkDrift: the newest batch under the monitor's dataset URI → its statistics (the same profile
 * validateData computes, counted on the champion's quantile bins) → the drift table against the champion's
 * training statistics (compareDrift: chi-square tests, Holm-corrected, with effect-size floors, as
 * validation) → a verdict ("too few rows to judge" below validation.drift.minRows). The
 * report is written at a key derived from the monitor's workflow id and the batch's fingerprint, so a
 * repeated check of the same batch overwrites its own report. No champion: nothing to compare, said so.
 */
export function checkDriftActivity({ store }: ActivityDeps) {
  return async function checkDrift(args: CheckDriftArgs): Promise<DriftCheckResult> {
    const input = DriftMonitorInput.parse(args.input);
    const ctx = Context.current();
    const progress = trackSteps(ctx, 'fingerprinting the batch');
    try {
      const batch = await fingerprintSelection(
        store,
        input.dataset.uri,
        input.dataset.partitions,
        new Date(args.asOf),
        {
          signal: ctx.cancellationSignal,
          onProgress: (file, bytesRead) => ctx.heartbeat({ step: progress.step, file, bytesRead }),
        },
      );
      const reportKey = stageKey(input.model, workflowIdOf(ctx), STAGE, `drift-${batch.sha256.slice(0, 16)}.json`);
      progress.enter('resolving the champion');
      const champion = await resolveChampion(store, input.model, input.alias);
      const thresholds = resolveDriftThresholds(input);

      if (!champion) {
        const reason = `no ${input.alias} yet for ${input.model}; nothing to compare.`;
        const reportRef = await writeReport(reportKey, {
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
      progress.enter('profiling the batch');
      const current = await profileBatch(input, batch, reference, ctx.cancellationSignal, (bytes) =>
        ctx.heartbeat({ step: progress.step, bytes }),
      );
      progress.enter('comparing with the champion');
      const table = compareDrift(reference, current, thresholds);
      const verdict = judgeDrift(table, input.trigger);
      const outcome = verdict.outcome;
      const championSummary = { version: champion.version, statisticsUri: champion.statistics.uri };

      progress.enter('writing the drift report');
      const reportRef = await writeReport(reportKey, {
        batch,
        rows: current.rowCount,
        champion: championSummary,
        thresholds,
        trigger: input.trigger,
        outcome,
        ...summaryOf(verdict),
        drift: table,
      });
      ctx.log.info('drift checked', {
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
    } catch (error) {
      if (ctx.cancellationSignal.aborted && !(error instanceof ApplicationFailure))
        throw new CancelledFailure('checkDrift was cancelled');
      throw error;
    } finally {
      progress.stop();
    }
  };

  async function writeReport(
    key: string,
    body: Record<string, unknown> & { outcome: DriftCheckResult['outcome']; drift?: DriftComparison },
  ): Promise<ArtifactRef> {
    const put = await store.put(key, JSON.stringify({ version: DRIFT_REPORT_VERSION, ...body }, null, 2), {
      contentType: 'application/json',
    });
    const driftedColumns = body.drift?.columns.filter((d) => d.drifted).length ?? 0;
    return {
      kind: 'drift-report',
      uri: put.uri,
      sha256: put.sha256,
      bytes: put.bytes,
      metadata: { outcome: body.outcome, driftedColumns },
    };
  }

  /** The batch's statistics, computed as validateData computes them, histograms also on the reference's bins. */
  async function profileBatch(
    input: DriftMonitorInput,
    batch: DatasetFingerprint,
    reference: DatasetStatistics,
    signal: AbortSignal,
    onBytes: (bytes: number) => void,
  ): Promise<DatasetStatistics> {
    const local = await materializeDataset(store, input.dataset.uri, {
      format: input.dataset.format,
      ...(batch.partitions ? { partitions: batch.partitions } : {}),
      signal,
      onProgress: onBytes,
    });
    const session = await openDuckDb();
    const detach = interruptOnAbort(session, signal);
    try {
      // No label and no task: drift compares every column, the label's included, and skips leakage checks.
      const table = await loadDataset(session, local);
      return await computeStatistics(session, table, {
        referenceEdges: referenceEdges(reference),
        seed: input.pipeline.seed,
      }).catch((error: unknown) => {
        throw toDatasetFailure(local, error);
      });
    } finally {
      detach();
      await session.close();
      await local.cleanup();
    }
  }
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
