import type { ArtifactStore } from '../store/artifact-store';
import { readAliases } from './aliases';
import { RegistryCorruptError } from './errors';
import { parseRegistryKey, REGISTRY_PREFIX } from './keys';

export interface ModelSummary {
  model: string;
  versions: number;
  latestVersion: number;
  /** alias → version */
  aliases: Record<string, number>;
  /** When the newest version record was written (store time). */
  updatedAt?: Date;
  /** Why the aliases could not be read (a corrupt document): one bad model doesn't hide the others. */
  problem?: string;
}

/** Every model in the registry with its version count and aliases, sorted by name. */
export async function listModels(store: ArtifactStore): Promise<ModelSummary[]> {
  const byModel = new Map<string, { versions: number; latestVersion: number; updatedAt?: Date }>();
  for await (const info of store.list(REGISTRY_PREFIX)) {
    const parsed = parseRegistryKey(info.key);
    if (!parsed) continue;
    const entry = byModel.get(parsed.model) ?? { versions: 0, latestVersion: 0 };
    if (parsed.version !== undefined) {
      entry.versions++;
      if (parsed.version > entry.latestVersion) {
        entry.latestVersion = parsed.version;
        entry.updatedAt = info.lastModified;
      }
    }
    byModel.set(parsed.model, entry);
  }
  const models = [...byModel.entries()]
    .filter(([, e]) => e.versions > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(
    models.map(async ([model, entry]): Promise<ModelSummary> => {
      try {
        const { aliases } = await readAliases(store, model);
        return {
          model,
          ...entry,
          aliases: Object.fromEntries(Object.entries(aliases).map(([alias, state]) => [alias, state.version])),
        };
      } catch (error) {
        if (!(error instanceof RegistryCorruptError)) throw error;
        return { model, ...entry, aliases: {}, problem: error.message };
      }
    }),
  );
}
