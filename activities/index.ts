import type { ActivityDeps } from './deps';
import { fingerprintDatasetActivity } from './fingerprint-dataset';

export type { ActivityDeps } from './deps';

/** Every activity the worker registers, bound to its resources. */
export function createActivities(deps: ActivityDeps) {
  return {
    fingerprintDataset: fingerprintDatasetActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
