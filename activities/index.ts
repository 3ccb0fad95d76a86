import { checkDriftActivity } from './check-drift';
import type { ActivityDeps } from './deps';
import { evaluateActivity, refreshReportLink } from './evaluate';
import { fingerprintDatasetActivity } from './fingerprint-dataset';
import { fitPreprocessorActivity } from './fit-preprocessor';
import { getChampionActivity, promoteActivity, registerModelActivity } from './registry';
import { splitAndSampleActivity } from './split-and-sample';
import { withStageCache } from './stage-cache';
import { trainActivity } from './train';
import { validateDataActivity } from './validate-data';

export type { ActivityDeps } from './deps';

/** Every activity the worker registers, bound to its resources; the pure stages behind the re-run cache. */
export function createActivities(deps: ActivityDeps) {
  return {
    fingerprintDataset: fingerprintDatasetActivity(deps),
    checkDrift: checkDriftActivity(deps),
    validateData: withStageCache(deps, 'validateData', validateDataActivity(deps)),
    splitAndSample: withStageCache(deps, 'splitAndSample', splitAndSampleActivity(deps)),
    fitPreprocessor: withStageCache(deps, 'fitPreprocessor', fitPreprocessorActivity(deps)),
    getChampion: getChampionActivity(deps),
    registerModel: registerModelActivity(deps),
    promote: promoteActivity(deps),
    train: withStageCache(deps, 'train', trainActivity(deps)),
    evaluate: withStageCache(deps, 'evaluate', evaluateActivity(deps), { onHit: refreshReportLink(deps) }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
