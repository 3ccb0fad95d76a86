import type { z } from 'zod';
import { describeZodIssues } from '../../contracts/errors';
import { ModelName } from '../../contracts/pipeline-input';
import { AliasName, VersionNumber } from '../../contracts/registry';
import { RegistryInputError } from './errors';

/** Model names, aliases and versions become store keys: check them before they get near one. */
export function checkModelName(model: string): string {
  return check(ModelName, model, 'model');
}

export function checkAlias(alias: string): string {
  return check(AliasName, alias, 'alias');
}

export function checkVersion(version: number): number {
  return check(VersionNumber, version, 'version');
}

function check<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new RegistryInputError(describeZodIssues(parsed.error).map((p) => ({ ...p, path: field })));
}
