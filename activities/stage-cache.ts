import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { PipelineInput } from '../contracts/pipeline-input';
import type { CacheOutcome } from '../contracts/stages';
import type { CacheableStage } from '../contracts/stage-config';
import { artifactRefsIn, configFileUris, stageCacheKey } from '../lib/cache/stage-cache-key';
import { codeVersion } from '../lib/registry';
import type { ArtifactStore } from '../lib/store/artifact-store';
import { readObjectIfExists } from '../lib/store/read-object';
import type { StoreDeps } from './deps';
import { workflowIdOf } from './stage-run';

const CacheEntry = z.object({
  stage: z.string(),
  key: z.string(),
  workflowId: z.string(),
  createdAt: z.string(),
  result: z.record(z.string(), z.unknown()),
});

export type Cached<R> = R & { cache: CacheOutcome };

export interface StageCacheHooks<R> {
  /** Freshens a result served from the cache (re-signs links that have expired since, say). */
  onHit?: (result: R) => Promise<R>;
}

/**
 * The re-run cache, content-addressed: a stage whose key (its input artifact hashes, stage config, model
 * and code version — lib/cache/stage-cache-key.ts) matches an earlier run returns that run's result,
 * after checking that every artifact it names is still in the store with the same size. The entry is
 * written after the stage's outputs, so a reader never finds an entry whose artifacts are half-written.
 */
export function withStageCache<A extends { input: PipelineInput }, R extends object>(
  { store, logger }: StoreDeps,
  stage: CacheableStage,
  run: (args: A) => Promise<R>,
  hooks: StageCacheHooks<R> = {},
): (args: A) => Promise<Cached<R>> {
  return async (args: A): Promise<Cached<R>> => {
    const code = await codeVersion();
    const key = stageCacheKey(
      stage,
      args,
      `${code.version}+${code.gitSha ?? 'unknown'}`,
      await fileVersions(store, configFileUris(stage, args.input)),
    );
    const entryKey = `cache/${args.input.model}/${stage}/${key}.json`;
    const bypassed = !args.input.cache.enabled
      ? 'disabled'
      : args.input.cache.rerun.includes(stage)
        ? 'rerun requested'
        : undefined;
    if (!bypassed) {
      const entry = await readEntry(store, entryKey);
      if (entry && (await artifactsIntact(store, entry.result))) {
        logger.info({ stage, key, fromWorkflowId: entry.workflowId }, 'stage served from the re-run cache');
        const cached = entry.result as R;
        const result = hooks.onHit ? await hooks.onHit(cached) : cached;
        return { ...result, cache: { key, hit: true, fromWorkflowId: entry.workflowId } };
      }
    }
    const result = await run(args);
    const workflowId = workflowIdOf(Context.current().info);
    const entry = { stage, key, workflowId, createdAt: new Date().toISOString(), result };
    await store.put(entryKey, JSON.stringify(entry), { contentType: 'application/json' });
    return { ...result, cache: { key, hit: false, ...(bypassed ? { bypassed } : {}) } };
  };
}

/** Each file's current etag; null when it is missing or not in this store (the stage itself reports that). */
async function fileVersions(store: ArtifactStore, uris: string[]): Promise<Record<string, string | null>> {
  const versions = await Promise.all(
    uris.map(async (uri) => {
      try {
        return (await store.stat(store.keyFor(uri)))?.etag ?? null;
      } catch {
        return null;
      }
    }),
  );
  return Object.fromEntries(uris.map((uri, i) => [uri, versions[i] ?? null]));
}

async function readEntry(store: ArtifactStore, key: string): Promise<z.output<typeof CacheEntry> | undefined> {
  const bytes = await readObjectIfExists(store, key);
  if (!bytes) return undefined;
  try {
    const parsed = CacheEntry.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // an unreadable entry is a miss; the stage runs and rewrites it
  }
}

async function artifactsIntact(store: ArtifactStore, result: unknown): Promise<boolean> {
  const refs = artifactRefsIn(result);
  const sizes = await Promise.all(refs.map(async (ref) => (await store.stat(store.keyFor(ref.uri)))?.bytes));
  return refs.every((ref, i) => sizes[i] === ref.bytes);
}
