import type { ArtifactRef } from './artifacts';
import type { FailureSummary } from './errors';

/** The pipeline's stages, in order. */
export const STAGES = [
  'validateInput',
  'fingerprintDataset',
  'validateData',
  'splitAndSample',
  'fitPreprocessor',
  'train',
  'evaluate',
  'register',
  'approve',
  'promote',
] as const;
export type StageName = (typeof STAGES)[number];

export type StageState = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface StageStatus {
  name: StageName;
  state: StageState;
  startedAt?: string;
  durationMs?: number;
  artifacts: ArtifactRef[];
  /** Why a stage was skipped or what it decided, in words. */
  note?: string;
  error?: FailureSummary;
  /** How Temporal retries this stage's activity on its own. */
  retry?: StageRetryPolicy;
  /** Whether the re-run cache served this stage. */
  cache?: CacheOutcome;
}

/** A span as Temporal's activity options take it and `status` shows it: "1 second", "6 hours". */
export type TimeSpan = `${number} ${'second' | 'seconds' | 'minute' | 'minutes' | 'hour' | 'hours'}`;

export interface StageRetryPolicy {
  maximumAttempts: number;
  initialInterval: TimeSpan;
  backoffCoefficient: number;
  maximumInterval: TimeSpan;
  startToCloseTimeout: TimeSpan;
  heartbeatTimeout?: TimeSpan;
  /** Failure types never retried automatically (they wait for an operator instead). */
  nonRetryableTypes: readonly string[];
}

/** A cacheable stage's result says whether it came from the re-run cache. */
export interface CacheOutcome {
  /** Content address of the stage's inputs: stage, input artifact hashes, stage config, code version. */
  key: string;
  hit: boolean;
  /** The run that computed the cached result. */
  fromWorkflowId?: string;
  /** Why the cache was not consulted ("disabled", "rerun requested"). */
  bypassed?: string;
}

export interface DatasetFingerprint {
  uri: string;
  sha256: string;
  bytes: number;
  /**
   * For a partitioned dataset read with partitions "latest" or { window }: the partitions chosen
   * (folder names relative to `uri`, e.g. "date=2026-11-20"), oldest first. Absent: every file under `uri`.
   */
  partitions?: string[];
}
