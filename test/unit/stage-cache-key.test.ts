import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ArtifactKind, ArtifactRef } from '../../contracts/artifacts';
import { PipelineInput } from '../../contracts/pipeline-input';
import { artifactRefsIn, canonicalJson, configFileUris, stageCacheKey } from '../../lib/cache/stage-cache-key';

const input = PipelineInput.parse({
  model: 'm',
  dataset: { uri: 's3://trainyard/d.csv' },
  task: { type: 'binary', label: 'y' },
});
const ref = (kind: ArtifactKind, sha: string): ArtifactRef => ({
  kind,
  uri: `s3://trainyard/${kind}`,
  sha256: sha.repeat(64).slice(0, 64),
  bytes: 10,
});
const split = {
  manifest: ref('split-manifest', 'a'),
  splits: { train: ref('split', 'b'), validation: ref('split', 'c'), test: ref('split', 'd') },
  rows: { train: 1, validation: 1, test: 1 },
  strategy: 'random',
};
const preprocessor = { preprocessor: ref('preprocessor', 'e'), featureCount: 3 };
const champion = {
  model: 'm',
  version: 1,
  modelRef: ref('model', 'f'),
  schema: ref('schema', '1'),
  statistics: ref('statistics', '2'),
  preprocessor: ref('preprocessor', '3'),
  metrics: {},
};
const CODE = '0.1.0+abc1234';

describe('stageCacheKey', () => {
  it('is the same for equal inputs however their keys are ordered', () => {
    const reordered = JSON.parse(canonicalJson(input)) as typeof input;
    assert.equal(
      stageCacheKey('fitPreprocessor', { input, split }, CODE),
      stageCacheKey('fitPreprocessor', { input: reordered, split }, CODE),
    );
  });

  it('changes with the stage config, an input hash, the model or the code version — and not with unrelated config', () => {
    const base = stageCacheKey('train', { input, split, preprocessor }, CODE);
    assert.notEqual(
      stageCacheKey('train', { input: { ...input, train: { ...input.train, epochs: 1 } }, split, preprocessor }, CODE),
      base,
    );
    assert.notEqual(
      stageCacheKey(
        'train',
        { input, split, preprocessor: { ...preprocessor, preprocessor: ref('preprocessor', '9') } },
        CODE,
      ),
      base,
    );
    assert.notEqual(stageCacheKey('train', { input: { ...input, model: 'other' }, split, preprocessor }, CODE), base);
    assert.notEqual(stageCacheKey('train', { input, split, preprocessor }, '0.1.0+def5678'), base);
    assert.equal(
      stageCacheKey(
        'train',
        {
          input: {
            ...input,
            evaluate: { ...input.evaluate, slices: [] },
            promotion: { ...input.promotion, policy: 'manual' },
          },
          split,
          preprocessor,
        },
        CODE,
      ),
      base,
    );
  });

  it('train depends on the champion only when warm-starting from it; validation and evaluation always', () => {
    const cold = stageCacheKey('train', { input, split, preprocessor }, CODE);
    assert.equal(stageCacheKey('train', { input, split, preprocessor, champion }, CODE), cold);
    const warm = { ...input, train: { ...input.train, warmStart: true } };
    assert.notEqual(
      stageCacheKey('train', { input: warm, split, preprocessor, champion }, CODE),
      stageCacheKey('train', { input: warm, split, preprocessor }, CODE),
    );
    const dataset = { uri: 's3://trainyard/d.csv', sha256: '0'.repeat(64), bytes: 1 };
    assert.notEqual(
      stageCacheKey('validateData', { input, dataset, champion }, CODE),
      stageCacheKey('validateData', { input, dataset }, CODE),
    );
  });

  it('a schema file named in the validation config joins the key by its version', () => {
    const dataset = { uri: 's3://trainyard/d.csv', sha256: '0'.repeat(64), bytes: 1 };
    const withSchema = { ...input, validation: { ...input.validation, schemaUri: 's3://trainyard/schema.json' } };
    assert.deepEqual(configFileUris('validateData', withSchema), ['s3://trainyard/schema.json']);
    assert.deepEqual(configFileUris('train', withSchema), []);
    const v1 = stageCacheKey('validateData', { input: withSchema, dataset }, CODE, {
      's3://trainyard/schema.json': 'etag-1',
    });
    assert.notEqual(
      stageCacheKey('validateData', { input: withSchema, dataset }, CODE, { 's3://trainyard/schema.json': 'etag-2' }),
      v1,
    );
  });

  it('canonicalJson sorts keys at every depth and drops undefined members (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const reversed = Object.fromEntries(Object.entries(value).reverse());
        assert.equal(canonicalJson(reversed), canonicalJson(value));
        assert.deepEqual(JSON.parse(canonicalJson(value)), JSON.parse(JSON.stringify(value)));
      }),
    );
    assert.equal(canonicalJson({ b: 1, a: { d: undefined, c: [2, undefined] } }), '{"a":{"c":[2,null]},"b":1}');
  });

  it('artifactRefsIn finds every reference in a stage result', () => {
    assert.deepEqual(
      artifactRefsIn(split).map((r) => r.sha256[0]),
      ['a', 'b', 'c', 'd'],
    );
    assert.deepEqual(artifactRefsIn({ rows: 3, note: 'x' }), []);
  });
});
