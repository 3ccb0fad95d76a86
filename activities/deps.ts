import type { StoreSettings } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { ArtifactStore } from '../lib/store/artifact-store';

/** Resources injected into every activity (Dagster-style), never imported or read from the environment by them. */
export interface ActivityDeps {
  store: ArtifactStore;
  /** What `store` was built from: the training thread opens its own store with them. */
  storeSettings: StoreSettings;
  logger: Logger;
}

/** What most activities use: the store and the logger. */
export type StoreDeps = Pick<ActivityDeps, 'store' | 'logger'>;
