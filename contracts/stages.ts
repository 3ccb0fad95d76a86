import type { ArtifactRef } from './artifacts';

/** Names of the pipeline's stages, in order. The stage issues grow this list. */
export const STAGES = ['validateInput', 'fingerprintDataset'] as const;
export type StageName = (typeof STAGES)[number];

export type StageState = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface StageStatus {
  name: StageName;
  state: StageState;
  attempt: number;
  startedAt?: string;
  durationMs?: number;
  artifacts: ArtifactRef[];
  error?: { type: string; message: string };
}

export interface DatasetFingerprint {
  uri: string;
  sha256: string;
  bytes: number;
}
