import { VersionRecord } from '../../contracts/registry';
import type { ArtifactStore } from '../store/artifact-store';
import { readJson } from './documents';
import { ModelVersionNotFoundError, RegistryCorruptError } from './errors';
import { versionKey, versionOfKey, versionsPrefix } from './keys';
import { checkModelName, checkVersion } from './names';

/** Every registered version number of a model, ascending. */
export async function listVersionNumbers(store: ArtifactStore, model: string): Promise<number[]> {
  checkModelName(model);
  const versions: number[] = [];
  for await (const info of store.list(versionsPrefix(model))) {
    const version = versionOfKey(model, info.key);
    if (version !== undefined) versions.push(version);
  }
  return versions.sort((a, b) => a - b);
}

/** The highest registered version, 0 when there is none. */
export async function latestVersionNumber(store: ArtifactStore, model: string): Promise<number> {
  const versions = await listVersionNumbers(store, model);
  return versions[versions.length - 1] ?? 0;
}

/** A version record, validated; undefined when the version does not exist. */
export async function findVersion(
  store: ArtifactStore,
  model: string,
  version: number,
): Promise<VersionRecord | undefined> {
  checkModelName(model);
  checkVersion(version);
  const record = await readJson(store, versionKey(model, version), VersionRecord);
  if (record && (record.model !== model || record.version !== version)) {
    // A record copied to the wrong key would silently answer for another version.
    throw new RegistryCorruptError(versionKey(model, version), [
      {
        path: 'model/version',
        message: `names ${record.model} version ${record.version}, but is stored as ${model} version ${version}`,
      },
    ]);
  }
  return record;
}

/** Like findVersion, but a missing version is an error that lists the versions that do exist. */
export async function getVersion(store: ArtifactStore, model: string, version: number): Promise<VersionRecord> {
  const record = await findVersion(store, model, version);
  if (record) return record;
  throw new ModelVersionNotFoundError(model, version, await listVersionNumbers(store, model));
}

/** The newest version record; ModelVersionNotFoundError when the model has none. */
export async function getLatestVersion(store: ArtifactStore, model: string): Promise<VersionRecord> {
  const latest = await latestVersionNumber(store, model);
  if (latest === 0) throw new ModelVersionNotFoundError(model, undefined, []);
  return getVersion(store, model, latest);
}
