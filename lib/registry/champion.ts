import type { ChampionRefs } from '../../contracts/stage-results';
import type { ArtifactStore } from '../store/artifact-store';
import { CHAMPION, resolveAlias } from './aliases';
import { getVersion } from './versions';

/**
 * The artifacts of the version an alias points at (the champion by default), as stages need them to
 * warm-start, validate against its schema, and compare metrics. Undefined when the alias is not set.
 */
export async function resolveChampion(
  store: ArtifactStore,
  model: string,
  alias: string = CHAMPION,
): Promise<ChampionRefs | undefined> {
  const version = await resolveAlias(store, model, alias);
  if (version === undefined) return undefined;
  const record = await getVersion(store, model, version);
  const { lineage } = record;
  return {
    model,
    version,
    modelRef: record.modelRef,
    schema: lineage.schema,
    statistics: lineage.statistics,
    preprocessor: lineage.preprocessor,
    evaluation: lineage.evaluation.ref,
    metrics: lineage.evaluation.metrics,
    ...(lineage.evaluation.decisionThreshold === undefined
      ? {}
      : { decisionThreshold: lineage.evaluation.decisionThreshold }),
  };
}
