import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../lib/config';
import {
  aliasHistory,
  listVersionNumbers,
  NothingToRollBackError,
  promoteAlias,
  readAliases,
  registerVersion,
  rollbackAlias,
  rollbackTarget,
  type AliasMove,
  type VersionDraft,
} from '../../lib/registry';
import { modelPrefix } from '../../lib/registry/keys';
import { claimVersion, recordStartingVersion } from '../../lib/registry/register';
import { getVersion } from '../../lib/registry/versions';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { fakeDraft, uniqueModelName } from '../support/registry-fixtures';

const WRITERS = 12;
const AT = '2025-03-04T05:06:07.000Z';
const repoRoot = path.resolve(import.meta.dirname, '..', '..');

interface Backend {
  name: string;
  open(): Promise<{ store: ArtifactStore; env: NodeJS.ProcessEnv; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'MinIO',
    async open() {
      const config = loadConfig();
      if (config.store.kind !== 's3')
        throw new Error('Integration tests run against the real MinIO: set S3_ENDPOINT and TRAINYARD_STORE=s3.');
      const store = createArtifactStore(config.store);
      await store.ensureReady();
      return { store, env: process.env, close: async () => {} };
    },
  },
  {
    name: 'filesystem store',
    async open() {
      const root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-registry-conc-'));
      const store = new FsArtifactStore(root);
      await store.ensureReady();
      return {
        store,
        env: { ...process.env, TRAINYARD_STORE: 'fs', TRAINYARD_FS_ROOT: root },
        close: () => rm(root, { recursive: true, force: true }),
      };
    },
  },
];

for (const backend of backends) {
  describe(`registry under concurrent writers: ${backend.name}`, () => {
    let store: ArtifactStore;
    let env: NodeJS.ProcessEnv;
    let close: () => Promise<void>;
    const models: string[] = [];
    const newModel = (label: string) => {
      const model = uniqueModelName(label);
      models.push(model);
      return model;
    };

    before(async () => {
      ({ store, env, close } = await backend.open());
    });
    after(async () => {
      if (store)
        for (const model of models)
          for await (const info of store.list(modelPrefix(model))) await store.delete(info.key);
      await close?.();
    });

    async function assertGaplessAndOwned(
      model: string,
      drafts: VersionDraft[],
      versionOf: Map<string, number>,
    ): Promise<void> {
      assert.deepEqual(await listVersionNumbers(store, model), range(1, drafts.length), 'versions 1..N, no gap');
      assert.equal(new Set(versionOf.values()).size, drafts.length, 'no version shared by two runs');
      for (const draft of drafts) {
        const version = versionOf.get(draft.runKey) as number;
        assert.equal(
          (await getVersion(store, model, version)).runKey,
          draft.runKey,
          `version ${version} belongs to the run that was told it got it`,
        );
      }
    }

    it(`${WRITERS} concurrent registrations of one model get versions 1..${WRITERS}, each exactly once`, async () => {
      const model = newModel('conc-reg');
      const drafts = Array.from({ length: WRITERS }, () => fakeDraft(model));
      const results = await Promise.all(drafts.map((d) => registerVersion(store, d)));
      assert.ok(results.every((r) => !r.existed));
      const versionOf = new Map(results.map((r) => [r.record.runKey, r.record.version]));
      await assertGaplessAndOwned(model, drafts, versionOf);

      // Every run retried at once, twice over (twin attempts racing): the same versions, existed: true.
      const retries = await Promise.all([...drafts, ...drafts].map((d) => registerVersion(store, d)));
      assert.ok(retries.every((r) => r.existed && r.record.version === versionOf.get(r.record.runKey)));
      assert.deepEqual(await listVersionNumbers(store, model), range(1, WRITERS));
    });

    it('twin attempts of each run racing each other (a timed-out attempt beside its retry) take one version per run', async () => {
      const model = newModel('conc-twins');
      const drafts = Array.from({ length: 10 }, () => fakeDraft(model));
      const results = await Promise.all(drafts.flatMap((d) => [registerVersion(store, d), registerVersion(store, d)]));
      const versionOf = new Map<string, number>();
      for (const r of results) {
        const seen = versionOf.get(r.record.runKey);
        if (seen !== undefined) assert.equal(r.record.version, seen, 'both attempts of a run report the same version');
        versionOf.set(r.record.runKey, r.record.version);
      }
      assert.equal(
        results.filter((r) => !r.existed).length,
        drafts.length,
        'exactly one attempt per run created the record',
      );
      await assertGaplessAndOwned(model, drafts, versionOf);
    });

    it('registrations that die between their two writes, retried among concurrent ones, leave no duplicate and no gap', async () => {
      const model = newModel('conc-crash');
      const crashedBeforeRecord = Array.from({ length: 4 }, () => fakeDraft(model));
      const crashedAfterRecord = Array.from({ length: 3 }, () => fakeDraft(model));
      const healthy = Array.from({ length: 8 }, () => fakeDraft(model));

      // Attempt 1 of the crashed runs: some die after recording where they start, some after writing their record.
      await Promise.all(crashedBeforeRecord.map((d) => recordStartingVersion(store, model, d.runKey)));
      const claimed = await Promise.all(
        crashedAfterRecord.map(async (d) => {
          for (let version = await recordStartingVersion(store, model, d.runKey); ; version++) {
            const registered = await claimVersion(store, d, version);
            if (registered) return registered; // …and the worker dies before reporting it
          }
        }),
      );
      // Healthy runs and the retries of the crashed ones, all at once.
      const results = await Promise.all(
        [...healthy, ...crashedBeforeRecord, ...crashedAfterRecord].map((d) => registerVersion(store, d)),
      );
      const all = [...healthy, ...crashedBeforeRecord, ...crashedAfterRecord];
      const versionOf = new Map(results.map((r) => [r.record.runKey, r.record.version]));
      await assertGaplessAndOwned(model, all, versionOf);
      for (const c of claimed) {
        const retried = results.find((r) => r.record.runKey === c.record.runKey);
        assert.deepEqual(
          [retried?.record.version, retried?.existed],
          [c.record.version, true],
          'a retry after the record was written finds it',
        );
      }
      for (const d of crashedBeforeRecord)
        assert.equal(results.find((r) => r.record.runKey === d.runKey)?.existed, false);
    });

    it(`${WRITERS} concurrent promotions with interleaved rollbacks lose no alias move`, async () => {
      const model = newModel('conc-alias');
      for (let i = 0; i < 6; i++) await registerVersion(store, fakeDraft(model));
      await promoteAlias(store, { model, alias: 'champion', version: 1, by: 'setup', reason: 'baseline', at: AT });
      await promoteAlias(store, { model, alias: 'champion', version: 2, by: 'setup', reason: 'baseline', at: AT });

      type Outcome = { kind: 'promote' | 'rollback'; by: string; move?: AliasMove; refused?: boolean };
      const operations: Array<() => Promise<Outcome>> = [];
      for (let i = 0; i < WRITERS; i++) {
        const by = `promoter-${i}`;
        const version = (i % 6) + 1;
        operations.push(async () => ({
          kind: 'promote',
          by,
          move: await promoteAlias(store, {
            model,
            alias: 'champion',
            version,
            by,
            reason: `try v${version}`,
            at: AT,
            requestId: by,
          }),
        }));
        if (i % 3 === 1) {
          const rollbackBy = `rollbacker-${i}`;
          operations.push(async () => {
            try {
              return {
                kind: 'rollback',
                by: rollbackBy,
                move: await rollbackAlias(store, {
                  model,
                  alias: 'champion',
                  by: rollbackBy,
                  reason: 'regression',
                  at: AT,
                }),
              };
            } catch (error) {
              if (error instanceof NothingToRollBackError) return { kind: 'rollback', by: rollbackBy, refused: true };
              throw error;
            }
          });
        }
      }
      const outcomes = await Promise.all(operations.map((op) => op()));
      const moved = outcomes.filter((o) => o.move?.moved);
      assert.ok(moved.length >= WRITERS / 2, `most requests moved the alias (${moved.length} did)`);

      const history = await aliasHistory(store, model, 'champion');
      assert.deepEqual(
        history.map((e) => e.seq),
        range(1, history.length),
        'history is one unbroken sequence',
      );
      assert.equal(history.length, 2 + moved.length, 'every move is in the history, and nothing else');
      for (const outcome of moved) {
        const event = outcome.move?.event;
        assert.ok(event);
        assert.equal(history.filter((e) => e.by === outcome.by).length, 1, `${outcome.by}'s move appears exactly once`);
        assert.deepEqual(history[event.seq - 1], event, `${outcome.by}'s reported move is the one recorded`);
      }
      for (const outcome of outcomes.filter((o) => !o.move?.moved)) {
        assert.equal(
          history.filter((e) => e.by === outcome.by).length,
          0,
          `${outcome.by} was a no-op and wrote nothing`,
        );
      }
      // The chain is consistent: each move starts where the previous one ended, rollbacks go where the
      // history at that point said they should, and the current state is where the last move ended.
      for (let i = 1; i < history.length; i++) {
        const event = history[i] as (typeof history)[number];
        assert.equal(event.from, history[i - 1]?.to, `move ${event.seq} starts where move ${event.seq - 1} ended`);
        if (event.action === 'rollback') assert.equal(event.to, rollbackTarget(history.slice(0, i), 'champion'));
      }
      const { aliases } = await readAliases(store, model);
      assert.equal(aliases.champion?.version, history[history.length - 1]?.to);
      assert.equal(aliases.champion?.seq, history.length);
    });

    it('separate processes registering and promoting the same model at once', async () => {
      const model = newModel('conc-procs');
      const processes = 4;
      const perProcess = 3;
      const script = `
        import { createArtifactStore } from './lib/store/create-store.ts';
        import { loadConfig } from './lib/config.ts';
        import { registerVersion, promoteAlias } from './lib/registry/index.ts';
        import { fakeDraft } from './test/support/registry-fixtures.ts';
        const store = createArtifactStore(loadConfig().store);
        const out = [];
        await Promise.all(Array.from({ length: ${perProcess} }, async () => {
          const r = await registerVersion(store, fakeDraft(${JSON.stringify(model)}));
          const m = await promoteAlias(store, { model: ${JSON.stringify(model)}, alias: 'champion', version: r.record.version, by: 'pid-' + process.pid + '-v' + r.record.version, reason: 'race', at: new Date().toISOString() });
          out.push({ version: r.record.version, moved: m.moved });
        }));
        process.stdout.write(JSON.stringify(out));
      `;
      const runs = await Promise.all(
        Array.from({ length: processes }, () =>
          promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
            cwd: repoRoot,
            env: { ...env, LOG_LEVEL: 'warn' },
          }),
        ),
      );
      const reported = runs.flatMap((r) => JSON.parse(r.stdout) as Array<{ version: number; moved: boolean }>);
      const total = processes * perProcess;
      assert.deepEqual(
        reported.map((r) => r.version).sort((a, b) => a - b),
        range(1, total),
      );
      assert.deepEqual(await listVersionNumbers(store, model), range(1, total));
      const history = await aliasHistory(store, model, 'champion');
      assert.equal(history.length, reported.filter((r) => r.moved).length);
      assert.equal(
        history.length,
        total,
        'each process promoted a distinct new version, so every promotion moved the alias',
      );
      for (let i = 1; i < history.length; i++) assert.equal(history[i]?.from, history[i - 1]?.to);
    });
  });
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
