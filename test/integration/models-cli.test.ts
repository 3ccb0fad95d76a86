import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../lib/config';
import { registerVersion, type VersionDraft } from '../../lib/registry';
import { aliasesKey, modelPrefix } from '../../lib/registry/keys';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { fakeDraft, uniqueModelName } from '../support/registry-fixtures';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI exactly as a user runs it: `node bin/trainyard.mjs …` in a child process, against MinIO. */
async function trainyard(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(repoRoot, 'bin', 'trainyard.mjs'), ...args],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          TRAINYARD_STORE: 's3',
          S3_ENDPOINT: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000',
          LOG_LEVEL: 'warn',
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function json<T = unknown>(result: CliResult): T {
  assert.equal(result.code, 0, `exit 0 expected; stderr: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

describe('trainyard models … against MinIO', () => {
  let store: ArtifactStore;
  const model = uniqueModelName('cli');
  const damaged = uniqueModelName('cli-damaged');
  const drafts: VersionDraft[] = [];

  before(async () => {
    const config = loadConfig({
      ...process.env,
      TRAINYARD_STORE: 's3',
      S3_ENDPOINT: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000',
    });
    store = createArtifactStore(config.store);
    await store.ensureReady();
    for (let i = 1; i <= 3; i++) {
      const draft = fakeDraft(model, `wf-cli-${i}`);
      drafts.push(draft);
      await registerVersion(store, draft);
    }
    await registerVersion(store, fakeDraft(damaged));
    await store.put(aliasesKey(damaged), '{"format": "trainyard.registry.aliases/v1", "model": 42}');
  });
  after(async () => {
    if (!store) return;
    for (const m of [model, damaged]) for await (const info of store.list(modelPrefix(m))) await store.delete(info.key);
  });

  it('list shows the model with its versions, as JSON and as a table', async () => {
    const [asJson, asTable] = await Promise.all([trainyard('models', 'list', '--json'), trainyard('models', 'list')]);
    const listed = json<
      Array<{
        model: string;
        versions: number;
        latestVersion: number;
        aliases: Record<string, number>;
        problem?: string;
      }>
    >(asJson);
    const entry = listed.find((m) => m.model === model);
    assert.deepEqual([entry?.versions, entry?.latestVersion, entry?.aliases], [3, 3, {}]);
    assert.match(
      listed.find((m) => m.model === damaged)?.problem ?? '',
      /corrupt/,
      'a damaged model is listed with its problem, not fatal',
    );
    assert.equal(asTable.code, 0);
    assert.match(asTable.stdout, /^MODEL\s+VERSIONS\s+LATEST\s+ALIASES\s+UPDATED$/m);
    assert.match(asTable.stdout, new RegExp(`^${model}\\s+3\\s+v3\\s+-\\s+\\d{4}-`, 'm'));
  });

  it('show prints the latest version by default, or the one asked for, with its lineage', async () => {
    const [latest, second, table] = await Promise.all([
      trainyard('models', 'show', model, '--json'),
      trainyard('models', 'show', model, '--version', '2', '--json'),
      trainyard('models', 'show', model, '--version', '2'),
    ]);
    const v3 = json<{ version: number; runKey: string; lineage: { run: { workflowId: string } }; aliases: string[] }>(
      latest,
    );
    assert.deepEqual(
      [v3.version, v3.runKey, v3.lineage.run.workflowId, v3.aliases],
      [3, drafts[2]?.runKey, 'wf-cli-3', []],
    );
    assert.equal(json<{ version: number }>(second).version, 2);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^version\s+v2$/m);
    assert.match(table.stdout, /^dataset\s+s3:\/\/trainyard\/datasets\/penguins\.json/m);
    assert.match(table.stdout, /^run\s+wf-cli-2 \//m);
    assert.match(table.stdout, /^accuracy\s+0\.9$/m);
  });

  it('a version that does not exist, or is not a number, exits 2 with a clear message', async () => {
    const [missing, notANumber, unknownModel, badName, promoteMissing] = await Promise.all([
      trainyard('models', 'show', model, '--version', '9'),
      trainyard('models', 'show', model, '--version', 'two'),
      trainyard('models', 'show', uniqueModelName('nobody')),
      trainyard('models', 'show', 'Not/A/Model'),
      trainyard('models', 'promote', model, '7', '--by', 'ada', '--reason', 'typo'),
    ]);
    assert.deepEqual(
      [missing.code, missing.stderr.trim()],
      [2, `Model "${model}" has no version 9. Versions 1 to 3 exist.`],
    );
    assert.equal(notANumber.code, 2);
    assert.match(notANumber.stderr, /is invalid\. expected a version number \(1, 2, 3, …\), got "two"/);
    assert.equal(unknownModel.code, 2);
    assert.match(unknownModel.stderr, /has no registered versions/);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /model: model name must be lowercase letters/);
    assert.deepEqual(
      [promoteMissing.code, promoteMissing.stderr.trim()],
      [2, `Model "${model}" has no version 7. Versions 1 to 3 exist.`],
    );
    for (const r of [missing, notANumber, unknownModel, badName, promoteMissing])
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('promote, rollback and history: moves are recorded with who and why', async () => {
    const first = json<{ alias: string; version: number; previousVersion?: number; moved: boolean }>(
      await trainyard('models', 'promote', model, '2', '--by', 'ada', '--reason', 'first blessed model', '--json'),
    );
    assert.deepEqual(
      [first.alias, first.version, first.previousVersion, first.moved],
      ['champion', 2, undefined, true],
    );

    const second = await trainyard('models', 'promote', model, '3', '--by', 'grace', '--reason', 'better auc');
    assert.deepEqual([second.code, second.stdout], [0, `${model} champion: v2 → v3\n`]);

    const again = await trainyard('models', 'promote', model, '3', '--by', 'grace', '--reason', 'double click');
    assert.deepEqual([again.code, again.stdout], [0, `${model} champion already points at v3; nothing changed.\n`]);

    const back = json<{ version: number; previousVersion: number }>(
      await trainyard('models', 'rollback', model, '--by', 'grace', '--reason', 'v3 drifts', '--json'),
    );
    assert.deepEqual([back.version, back.previousVersion], [2, 3]);

    const staging = await trainyard(
      'models',
      'promote',
      model,
      '1',
      '--alias',
      'staging',
      '--by',
      'ada',
      '--reason',
      'shadow test',
    );
    assert.equal(staging.code, 0);

    const [history, championTable, noStaging, badAlias, list] = await Promise.all([
      trainyard('models', 'history', model, '--json'),
      trainyard('models', 'history', model, '--alias', 'champion'),
      trainyard('models', 'rollback', model, '--alias', 'canary', '--by', 'ada', '--reason', 'x'),
      trainyard('models', 'promote', model, '1', '--alias', 'Prod!', '--by', 'ada', '--reason', 'x'),
      trainyard('models', 'list', '--json'),
    ]);
    const events = json<
      Array<{
        seq: number;
        alias: string;
        action: string;
        from?: number;
        to: number;
        by: string;
        reason: string;
        at: string;
      }>
    >(history);
    assert.deepEqual(
      events.map((e) => [e.seq, e.alias, e.action, e.from, e.to, e.by, e.reason]),
      [
        [1, 'champion', 'promote', undefined, 2, 'ada', 'first blessed model'],
        [2, 'champion', 'promote', 2, 3, 'grace', 'better auc'],
        [3, 'champion', 'rollback', 3, 2, 'grace', 'v3 drifts'],
        [4, 'staging', 'promote', undefined, 1, 'ada', 'shadow test'],
      ],
    );
    assert.ok(events.every((e) => !Number.isNaN(Date.parse(e.at))));
    assert.equal(championTable.code, 0);
    const lines = championTable.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^SEQ\s+AT\s+ALIAS\s+ACTION\s+FROM\s+TO\s+BY\s+REASON$/);
    assert.equal(lines.length, 4, 'header + the three champion moves');
    assert.match(lines[3] ?? '', /^3\s+\S+\s+champion\s+rollback\s+v3\s+v2\s+grace\s+v3 drifts$/);
    assert.deepEqual(
      [noStaging.code, noStaging.stderr.trim()],
      [2, `Cannot roll back alias "canary" of model "${model}": the alias is not set.`],
    );
    assert.equal(badAlias.code, 2);
    assert.match(badAlias.stderr, /alias: alias must be 1-64 characters/);
    assert.deepEqual(
      json<Array<{ model: string; aliases: Record<string, number> }>>(list).find((m) => m.model === model)?.aliases,
      { champion: 2, staging: 1 },
    );

    const shown = json<{ version: number; aliases: string[] }>(
      await trainyard('models', 'show', model, '--version', '2', '--json'),
    );
    assert.deepEqual(shown.aliases, ['champion']);
  });

  it('missing --by or --reason is a usage error (exit 2)', async () => {
    const result = await trainyard('models', 'promote', model, '1', '--reason', 'who?');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /required option '--by <who>' not specified/);
  });

  it('a corrupt registry document exits 1 with the key and fields named, no stack trace', async () => {
    const result = await trainyard('models', 'history', damaged);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`Registry document "registry/${damaged}/aliases.json" is corrupt`));
    assert.match(result.stderr, /model: /);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});

describe('trainyard approve | reject, error paths (the happy path needs a run waiting for approval)', () => {
  it('a workflow that does not exist exits 2; so does a missing --reason', async () => {
    const [unknown, noReason] = await Promise.all([
      trainyard('approve', `no-such-run-${Date.now()}`, '--by', 'ada', '--reason', 'looks good'),
      trainyard('reject', 'some-run', '--by', 'ada'),
    ]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No running workflow "no-such-run-\d+" in namespace default/);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /required option '--reason <why>' not specified/);
  });
});
