import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { VersionRecord } from '../../contracts/registry';
import { promoteAlias } from '../../lib/registry';
import type { PredictionRecord } from '../../lib/serving/prediction-log';
import { predictionLogPrefix } from '../../lib/serving/prediction-log';
import { readObject } from '../../lib/store/read-object';
import { runCli } from '../support/cli';
import { parsePrometheusText, samplesOf } from '../support/prometheus-text';
import { startServeProcess, type ServeProcess } from '../support/serve-process';
import { uniqueModelName } from '../support/registry-fixtures';
import { PENGUINS_SPECIES, trainVersion, uploadPenguins } from '../support/serving-models';
import { startTestHarness, type TestHarness } from '../support/temporal';

const ROW = {
  Island: 'Biscoe',
  'Beak Length (mm)': 45.1,
  'Beak Depth (mm)': 14.5,
  'Flipper Length (mm)': 215,
  'Body Mass (g)': 5000,
  Sex: 'FEMALE',
};

interface PredictResponse {
  status: number;
  headerVersion: string | null;
  body: {
    model?: string;
    version?: number;
    predictions?: Array<{ id: string; class: string }>;
    problems?: Array<{ path: string; message: string }>;
    message?: string;
  };
}

/** `trainyard serve` as a child process against versions trained by the real pipeline (Temporal, MinIO). */
describe('trainyard serve (child process, real registry in MinIO)', () => {
  let h: TestHarness;
  let model: string;
  let v1: VersionRecord;
  let v2: VersionRecord;
  let serve: ServeProcess;
  let url: string;
  const served = new Map<string, number>();

  const predict = async (body: unknown, raw?: string): Promise<PredictResponse> => {
    const response = await fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw ?? JSON.stringify(body),
    });
    return {
      status: response.status,
      headerVersion: response.headers.get('trainyard-model-version'),
      body: (await response.json()) as PredictResponse['body'],
    };
  };

  before(async () => {
    h = await startTestHarness();
    const uri = await uploadPenguins(h);
    model = uniqueModelName('serve-e2e');
    v1 = await trainVersion(h, uri, model, { task: PENGUINS_SPECIES });
    // Version 2 is an MLP under another alias: the champion stays on the gbdt until the test moves it.
    v2 = await trainVersion(h, uri, model, {
      task: PENGUINS_SPECIES,
      train: { model: 'mlp' },
      promotion: { alias: 'candidate' },
    });
    serve = startServeProcess([
      '--model',
      `${model}@champion`,
      '--port',
      '0',
      '--poll-interval',
      '200ms',
      // Longer than the test: what the log holds after SIGTERM was written by the shutdown.
      '--flush-interval',
      '1h',
    ]);
    url = await serve.url;
  });
  after(async () => {
    if (serve && serve.child.exitCode === null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
    }
    await h?.close();
  });

  it('refuses bad options and an unknown model with exit code 2, naming each problem', async () => {
    const bad = await runCli(['serve', '--model', 'Penguins', '--port', '70000', '--poll-interval', 'soon']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--model: .*expected <model>@<alias>/);
    assert.match(bad.stderr, /--port: expected a port/);
    assert.match(bad.stderr, /--poll-interval: expected a duration/);
    const unknown = await runCli(['serve', '--model', `${model}@staging`, '--port', '0']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /has no alias "staging"\. Its aliases: candidate → 2, champion → 1/);
  });

  it('answers a row and a batch with the version that answered; health and readiness', async () => {
    const one = await predict(ROW);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(one.body.version, v1.version);
    assert.equal(one.headerVersion, String(v1.version));
    assert.equal(one.body.predictions?.length, 1);
    assert.equal(one.body.predictions?.[0]?.class, 'Gentoo');
    const batch = await predict([ROW, { ...ROW, Island: 'Dream', 'Flipper Length (mm)': 190, 'Body Mass (g)': null }]);
    assert.equal(batch.status, 200);
    assert.equal(batch.body.predictions?.length, 2);
    for (const r of [one, batch]) for (const p of r.body.predictions ?? []) served.set(p.id, r.body.version as number);

    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { version: number }).version, v1.version);
  });

  it('refuses bad rows with 400 naming each field, non-JSON with 400 and oversized bodies with 413', async () => {
    const bad = await predict({ ...ROW, Island: 3, 'Beak Length (mm)': 'long', Beak: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.version, v1.version);
    assert.deepEqual(bad.body.problems?.map((p) => p.path).sort(), ['Beak', 'Beak Length (mm)', 'Island']);
    const badInBatch = await predict([ROW, { ...ROW, Sex: undefined }]);
    assert.equal(badInBatch.status, 400);
    assert.deepEqual(
      badInBatch.body.problems?.map((p) => p.path),
      ['1.Sex'],
    );
    const notJson = await predict(undefined, '{"Island": ');
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.message ?? '', /not JSON/);
    const poisoned = await predict(undefined, `{"__proto__": {"polluted": true}, ${JSON.stringify(ROW).slice(1)}`);
    assert.equal(poisoned.status, 400);
    const empty = await predict(undefined, '');
    assert.equal(empty.status, 400);
    assert.match(empty.body.message ?? '', /the body is empty/);
    const tooLarge = await predict(undefined, JSON.stringify(Array.from({ length: 12_000 }, () => ROW)));
    assert.equal(tooLarge.status, 413);
    assert.match(tooLarge.body.message ?? '', /larger than the limit of 1048576 bytes/);
  });

  it('after the alias moves, the next responses name the new version; no request fails in between', async () => {
    const versions: number[] = [];
    let movedAt = -1;
    let afterNew = 0;
    // Bounded: the server polls every 200 ms, so a few hundred requests normally suffice.
    for (let i = 0; i < 20_000 && afterNew < 20; i++) {
      const response = await predict(ROW);
      assert.equal(response.status, 200, `request ${i} failed: ${JSON.stringify(response.body)}`);
      const version = response.body.version as number;
      assert.equal(response.headerVersion, String(version));
      versions.push(version);
      for (const p of response.body.predictions ?? []) served.set(p.id, version);
      if (version === v2.version) afterNew++;
      if (i === 10) {
        await promoteAlias(h.store, {
          model,
          alias: 'champion',
          version: v2.version,
          by: 'test',
          reason: 'serve reload test',
          at: new Date().toISOString(),
        });
        movedAt = i;
      }
    }
    assert.equal(afterNew, 20, `never answered with version ${v2.version}; versions seen: ${[...new Set(versions)]}`);
    const firstNew = versions.indexOf(v2.version);
    assert.ok(firstNew > movedAt, 'the new version answers only after the move');
    assert.ok(
      versions.slice(firstNew).every((v) => v === v2.version),
      'once the new version answers, the old one never does again',
    );
    assert.ok(versions.slice(0, firstNew).every((v) => v === v1.version));
  });

  it('serves Prometheus metrics: latency histogram, requests and errors by status, the version', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const samples = parsePrometheusText(text);
    const value = (name: string, labels: Record<string, string>) =>
      samplesOf(samples, name, labels).reduce((sum, s) => sum + s.value, 0);
    const ok = value('trainyard_serve_requests_total', { route: '/predict', status: '200' });
    assert.ok(ok >= served.size - 1, `200s counted: ${ok}`); // the batch of two is one request
    assert.equal(value('trainyard_serve_errors_total', { route: '/predict', status: '400' }), 5);
    assert.equal(value('trainyard_serve_errors_total', { route: '/predict', status: '413' }), 1);
    assert.equal(value('trainyard_serve_request_duration_seconds_count', { route: '/predict', status: '200' }), ok);
    assert.ok(
      samplesOf(samples, 'trainyard_serve_request_duration_seconds_bucket', { route: '/predict', le: '0.005' }).length >
        0,
    );
    assert.equal(value('trainyard_serve_model_version', { model, reference: `${model}@champion` }), v2.version);
    assert.equal(value('trainyard_serve_model_reloads_total', { outcome: 'loaded' }), 1);
    assert.equal(value('trainyard_serve_predictions_total', { model }), served.size);
  });

  it('on SIGTERM it finishes, writes the prediction log, and exits 0: every served prediction is in the log once', async () => {
    for await (const info of h.store.list(`${predictionLogPrefix(model)}/`))
      assert.fail(`${info.key} was written before the shutdown's flush`);
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, serve.lines.slice(-10).join('\n'));
    const logged = new Map<string, PredictionRecord>();
    let objects = 0;
    for await (const info of h.store.list(`${predictionLogPrefix(model)}/`)) {
      const date = /\/date=(\d{4}-\d{2}-\d{2})\/[^/]+\.jsonl$/.exec(info.key)?.[1];
      assert.ok(date, `${info.key} is not in a date partition`);
      objects++;
      const text = (await readObject(h.store, info.key)).toString('utf8');
      for (const line of text.split('\n').filter(Boolean)) {
        const record = JSON.parse(line) as PredictionRecord;
        assert.ok(!logged.has(record.id), `prediction ${record.id} logged twice`);
        assert.ok(record.time.startsWith(date), `${record.time} logged under date=${date}`);
        logged.set(record.id, record);
      }
    }
    assert.ok(objects >= 1);
    assert.equal(logged.size, served.size);
    for (const [id, version] of served) {
      const record = logged.get(id);
      assert.ok(record, `served prediction ${id} is missing from the log`);
      assert.equal(record.version, version);
      assert.equal(record.model, model);
      assert.ok('class' in record.output);
      assert.equal(typeof record.input.Island, 'string');
    }
  });
});
