import { z } from 'zod';
import { ModelName } from './pipeline-input';
import { AliasName, VersionNumber } from './registry';

/**
 * Which registered version to use: `<model>@<alias>` (resolved through the registry, e.g.
 * `penguins@champion`) or `<model>:<version>` (a fixed version, e.g. `penguins:3`).
 */
export type ModelReference = { model: string; alias: string } | { model: string; version: number };

const REFERENCE_HINT = 'expected <model>@<alias> (e.g. penguins@champion) or <model>:<version> (e.g. penguins:3)';

export const ModelReferenceText = z.string().transform((text, ctx): ModelReference => {
  const match = /^([^@:]*)([@:])(.*)$/.exec(text.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `${REFERENCE_HINT}, got "${text.slice(0, 200)}"` });
    return z.NEVER;
  }
  const [, model = '', separator, rest = ''] = match;
  const name = ModelName.safeParse(model);
  if (!name.success) ctx.addIssue({ code: 'custom', message: name.error.issues[0]?.message ?? REFERENCE_HINT });
  if (separator === '@') {
    const alias = AliasName.safeParse(rest);
    if (!alias.success) ctx.addIssue({ code: 'custom', message: alias.error.issues[0]?.message ?? REFERENCE_HINT });
    return name.success && alias.success ? { model: name.data, alias: alias.data } : z.NEVER;
  }
  const version = /^[0-9]{1,10}$/.test(rest) ? VersionNumber.safeParse(Number(rest)) : undefined;
  if (!version?.success)
    ctx.addIssue({ code: 'custom', message: `version must be a whole number from 1, got "${rest.slice(0, 40)}"` });
  return name.success && version?.success ? { model: name.data, version: version.data } : z.NEVER;
});

/** `penguins@champion` / `penguins:3`: how references are written back (logs, responses). */
export function formatModelReference(reference: ModelReference): string {
  return 'alias' in reference ? `${reference.model}@${reference.alias}` : `${reference.model}:${reference.version}`;
}
