import { z } from 'zod';
import { checkGateMetricNames, ModelName, parseWith, PipelineInputFields, type ParseResult } from './pipeline-input';
import { AliasName } from './registry';
import { DriftAlpha, Duration, PartitionSelection } from './stage-config';

const Fraction = z.number().min(0).max(1);

/**
 * The training configuration a drift-triggered run uses: the pipeline input without `model` and
 * `dataset`, which the monitor fills in (its model, and the batch that drifted). `task` is required.
 */
export const RetrainPipelineConfig = PipelineInputFields.omit({ model: true, dataset: true }).superRefine(
  checkGateMetricNames,
);

/**
 * The `driftMonitor` workflow's input: small JSON, like the pipeline's. Only `model`, `dataset.uri` and
 * `pipeline.task` are required. The monitor compares the newest batch under `dataset.uri` with the
 * training statistics of the model's `alias` version with the same test as the pipeline's validation
 * (a chi-square test per column, Holm-corrected, with PSI / Jensen–Shannon floors) and, by default, the
 * same settings (`pipeline.validation.drift`).
 */
export const DriftMonitorInput = z
  .object({
    model: ModelName,
    /** The pipeline's dataset section, except that the newest partition is the batch by default; a single-object URI is read whole. */
    dataset: PipelineInputFields.shape.dataset.extend({ partitions: PartitionSelection.default('latest') }),
    /** The version whose training statistics are the reference. */
    alias: AliasName.default('champion'),
    /** Effect-size floors and the false-alarm rate; each defaults to pipeline.validation.drift's (psiThreshold, jensenShannonThreshold, alpha). */
    thresholds: z
      .object({
        psi: z.number().positive().optional(),
        jensenShannon: Fraction.optional(),
        alpha: DriftAlpha.optional(),
      })
      .strict()
      .prefault({}),
    /** The batch counts as drifted when at least `minDriftedColumns` columns, and at least `minDriftedShare` of the compared columns, drifted. */
    trigger: z
      .object({
        minDriftedColumns: z.number().int().min(1).default(1),
        minDriftedShare: Fraction.default(0),
      })
      .strict()
      .prefault({}),
    /** With no version at `alias` yet there is nothing to compare: start a first training run on the batch (true) or only record it. */
    trainWithoutChampion: z.boolean().default(true),
    /**
     * Check repeatedly, sleeping this long between checks (a long-lived monitor). Absent: check once and
     * finish — the mode for a monitor started by a Temporal Schedule.
     */
    every: Duration.optional(),
    /** A long-lived monitor continues as new after this many checks (or sooner, when Temporal suggests it). */
    checksPerRun: z.number().int().min(1).max(10_000).default(100),
    /** The training configuration of the runs the monitor starts. */
    pipeline: RetrainPipelineConfig,
  })
  .strict();

export type DriftMonitorInput = z.output<typeof DriftMonitorInput>;
/** What a caller may send: defaults not yet applied. */
export type DriftMonitorInputDraft = z.input<typeof DriftMonitorInput>;

export function parseDriftMonitorInput(raw: unknown): ParseResult<DriftMonitorInput> {
  return parseWith(DriftMonitorInput, raw);
}

/** The settings a check applies: the monitor's own thresholds, else the pipeline's validation drift settings. */
export function resolveDriftThresholds(input: DriftMonitorInput): {
  psiThreshold: number;
  jensenShannonThreshold: number;
  alpha: number;
  minRows: number;
} {
  const drift = input.pipeline.validation.drift;
  return {
    psiThreshold: input.thresholds.psi ?? drift.psiThreshold,
    jensenShannonThreshold: input.thresholds.jensenShannon ?? drift.jensenShannonThreshold,
    alpha: input.thresholds.alpha ?? drift.alpha,
    minRows: drift.minRows,
  };
}

export function driftMonitorInputJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(DriftMonitorInput, { io: 'input' }) as Record<string, unknown>;
}
