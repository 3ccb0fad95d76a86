import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { AliasEvent } from '../../contracts/registry';
import {
  aliasHistory,
  draftVersion,
  findRegisteredVersion,
  getLatestVersion,
  getVersion,
  listModels,
  listVersionNumbers,
  ModelVersionNotFoundError,
  NothingToRollBackError,
  promoteAlias,
  registerVersion,
  RegistryCorruptError,
  RegistryInputError,
  resolveAlias,
  resolveChampion,
  rollbackAlias,
  rollbackTarget,
  runKeyFor,
} from '../../lib/registry';
import { resolveCodeVersion } from '../../lib/registry/code-version';
import { aliasesKey, versionKey } from '../../lib/registry/keys';
import { claimVersion, recordStartingVersion } from '../../lib/registry/register';
import { FsArtifactStore } from '../../lib/store/fs-store';
import { fakeDraft, fakeRunOutputs, uniqueModelName } from '../support/registry-fixtures';

const AT = '2025-03-04T05:06:07.000Z';

describe('model registry on the filesystem store', () => {
  let root: string;
  let store: FsArtifactStore;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'trainyard-registry-'));
    store = new FsArtifactStore(root);
    await store.ensureReady();
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function registerN(model: string, n: number): Promise<number[]> {
    const versions: number[] = [];
    for (let i = 0; i < n; i++) versions.push((await registerVersion(store, fakeDraft(model))).record.version);
    return versions;
  }

  describe('versions', () => {
    it('numbers versions 1..n in registration order and stores the full lineage', async () => {
      const model = uniqueModelName('seq');
      const drafts = [fakeDraft(model, 'wf-a'), fakeDraft(model, 'wf-b'), fakeDraft(model, 'wf-c')];
      const results = [];
      for (const draft of drafts) results.push(await registerVersion(store, draft));
      assert.deepEqual(
        results.map((r) => [r.record.version, r.existed]),
        [
          [1, false],
          [2, false],
          [3, false],
        ],
      );
      assert.deepEqual(await listVersionNumbers(store, model), [1, 2, 3]);

      const second = await getVersion(store, model, 2);
      assert.equal(second.runKey, drafts[1]?.runKey);
      assert.equal(second.lineage.run.workflowId, 'wf-b');
      assert.equal(second.lineage.dataset.uri, 's3://trainyard/datasets/penguins.json');
      assert.equal(second.lineage.backend, 'wasm');
      assert.deepEqual(second.lineage.code, { version: '0.1.0', gitSha: 'a'.repeat(40) });
      assert.equal(second.createdAt, '2025-01-02T03:04:05.000Z');
      assert.equal(results[1]?.uri, store.uriFor(versionKey(model, 2)));
      assert.equal((await getLatestVersion(store, model)).version, 3);
    });

    it('a retried register of the same run returns the same version with existed: true', async () => {
      const model = uniqueModelName('idem');
      const draft = fakeDraft(model, 'wf-retry');
      await registerN(model, 2);
      const first = await registerVersion(store, draft);
      const again = await registerVersion(store, { ...draft, createdAt: '2030-01-01T00:00:00.000Z' });
      assert.equal(first.record.version, 3);
      assert.equal(first.existed, false);
      assert.equal(again.record.version, 3);
      assert.equal(again.existed, true);
      assert.equal(again.record.createdAt, first.record.createdAt, 'the first attempt’s record is kept, not rewritten');
      assert.deepEqual(await listVersionNumbers(store, model), [1, 2, 3]);
      assert.equal((await findRegisteredVersion(store, model, draft.runKey))?.version, 3);
    });

    it('a crash between the starting point and the version record leaves neither a gap nor a duplicate', async () => {
      const model = uniqueModelName('crash');
      const crashed = fakeDraft(model, 'wf-crashed');
      // The crashed attempt got as far as recording where it starts: version 1 …
      assert.equal(await recordStartingVersion(store, model, crashed.runKey), 1);
      // … meanwhile another run takes version 1 …
      assert.equal((await registerVersion(store, fakeDraft(model, 'wf-other'))).record.version, 1);
      // … and the retry walks past it, to 2.
      const retried = await registerVersion(store, crashed);
      assert.deepEqual([retried.record.version, retried.existed], [2, false]);

      // A crash after the record was written: the retry finds it, even with other versions after it.
      const late = fakeDraft(model, 'wf-late');
      const start = await recordStartingVersion(store, model, late.runKey);
      assert.equal(start, 3);
      assert.equal((await claimVersion(store, late, start))?.record.version, 3);
      await registerVersion(store, fakeDraft(model, 'wf-after'));
      const lateRetry = await registerVersion(store, late);
      assert.deepEqual([lateRetry.record.version, lateRetry.existed], [3, true]);
      assert.deepEqual(await listVersionNumbers(store, model), [1, 2, 3, 4]);
      assert.equal((await findRegisteredVersion(store, model, late.runKey))?.version, 3);
      assert.equal(await findRegisteredVersion(store, model, fakeDraft(model, 'wf-never').runKey), undefined);
    });

    it('a version number owned by another run is never claimed; twin attempts of one run stop at its record', async () => {
      const model = uniqueModelName('stale');
      const a = fakeDraft(model, 'wf-a');
      const b = fakeDraft(model, 'wf-b');
      assert.equal(await recordStartingVersion(store, model, a.runKey), 1);
      assert.equal(await recordStartingVersion(store, model, b.runKey), 1);
      assert.equal((await claimVersion(store, a, 1))?.existed, false);
      assert.equal(await claimVersion(store, b, 1), undefined, 'b loses version 1 and must try 2');
      assert.equal((await claimVersion(store, b, 2))?.existed, false);
      // b's twin attempt walks from the same start: past a's version 1, onto b's own 2, and stops.
      assert.equal(await claimVersion(store, b, 1), undefined);
      assert.deepEqual(
        [(await claimVersion(store, b, 2))?.record.version, (await claimVersion(store, b, 2))?.existed],
        [2, true],
      );
      assert.deepEqual(
        [(await registerVersion(store, b)).record.version, (await registerVersion(store, a)).record.version],
        [2, 1],
      );
      assert.deepEqual(await listVersionNumbers(store, model), [1, 2]);
    });

    it('rejects a corrupted version record with the key and the bad fields named', async () => {
      const model = uniqueModelName('corrupt');
      await registerN(model, 2);
      const key = versionKey(model, 2);
      const record = await getVersion(store, model, 2);
      const broken = {
        ...record,
        lineage: { ...record.lineage, dataset: { ...record.lineage.dataset, sha256: 'not-a-hash' } },
        createdAt: 'yesterday',
      };
      await store.put(key, JSON.stringify(broken));
      await assert.rejects(getVersion(store, model, 2), (error: unknown) => {
        assert.ok(error instanceof RegistryCorruptError);
        assert.match(error.message, new RegExp(`Registry document "${key}" is corrupt`));
        assert.match(error.message, /lineage\.dataset\.sha256: expected a lowercase hex sha256/);
        assert.match(error.message, /createdAt: expected an ISO-8601 UTC timestamp/);
        return true;
      });
      await store.put(key, '{"format": "trainyard.registry.version/v1", "mod');
      await assert.rejects(getVersion(store, model, 2), /is corrupt[\s\S]*not valid JSON/);
      // A record under the wrong key must not answer for another version.
      await store.put(key, JSON.stringify(await getVersion(store, model, 1)));
      await assert.rejects(getVersion(store, model, 2), /names .* version 1, but is stored as .* version 2/);
    });

    it('says which versions exist when asked for one that does not', async () => {
      const model = uniqueModelName('missing');
      await registerN(model, 3);
      await assert.rejects(getVersion(store, model, 7), (error: unknown) => {
        assert.ok(error instanceof ModelVersionNotFoundError);
        assert.equal(error.message, `Model "${model}" has no version 7. Versions 1 to 3 exist.`);
        return true;
      });
      await assert.rejects(getLatestVersion(store, uniqueModelName('never')), /has no registered versions/);
    });

    it('refuses model names, aliases and versions that cannot name anything', async () => {
      await assert.rejects(getVersion(store, '../etc', 1), RegistryInputError);
      await assert.rejects(getVersion(store, 'ok-model', 0), /version: versions start at 1/);
      await assert.rejects(resolveAlias(store, 'ok-model', 'Champion'), /alias: alias must be 1-64 characters/);
    });

    it('refuses to write a record it could not read back', async () => {
      const model = uniqueModelName('invalid');
      const draft = fakeDraft(model);
      const bad = { ...draft, modelRef: { ...draft.modelRef, sha256: 'nope' } };
      await assert.rejects(registerVersion(store, bad), (error: unknown) => {
        assert.ok(error instanceof RegistryInputError);
        assert.match(error.message, /modelRef\.sha256/);
        return true;
      });
      assert.deepEqual(await listVersionNumbers(store, model), []);
    });
  });

  describe('aliases', () => {
    const by = 'ada';
    it('promote moves an alias; rollback walks back through its history; history keeps who, when and why', async () => {
      const model = uniqueModelName('alias');
      await registerN(model, 3);
      const p1 = await promoteAlias(store, { model, alias: 'champion', version: 1, by, reason: 'first model', at: AT });
      assert.deepEqual([p1.version, p1.previousVersion, p1.moved], [1, undefined, true]);
      await promoteAlias(store, { model, alias: 'champion', version: 2, by, reason: 'better auc', at: AT });
      const p3 = await promoteAlias(store, {
        model,
        alias: 'champion',
        version: 3,
        by: 'grace',
        reason: 'even better',
        at: AT,
      });
      assert.deepEqual([p3.version, p3.previousVersion], [3, 2]);
      await promoteAlias(store, { model, alias: 'staging', version: 3, by, reason: 'shadow', at: AT });

      const back1 = await rollbackAlias(store, { model, alias: 'champion', by: 'grace', reason: 'v3 drifts', at: AT });
      assert.deepEqual([back1.version, back1.previousVersion], [2, 3]);
      const back2 = await rollbackAlias(store, { model, alias: 'champion', by: 'grace', reason: 'v2 too', at: AT });
      assert.deepEqual([back2.version, back2.previousVersion], [1, 2]);
      await assert.rejects(
        rollbackAlias(store, { model, alias: 'champion', by, reason: 'again', at: AT }),
        (error: unknown) => {
          assert.ok(error instanceof NothingToRollBackError);
          assert.match(error.message, /Cannot roll back alias "champion" .* no earlier version/);
          return true;
        },
      );
      await assert.rejects(
        rollbackAlias(store, { model, alias: 'canary', by, reason: 'x', at: AT }),
        /alias is not set/,
      );

      assert.equal(await resolveAlias(store, model), 1);
      assert.equal(await resolveAlias(store, model, 'staging'), 3);
      const history = await aliasHistory(store, model, 'champion');
      assert.deepEqual(
        history.map((e) => [e.seq, e.action, e.from, e.to, e.by, e.reason]),
        [
          [1, 'promote', undefined, 1, 'ada', 'first model'],
          [2, 'promote', 1, 2, 'ada', 'better auc'],
          [3, 'promote', 2, 3, 'grace', 'even better'],
          [5, 'rollback', 3, 2, 'grace', 'v3 drifts'],
          [6, 'rollback', 2, 1, 'grace', 'v2 too'],
        ],
      );
      assert.ok(history.every((e) => e.at === AT));
      assert.equal((await aliasHistory(store, model)).length, 6);
    });

    it('promoting to the version an alias already points at is a no-op with the same result', async () => {
      const model = uniqueModelName('noop');
      await registerN(model, 2);
      await promoteAlias(store, { model, alias: 'champion', version: 1, by, reason: 'a', at: AT });
      const first = await promoteAlias(store, { model, alias: 'champion', version: 2, by, reason: 'b', at: AT });
      const again = await promoteAlias(store, {
        model,
        alias: 'champion',
        version: 2,
        by: 'someone else',
        reason: 'c',
        at: AT,
      });
      assert.deepEqual(
        [again.version, again.previousVersion, again.moved],
        [first.version, first.previousVersion, false],
      );
      assert.equal((await aliasHistory(store, model)).length, 2);
    });

    it('a repeated request (same requestId) returns the recorded move even after the alias moved on', async () => {
      const model = uniqueModelName('request');
      await registerN(model, 3);
      const request = {
        model,
        alias: 'champion',
        version: 2,
        by,
        reason: 'pipeline',
        at: AT,
        requestId: 'wf-1/run-1/7',
      };
      const first = await promoteAlias(store, request);
      await promoteAlias(store, { model, alias: 'champion', version: 3, by: 'grace', reason: 'manual', at: AT });
      const retried = await promoteAlias(store, request);
      assert.deepEqual([retried.version, retried.moved, retried.event?.seq], [2, false, first.event?.seq]);
      assert.equal(await resolveAlias(store, model), 3, 'the retry must not undo the later manual promotion');
    });

    it('refuses to promote a version that does not exist', async () => {
      const model = uniqueModelName('nopromote');
      await registerN(model, 1);
      await assert.rejects(
        promoteAlias(store, { model, alias: 'champion', version: 5, by, reason: 'x', at: AT }),
        /has no version 5\. The only version is 1\./,
      );
      assert.deepEqual(await aliasHistory(store, model), []);
    });

    it('rejects a corrupted aliases document', async () => {
      const model = uniqueModelName('badalias');
      await registerN(model, 1);
      await promoteAlias(store, { model, alias: 'champion', version: 1, by, reason: 'x', at: AT });
      await store.put(
        aliasesKey(model),
        JSON.stringify({
          format: 'trainyard.registry.aliases/v1',
          model,
          aliases: { champion: { version: 'one' } },
          history: [],
        }),
      );
      await assert.rejects(resolveAlias(store, model), /aliases\.champion\.version/);
    });
  });

  describe('champion', () => {
    it('resolves the champion’s artifacts from its lineage, undefined before any promotion', async () => {
      const model = uniqueModelName('champ');
      assert.equal(await resolveChampion(store, model), undefined);
      await registerN(model, 1);
      const draft = fakeDraft(model, 'wf-champ');
      await registerVersion(store, draft);
      await promoteAlias(store, { model, alias: 'champion', version: 2, by: 'pipeline', reason: 'blessed', at: AT });
      const champion = await resolveChampion(store, model);
      assert.deepEqual(champion, {
        model,
        version: 2,
        modelRef: draft.modelRef,
        schema: draft.lineage.schema,
        statistics: draft.lineage.statistics,
        preprocessor: draft.lineage.preprocessor,
        evaluation: draft.lineage.evaluation.ref,
        metrics: { accuracy: 0.9 },
      });
      assert.equal(await resolveChampion(store, model, 'staging'), undefined);
    });
  });

  it('lists every model with its versions and aliases', async () => {
    const a = `list-a-${Date.now()}`;
    const b = `list-b-${Date.now()}`;
    await registerN(a, 2);
    await registerN(b, 1);
    await promoteAlias(store, { model: a, alias: 'champion', version: 2, by: 'ada', reason: 'x', at: AT });
    const listed = (await listModels(store)).filter((m) => m.model === a || m.model === b);
    assert.deepEqual(
      listed.map((m) => [m.model, m.versions, m.latestVersion, m.aliases]),
      [
        [a, 2, 2, { champion: 2 }],
        [b, 1, 1, {}],
      ],
    );
    const damaged = (await listModels(store)).find((m) => m.model.startsWith('badalias-'));
    assert.match(
      damaged?.problem ?? '',
      /aliases\.json" is corrupt/,
      'a corrupt model is listed with its problem, not hidden and not fatal',
    );
  });
});

describe('rollbackTarget', () => {
  it('agrees with an undo stack of alias states under any sequence of promotions and rollbacks', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('promote' as const), to: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('rollback' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        // The model: every state the alias has been in and not undone, starting from "unset".
        const states: Array<number | undefined> = [undefined];
        const history: AliasEvent[] = [];
        for (const o of ops) {
          const current = states[states.length - 1];
          if (o.kind === 'promote') {
            if (o.to === current) continue; // a no-op writes no history
            history.push(event(history.length + 1, 'promote', current, o.to));
            states.push(o.to);
          } else {
            const expected = states.length >= 2 ? states[states.length - 2] : undefined;
            const target = rollbackTarget(history, 'champion');
            assert.equal(target, expected);
            if (target === undefined) continue; // refused: nothing earlier to go back to
            history.push(event(history.length + 1, 'rollback', current, target));
            states.pop();
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('walks back v1 → v2 → v3 to v2 then v1, and ignores other aliases', () => {
    const history = [
      event(1, 'promote', undefined, 1),
      { ...event(2, 'promote', undefined, 5), alias: 'staging' },
      event(3, 'promote', 1, 2),
      event(4, 'promote', 2, 3),
    ];
    assert.equal(rollbackTarget(history, 'champion'), 2);
    assert.equal(rollbackTarget([...history, event(5, 'rollback', 3, 2)], 'champion'), 1);
    assert.equal(rollbackTarget(history, 'staging'), undefined);
  });

  function event(seq: number, action: AliasEvent['action'], from: number | undefined, to: number): AliasEvent {
    return {
      seq,
      alias: 'champion',
      action,
      ...(from === undefined ? {} : { from }),
      to,
      by: 't',
      reason: 'r',
      at: AT,
    };
  }
});

describe('draftVersion', () => {
  it('builds lineage from every stage result and keys the run by workflow id and model sha256', () => {
    const outputs = fakeRunOutputs('penguins', 'seed-1');
    const context = { workflowId: 'wf-1', runId: 'run-1', createdAt: AT, code: { version: '1.2.3' } };
    const draft = draftVersion({ ...outputs, warmStartParent: 4 }, context);
    assert.equal(draft.runKey, runKeyFor('wf-1', outputs.trained.model.sha256));
    assert.notEqual(draft.runKey, runKeyFor('wf-2', outputs.trained.model.sha256));
    assert.deepEqual(draft.lineage.splitManifest, outputs.split.manifest);
    assert.deepEqual(draft.lineage.evaluation.metrics, { accuracy: 0.9 });
    assert.equal(draft.lineage.training.params.model, 'gbdt', 'the default model');
    assert.deepEqual(draft.lineage.training.classes, ['Adelie', 'Chinstrap', 'Gentoo']);
    assert.deepEqual(draft.lineage.warmStart, { used: false, parentVersion: 4, reason: 'no champion' });
    assert.deepEqual(draft.lineage.code, { version: '1.2.3' });
    assert.deepEqual(draft.lineage.run, { workflowId: 'wf-1', runId: 'run-1' });
    assert.deepEqual(
      draftVersion({ ...outputs, warmStartParent: 4 }, context),
      draft,
      'pure: same outputs, same draft',
    );
  });
});

describe('code version', () => {
  it('reads the package version and the git sha of a checkout, else TRAINYARD_GIT_SHA', async () => {
    const repo = path.resolve(import.meta.dirname, '..', '..');
    const here = await resolveCodeVersion(repo, {});
    assert.match(here.version, /^\d+\.\d+\.\d+/);
    const empty = await mkdtemp(path.join(os.tmpdir(), 'trainyard-nogit-'));
    try {
      assert.deepEqual(await resolveCodeVersion(empty, { TRAINYARD_GIT_SHA: 'ABCDEF1234567' }), {
        version: '0.0.0-unknown',
        gitSha: 'abcdef1234567',
      });
      assert.deepEqual(await resolveCodeVersion(empty, { TRAINYARD_GIT_SHA: 'not a sha' }), {
        version: '0.0.0-unknown',
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
