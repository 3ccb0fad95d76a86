import { formatModelReference, type ModelReference } from '../../contracts/model-reference';
import type { VersionRecord } from '../../contracts/registry';
import { listModels, listVersionNumbers, ModelVersionNotFoundError, readAliases } from '../registry';
import { findVersion } from '../registry/versions';
import type { ArtifactStore } from '../store/artifact-store';
import { ServingModelNotFoundError } from './errors';

/**
 * The version record a reference names: `model@alias` through the registry's aliases, `model:n` as
 * given. Anything that names nothing is a ServingModelNotFoundError saying what does exist (the
 * registered models, the model's aliases, its versions), so the caller can correct the reference.
 */
export async function resolveVersion(store: ArtifactStore, reference: ModelReference): Promise<VersionRecord> {
  const text = formatModelReference(reference);
  const { model } = reference;
  const versions = await listVersionNumbers(store, model);
  if (versions.length === 0) {
    const models = (await listModels(store)).map((m) => m.model);
    throw new ServingModelNotFoundError(
      text,
      `model "${model}" is not registered. ${models.length === 0 ? 'The registry holds no models yet.' : `Registered models: ${listed(models)}.`}`,
    );
  }
  let version: number;
  if ('alias' in reference) {
    const { aliases } = await readAliases(store, model);
    const state = aliases[reference.alias];
    if (!state) {
      const names = Object.entries(aliases)
        .map(([alias, s]) => `${alias} → ${s.version}`)
        .sort();
      throw new ServingModelNotFoundError(
        text,
        `model "${model}" has no alias "${reference.alias}". ${names.length === 0 ? 'It has no aliases.' : `Its aliases: ${listed(names)}.`} ${describeVersions(model, versions)}`,
      );
    }
    version = state.version;
  } else {
    version = reference.version;
  }
  const record = await findVersion(store, model, version);
  if (!record)
    throw new ServingModelNotFoundError(text, new ModelVersionNotFoundError(model, version, versions).message);
  return record;
}

function describeVersions(model: string, versions: number[]): string {
  const first = versions[0] as number;
  const last = versions[versions.length - 1] as number;
  return first === last
    ? `Its only version is ${first} (${model}:${first}).`
    : `Versions ${first} to ${last} exist (e.g. ${model}:${last}).`;
}

function listed(items: string[]): string {
  return items.length <= 20 ? items.join(', ') : `${items.slice(0, 20).join(', ')}, … (${items.length} in all)`;
}
