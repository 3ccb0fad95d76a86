import type { ChampionRefs, PromoteResult, RegisterModelResult } from '../contracts/stage-results';
import {
  codeVersion,
  draftVersion,
  promoteAlias,
  registerVersion,
  resolveChampion,
  type RunOutputs,
} from '../lib/registry';
import type { StoreDeps } from './deps';
import { stageActivity, type StageSpec } from './stage-run';

export type RegisterModelArgs = RunOutputs;

export interface PromoteArgs {
  model: string;
  version: number;
  alias: string;
  by: string;
  reason: string;
}

/** The current champion's artifacts (or another alias's), null when the alias is not set. */
export function getChampionActivity({ store }: StoreDeps) {
  const stage: StageSpec<{ model: string; alias?: string }> = { name: 'getChampion' };
  return stageActivity(
    stage,
    async ({ model, alias }): Promise<ChampionRefs | null> => (await resolveChampion(store, model, alias)) ?? null,
  );
}

/**
 * Registers the run's model as the next version with its full lineage. A retried attempt of the same
 * run returns the version the first attempt took (`existed: true`), never a second one.
 */
export function registerModelActivity({ store }: StoreDeps) {
  const code = codeVersion(); // resolved once, when the worker builds its activities
  const stage: StageSpec<RegisterModelArgs> = { name: 'registerModel' };
  return stageActivity(stage, async (outputs, run): Promise<RegisterModelResult> => {
    const draft = draftVersion(outputs, {
      workflowId: run.workflowId,
      runId: run.runId,
      // When the registration was first requested: the same on every retry, so the record doesn't depend on which attempt wrote it.
      createdAt: new Date(run.info.scheduledTimestampMs).toISOString(),
      code: await code,
    });
    const { record, uri, existed } = await registerVersion(store, draft);
    run.log.info(existed ? 'model version already registered by this run' : 'model version registered', {
      model: record.model,
      version: record.version,
      uri,
    });
    return { model: record.model, version: record.version, uri, existed };
  });
}

/** Moves an alias (champion by default) to a version; a repeat of the same request is a no-op with the same result. */
export function promoteActivity({ store }: StoreDeps) {
  const stage: StageSpec<PromoteArgs> = { name: 'promote' };
  return stageActivity(stage, async (request, run): Promise<PromoteResult> => {
    const move = await promoteAlias(store, {
      ...request,
      at: new Date(run.info.scheduledTimestampMs).toISOString(),
      // Stable across this activity's retries: a retry after a lost response returns the recorded move
      // instead of moving the alias again (someone may have moved it since).
      requestId: `${run.workflowId}/${run.runId}/${run.info.activityId}`,
    });
    run.log.info(move.moved ? 'alias moved' : 'alias already in place', {
      model: move.model,
      alias: move.alias,
      version: move.version,
      previousVersion: move.previousVersion,
    });
    return {
      model: move.model,
      alias: move.alias,
      version: move.version,
      ...(move.previousVersion === undefined ? {} : { previousVersion: move.previousVersion }),
    };
  });
}
