import type { Logger } from '../lib/logger';
import type { ArtifactStore } from '../lib/store/artifact-store';

/** Resources injected into every activity (Dagster-style), never imported by them. */
export interface ActivityDeps {
  store: ArtifactStore;
  logger: Logger;
}
