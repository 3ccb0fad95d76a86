import { Context } from '@temporalio/activity';
import type { ArtifactRef } from '../contracts/artifacts';
import { parsePipelineInputOrFail } from '../contracts/pipeline-input-failure';
import type { EvaluateResult } from '../contracts/stage-results';
import { evaluateModel, type EvaluateArgs, type EvaluationProgress } from '../lib/evaluation/evaluate-model';
import { headlineIntervals, headlineMetrics, serializeEvaluation } from '../lib/evaluation/evaluation-document';
import { stageKey } from '../lib/run-keys';
import type { ArtifactStore } from '../lib/store/artifact-store';
import type { ActivityDeps } from './deps';

/** The longest a presigned S3 link may live (SigV4): the report link in the memo works for a week. */
const REPORT_LINK_SECONDS = 7 * 24 * 60 * 60;
const MAX_REASONS = 20;
const HEARTBEAT_EVERY_MS = 5_000;

/** The report's presigned link, for the result and memo; also re-signed when the re-run cache serves the stage. */
export function signReportLink(store: ArtifactStore, report: ArtifactRef): Promise<string> {
  return store.presignedGetUrl(store.keyFor(report.uri), REPORT_LINK_SECONDS);
}

/**
 * The gate: scores the trained model on the test split against the zero-rule, a stratified random
 * baseline and the champion, applies `input.evaluate`'s rules, and writes `report.html` then
 * `evaluation.json` (last, so a reader that finds it finds both). A rejected model is a result, not a
 * failure. Re-running overwrites the same keys with the same content (up to createdAt and timings).
 */
export function evaluateActivity({ store }: ActivityDeps) {
  return async function evaluate(args: EvaluateArgs): Promise<EvaluateResult> {
    const ctx = Context.current();
    const input = parsePipelineInputOrFail(args.input);
    const workflowId = ctx.info.workflowExecution?.workflowId;
    if (!workflowId)
      throw new Error('evaluate must run as part of a workflow: its outputs are keyed by the workflow id');
    // A beat on every step, and between steps on a timer: reading a large split or loading a model is one long step.
    let progress: EvaluationProgress = { step: 'starting' };
    const timer = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
    const { document, html } = await evaluateModel(
      {
        store,
        workflowId,
        heartbeat: (next) => {
          progress = next;
          ctx.heartbeat(next);
        },
        signal: ctx.cancellationSignal,
      },
      { ...args, input },
    ).finally(() => clearInterval(timer));
    const key = (file: string) => stageKey(input.model, workflowId, 'evaluate', file);
    const reportPut = await store.put(key('report.html'), html, { contentType: 'text/html; charset=utf-8' });
    const metadata = { decision: document.decision, task: document.task, testRows: document.testRows };
    const report: ArtifactRef = {
      kind: 'report',
      uri: reportPut.uri,
      sha256: reportPut.sha256,
      bytes: reportPut.bytes,
      metadata,
    };
    const evaluationPut = await store.put(key('evaluation.json'), serializeEvaluation(document), {
      contentType: 'application/json',
    });
    const evaluation: ArtifactRef = {
      kind: 'evaluation',
      uri: evaluationPut.uri,
      sha256: evaluationPut.sha256,
      bytes: evaluationPut.bytes,
      metadata,
    };
    const reportUrl = await signReportLink(store, report);
    ctx.log.info('model evaluated', {
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
  };
}

/** Reasons travel in the workflow result: a bounded list (the full list is in evaluation.json). */
function boundedReasons(reasons: string[]): string[] {
  if (reasons.length <= MAX_REASONS) return reasons;
  return [
    ...reasons.slice(0, MAX_REASONS - 1),
    `… and ${reasons.length - MAX_REASONS + 1} more (see the evaluation report)`,
  ];
}
