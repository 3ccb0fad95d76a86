import type { ArtifactRef } from './artifacts';

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
  error?: { type: string; message: string };
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
