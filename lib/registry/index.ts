export {
  aliasHistory,
  CHAMPION,
  promoteAlias,
  readAliases,
  resolveAlias,
  rollbackAlias,
  rollbackTarget,
  type AliasMove,
  type AliasMoveRequest,
} from './aliases';
export { resolveChampion } from './champion';
export { codeVersion, type CodeVersion } from './code-version';
export {
  ModelVersionNotFoundError,
  NothingToRollBackError,
  RegistryContentionError,
  RegistryCorruptError,
  RegistryInputError,
} from './errors';
export { draftVersion, type RunContext, type RunOutputs } from './lineage';
export { listModels, type ModelSummary } from './models';
export {
  findRegisteredVersion,
  registerVersion,
  runKeyFor,
  type RegisteredVersion,
  type VersionDraft,
} from './register';
export { findVersion, getLatestVersion, getVersion, latestVersionNumber, listVersionNumbers } from './versions';
