import { AliasesDoc, type AliasEvent } from '../../contracts/registry';
import type { ArtifactStore } from '../store/artifact-store';
import { isConflict, readDoc, retryOnConflict, RETRY, writeDoc, type StoredDoc } from './documents';
import { NothingToRollBackError, RegistryCorruptError } from './errors';
import { aliasesKey } from './keys';
import { checkAlias, checkModelName, checkVersion } from './names';
import { getVersion } from './versions';

export const CHAMPION = 'champion';

export interface AliasMoveRequest {
  model: string;
  alias: string;
  by: string;
  reason: string;
  /** When the move happened, ISO-8601; activities pass Temporal's time, the CLI the clock. */
  at: string;
  /** Callers that may retry (activities) pass a stable id; a repeat returns the recorded move. */
  requestId?: string;
}

export interface AliasMove {
  model: string;
  alias: string;
  version: number;
  previousVersion?: number;
  /** The history entry this move wrote (or, for a repeat or a no-op, the one that made the alias what it is). */
  event?: AliasEvent;
  /** False when the alias already pointed at the version, or the request had already been applied. */
  moved: boolean;
}

/** The aliases document, or an empty one for a model that was never promoted. */
export async function readAliases(store: ArtifactStore, model: string): Promise<AliasesDoc> {
  return (await readAliasesDoc(store, model))?.value ?? emptyAliases(model);
}

async function readAliasesDoc(store: ArtifactStore, model: string): Promise<StoredDoc<AliasesDoc> | undefined> {
  checkModelName(model);
  const key = aliasesKey(model);
  const stored = await readDoc(store, key, AliasesDoc);
  if (stored && stored.value.model !== model) {
    throw new RegistryCorruptError(key, [
      { path: 'model', message: `names model "${stored.value.model}", but is stored under "${model}"` },
    ]);
  }
  return stored;
}

/** The version an alias points at, or undefined. */
export async function resolveAlias(
  store: ArtifactStore,
  model: string,
  alias: string = CHAMPION,
): Promise<number | undefined> {
  checkAlias(alias);
  return (await readAliases(store, model)).aliases[alias]?.version;
}

/** Points `alias` at `version` (which must exist). Promoting to where the alias already points is a no-op. */
export async function promoteAlias(
  store: ArtifactStore,
  request: AliasMoveRequest & { version: number },
): Promise<AliasMove> {
  const { model, alias, version } = request;
  checkAlias(alias);
  checkVersion(version);
  await getVersion(store, model, version); // ModelVersionNotFoundError names the versions that exist
  return moveAlias(store, request, 'promote', (doc) => {
    const current = doc.aliases[alias]?.version;
    if (current !== version) return version;
    // Already there: answer as the move that put it there did, so a repeated promote returns the same result.
    return { noop: lastMoveTo(doc.history, alias, version) };
  });
}

/** Moves `alias` back to the version it pointed at before its latest promotion still in effect. */
export async function rollbackAlias(store: ArtifactStore, request: AliasMoveRequest): Promise<AliasMove> {
  const { model, alias } = request;
  checkAlias(alias);
  return moveAlias(store, request, 'rollback', (doc) => {
    if (!doc.aliases[alias]) throw new NothingToRollBackError(model, alias, 'the alias is not set.');
    const target = rollbackTarget(doc.history, alias);
    if (target === undefined) {
      throw new NothingToRollBackError(
        model,
        alias,
        'it has no earlier version in its history (it was first set by the promotion now in effect).',
      );
    }
    return target;
  });
}

/** One alias's moves, oldest first; every alias's when `alias` is undefined. */
export async function aliasHistory(store: ArtifactStore, model: string, alias?: string): Promise<AliasEvent[]> {
  if (alias !== undefined) checkAlias(alias);
  const { history } = await readAliases(store, model);
  return alias === undefined ? history : history.filter((e) => e.alias === alias);
}

/**
 * Where a rollback of `alias` goes. Promotions push the version they replaced, rollbacks pop it, so
 * v1 → v2 → v3, rollback, rollback lands on v1 (not back on v3). Undefined when there is nothing to pop,
 * or the promotion in effect created the alias.
 */
export function rollbackTarget(history: readonly AliasEvent[], alias: string): number | undefined {
  const replaced: Array<number | undefined> = [];
  for (const event of history) {
    if (event.alias !== alias) continue;
    if (event.action === 'promote') replaced.push(event.from);
    else replaced.pop();
  }
  return replaced[replaced.length - 1];
}

type MoveDecision = number | { noop: AliasEvent | undefined };

/**
 * The compare-and-swap loop every alias move goes through: read the document, decide the target from
 * what it says now, append one history entry, write with If-Match (If-None-Match for the first move).
 * A lost race re-reads and decides again, so no move is lost and none is applied twice.
 */
async function moveAlias(
  store: ArtifactStore,
  request: AliasMoveRequest,
  action: AliasEvent['action'],
  decide: (doc: AliasesDoc) => MoveDecision,
): Promise<AliasMove> {
  const { model, alias, by, reason, at, requestId } = request;
  const key = aliasesKey(checkModelName(model));
  return retryOnConflict(key, async () => {
    const stored = await readAliasesDoc(store, model);
    const doc = stored?.value ?? emptyAliases(model);
    const repeated = requestId === undefined ? undefined : doc.history.find((e) => e.requestId === requestId);
    if (repeated) return resultOf(model, repeated, false);

    const decision = decide(doc);
    if (typeof decision !== 'number') {
      const version = doc.aliases[alias]?.version as number;
      return decision.noop ? resultOf(model, decision.noop, false) : { model, alias, version, moved: false };
    }
    const event: AliasEvent = {
      seq: doc.history.length + 1,
      alias,
      action,
      ...(doc.aliases[alias] ? { from: doc.aliases[alias].version } : {}),
      to: decision,
      by,
      reason,
      at,
      ...(requestId === undefined ? {} : { requestId }),
    };
    const next: AliasesDoc = {
      ...doc,
      aliases: { ...doc.aliases, [alias]: { version: decision, since: at, seq: event.seq } },
      history: [...doc.history, event],
    };
    try {
      await writeDoc(store, key, AliasesDoc, next, stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' });
    } catch (error) {
      if (isConflict(error)) return RETRY;
      throw error;
    }
    return resultOf(model, event, true);
  });
}

function resultOf(model: string, event: AliasEvent, moved: boolean): AliasMove {
  return {
    model,
    alias: event.alias,
    version: event.to,
    ...(event.from === undefined ? {} : { previousVersion: event.from }),
    event,
    moved,
  };
}

function lastMoveTo(history: readonly AliasEvent[], alias: string, version: number): AliasEvent | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const event = history[i] as AliasEvent;
    if (event.alias === alias) return event.to === version ? event : undefined;
  }
  return undefined;
}

function emptyAliases(model: string): AliasesDoc {
  return { format: 'trainyard.registry.aliases/v1', model, aliases: {}, history: [] };
}
