import type { PipelineInput } from '../../contracts/pipeline-input';
import type { Lineage } from '../../contracts/registry';
import type {
  EvaluateResult,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
  ValidateDataResult,
} from '../../contracts/stage-results';
import type { DatasetFingerprint } from '../../contracts/stages';
import type { CodeVersion } from './code-version';
import { runKeyFor, type VersionDraft } from './register';

/** What a pipeline run hands the registry: every stage's result, by reference. */
export interface RunOutputs {
  input: PipelineInput;
  dataset: DatasetFingerprint;
  validation: ValidateDataResult;
  split: SplitAndSampleResult;
  preprocessor: FitPreprocessorResult;
  trained: TrainResult;
  evaluation: EvaluateResult;
  /** The champion version training started from, when it warm-started. */
  warmStartParent?: number;
}

export interface RunContext {
  workflowId: string;
  runId: string;
  /** ISO-8601: when registration was first requested (stable across retries). */
  createdAt: string;
  code: CodeVersion;
}

/** Builds a version draft from a run's stage outputs. Pure: same outputs, same draft. */
export function draftVersion(outputs: RunOutputs, context: RunContext): VersionDraft {
  const { input, dataset, validation, split, preprocessor, trained, evaluation } = outputs;
  const parentVersion = outputs.warmStartParent ?? trained.warmStart.parentVersion;
  const lineage: Lineage = {
    dataset: {
      uri: dataset.uri,
      sha256: dataset.sha256,
      bytes: dataset.bytes,
      ...(dataset.partitions ? { partitions: dataset.partitions } : {}),
    },
    schema: validation.schema,
    statistics: validation.statistics,
    splitManifest: split.manifest,
    preprocessor: preprocessor.preprocessor,
    training: {
      task: { type: input.task.type, label: input.task.label },
      seed: input.seed,
      params: { ...input.train, ...trained.settings },
      ...(trained.choices?.length ? { choices: trained.choices } : {}),
      sampling: { ...input.sampling },
      preprocess: { ...input.preprocess },
      history: trained.history,
      epochsRun: trained.epochsRun,
      bestEpoch: trained.bestEpoch,
      trainMs: trained.trainMs,
      featureCount: preprocessor.featureCount,
      ...(preprocessor.classes ? { classes: preprocessor.classes } : {}),
    },
    backend: trained.backend,
    evaluation: {
      ref: evaluation.evaluation,
      report: evaluation.report,
      decision: evaluation.decision,
      reasons: evaluation.reasons,
      metrics: evaluation.metrics,
      ...(evaluation.decisionThreshold === undefined ? {} : { decisionThreshold: evaluation.decisionThreshold }),
    },
    code: { version: context.code.version, ...(context.code.gitSha ? { gitSha: context.code.gitSha } : {}) },
    run: { workflowId: context.workflowId, runId: context.runId },
    warmStart: {
      used: trained.warmStart.used,
      ...(parentVersion === undefined ? {} : { parentVersion }),
      reason: trained.warmStart.reason,
    },
  };
  return {
    model: input.model,
    runKey: runKeyFor(context.workflowId, trained.model.sha256),
    createdAt: context.createdAt,
    modelRef: trained.model,
    lineage,
  };
}
