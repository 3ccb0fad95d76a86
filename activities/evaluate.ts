import type { ArtifactRef } from '../contracts/artifacts';
import type { EvaluateResult } from '../contracts/stage-results';
import { evaluateModel, type EvaluateArgs } from '../lib/evaluation/evaluate-model';
import { headlineIntervals, headlineMetrics, serializeEvaluation } from '../lib/evaluation/evaluation-document';
import type { ArtifactStore } from '../lib/store/artifact-store';
import type { StoreDeps } from './deps';
import { pipelineActivity } from './stage-run';

/** The longest a presigned S3 link may live (SigV4): the report link in the memo works for a week. */
const REPORT_LINK_SECONDS = 7 * 24 * 60 * 60;
const MAX_REASONS = 20;

/** The report's presigned link, for the result and memo (batchPredict's summary page uses it too). */
export function signReportLink(store: ArtifactStore, report: ArtifactRef): Promise<string> {
  return store.presignedGetUrl(store.keyFor(report.uri), REPORT_LINK_SECONDS);
}

/** The re-run cache's hook for evaluate: a cached result's link has expired or soon will, so sign it again. */
export function refreshReportLink({ store }: StoreDeps) {
  return async (result: EvaluateResult): Promise<EvaluateResult> => ({
    ...result,
    reportUrl: await signReportLink(store, result.report),
  });
}

/**
 * The gate: scores the trained model on the test split against the zero-rule, a stratified random
 * baseline and the champion, applies `input.evaluate`'s rules (all in lib/evaluation/evaluate-model.ts),
 * and writes `report.html` then `evaluation.json` (last, so a reader that finds it finds both). A
 * rejected model is a result, not a failure. Re-running overwrites the same keys with the same content
 * (up to createdAt and timings).
 */
export function evaluateActivity({ store }: StoreDeps) {
  return pipelineActivity('evaluate', 'starting', async (args: EvaluateArgs, run): Promise<EvaluateResult> => {
    // A beat on every step, and between steps on the lifecycle's timer: reading a large split or loading a model is one long step.
    const { document, html } = await evaluateModel(
      { store, workflowId: run.workflowId, heartbeat: (next) => run.progress(next), signal: run.signal },
      args,
    );
    const metadata = { decision: document.decision, task: document.task, testRows: document.testRows };
    const reportPut = await store.put(run.keyOf('report.html'), html, { contentType: 'text/html; charset=utf-8' });
    const report: ArtifactRef = { kind: 'report', ...refOf(reportPut), metadata };
    const evaluationPut = await store.put(run.keyOf('evaluation.json'), serializeEvaluation(document), {
      contentType: 'application/json',
    });
    const evaluation: ArtifactRef = { kind: 'evaluation', ...refOf(evaluationPut), metadata };
    const reportUrl = await signReportLink(store, report);
    run.log.info('model evaluated', {
      decision: document.decision,
      reasons: document.reasons.length,
      testRows: document.testRows,
      evaluateMs: Math.round(document.evaluateMs),
    });
    return {
      evaluation,
      report,
      reportUrl,
      decision: document.decision,
      reasons: boundedReasons(document.reasons),
      metrics: headlineMetrics(document.challenger),
      intervals: headlineIntervals(document.challenger),
      ...(document.task === 'binary' ? { decisionThreshold: document.decisionThreshold } : {}),
      ...(document.approvalRequired ? { approvalRequired: document.approvalRequired } : {}),
    };
  });
}

function refOf(put: { uri: string; sha256: string; bytes: number }): Pick<ArtifactRef, 'uri' | 'sha256' | 'bytes'> {
  return { uri: put.uri, sha256: put.sha256, bytes: put.bytes };
}

/** Reasons travel in the workflow result: a bounded list (the full list is in evaluation.json). */
function boundedReasons(reasons: string[]): string[] {
  if (reasons.length <= MAX_REASONS) return reasons;
  return [
    ...reasons.slice(0, MAX_REASONS - 1),
    `… and ${reasons.length - MAX_REASONS + 1} more (see the evaluation report)`,
  ];
}
