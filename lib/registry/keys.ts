/**
 * Where the registry keeps one model's documents in the artifact store:
 *
 *   registry/<model>/versions/<n>.json   immutable version records (created with If-None-Match: *)
 *   registry/<model>/runs/<runKey>.json  which version a run proposes to take (see register.ts)
 *   registry/<model>/aliases.json        alias → version, plus the history of every move (If-Match CAS)
 */
export const REGISTRY_PREFIX = 'registry/';

export function modelPrefix(model: string): string {
  return `${REGISTRY_PREFIX}${model}/`;
}

export function versionsPrefix(model: string): string {
  return `${modelPrefix(model)}versions/`;
}

export function versionKey(model: string, version: number): string {
  return `${versionsPrefix(model)}${version}.json`;
}

export function runIndexKey(model: string, runKey: string): string {
  return `${modelPrefix(model)}runs/${runKey}.json`;
}

export function aliasesKey(model: string): string {
  return `${modelPrefix(model)}aliases.json`;
}

const VERSION_FILE = /^([1-9][0-9]{0,9})\.json$/;

/** The version number a key under versionsPrefix names, or undefined for anything else. */
export function versionOfKey(model: string, key: string): number | undefined {
  const prefix = versionsPrefix(model);
  if (!key.startsWith(prefix)) return undefined;
  const match = VERSION_FILE.exec(key.slice(prefix.length));
  return match ? Number(match[1]) : undefined;
}

/** The model a registry key belongs to, and whether it is a version record. */
export function parseRegistryKey(key: string): { model: string; version?: number } | undefined {
  if (!key.startsWith(REGISTRY_PREFIX)) return undefined;
  const [model, ...rest] = key.slice(REGISTRY_PREFIX.length).split('/');
  if (!model || rest.length === 0) return undefined;
  return { model, version: versionOfKey(model, key) };
}
