import { checkDriftActivity } from './check-drift';
import type { ActivityDeps } from './deps';
import { evaluateActivity } from './evaluate';
import { fingerprintDatasetActivity } from './fingerprint-dataset';
import { fitPreprocessorActivity } from './fit-preprocessor';
import { getChampionActivity, promoteActivity, registerModelActivity } from './registry';
import { splitAndSampleActivity } from './split-and-sample';
import { trainActivity } from './train';
import { validateDataActivity } from './validate-data';

export type { ActivityDeps } from './deps';

/** Every activity the worker registers, bound to its resources. */
export function createActivities(deps: ActivityDeps) {
  return {
    fingerprintDataset: fingerprintDatasetActivity(deps),
    checkDrift: checkDriftActivity(deps),
    validateData: validateDataActivity(deps),
    splitAndSample: splitAndSampleActivity(deps),
    fitPreprocessor: fitPreprocessorActivity(deps),
    getChampion: getChampionActivity(deps),
    registerModel: registerModelActivity(deps),
    promote: promoteActivity(deps),
    train: trainActivity(deps),
    evaluate: evaluateActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
