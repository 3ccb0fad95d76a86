import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli } from '../support/cli';

describe('trainyard CLI edges', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trainyard-cli-'));
  });

  it('prints the JSON Schema of the pipeline input', async () => {
    const { code, stdout } = await runCli(['schema']);
    assert.equal(code, 0);
    const schema = JSON.parse(stdout) as { required: string[]; properties: Record<string, unknown> };
    assert.deepEqual([...schema.required].sort(), ['dataset', 'model', 'task']);
    assert.ok(schema.properties.train, 'stage sections are documented');
  });

  it('names every bad field of a config file before anything starts, exit 2', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({
        model: 'Has Spaces',
        dataset: { uri: 'ftp://x' },
        task: { type: 'ranking', label: '' },
        train: { epochs: 0 },
      }),
    );
    // An unreachable Temporal proves nothing was contacted: validation comes first.
    const { code, stderr } = await runCli(['run', '--config', file], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(code, 2);
    for (const field of ['model', 'dataset.uri', 'task.type', 'task.label', 'train.epochs']) {
      assert.match(stderr, new RegExp(`- ${field.replace('.', '\\.')}:`), `names ${field}`);
    }
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });

  it('says which file is not JSON', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{ "model": ');
    const { code, stderr } = await runCli(['run', '--config', file]);
    assert.equal(code, 2);
    assert.match(stderr, /broken\.json is not valid JSON/);
  });

  it('lists every bad environment variable with what was expected, exit 2, no stack trace', async () => {
    const { code, stderr } = await runCli(['worker'], {
      LOG_LEVEL: 'chatty',
      S3_PORT: 'abc',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      TRAINYARD_STORE: 'gcs',
    });
    assert.equal(code, 2);
    assert.match(stderr, /LOG_LEVEL: expected one of/);
    assert.match(stderr, /S3_PORT: /);
    assert.match(stderr, /TRAINYARD_STORE: expected "s3" or "fs"/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });

  it('rejects artifact keys with traversal or control characters, naming the key and the rule', async () => {
    const file = path.join(dir, 'data.csv');
    await writeFile(file, 'a,b\n1,2\n');
    for (const uri of ['s3://trainyard/datasets/../../etc/passwd', 's3://trainyard/datasets/a\u0007b.csv']) {
      const { code, stderr } = await runCli(['data', 'put', file, uri]);
      assert.equal(code, 2, `${JSON.stringify(uri)}: ${stderr}`);
      assert.match(stderr, /Invalid artifact key/);
    }
  });

  it('uploads a file and reports its sha256 and size', async () => {
    const file = path.join(dir, 'small.csv');
    await writeFile(file, 'x,y\n1,0\n2,1\n');
    const uri = `s3://trainyard/test/cli-${randomUUID().slice(0, 8)}/small.csv`;
    const { code, stdout, stderr } = await runCli(['data', 'put', file, uri]);
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout) as { uri: string; sha256: string; bytes: number };
    assert.equal(out.uri, uri);
    assert.equal(out.bytes, 12);
    assert.equal(out.sha256, createHash('sha256').update('x,y\n1,0\n2,1\n').digest('hex'));
  });

  it('doctor reports services, backend and Node, each problem with its fix', async () => {
    const ok = await runCli(['doctor']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ok {3}temporal/);
    assert.match(ok.stdout, /ok {3}artifact store: s3/);
    assert.match(ok.stdout, /tfjs backend: (tensorflow|wasm|cpu)/);
    const down = await runCli(['doctor'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(down.code, 1);
    assert.match(down.stdout, /FAIL temporal: 127\.0\.0\.1:1 unreachable/);
    assert.match(down.stdout, /fix: run "trainyard dev up"/);
  });
});
