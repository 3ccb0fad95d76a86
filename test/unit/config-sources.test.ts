import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfigWithSources } from '../../lib/config';

const devServices = {
  TEMPORAL_ADDRESS: '127.0.0.1:7300',
  TEMPORAL_UI_URL: 'http://127.0.0.1:8300',
  TRAINYARD_STORE: 's3',
  S3_ENDPOINT: 'http://127.0.0.1:9100',
  S3_ACCESS_KEY: 'devuser',
  S3_SECRET_KEY: 'dev-secret-123',
};

describe('loadConfigWithSources', () => {
  it('takes what the environment leaves unset from the dev services, and says so per variable', () => {
    const { config, sources } = loadConfigWithSources({}, devServices, '/srv/app');
    assert.equal(config.temporal.address, '127.0.0.1:7300');
    assert.equal(config.temporal.uiUrl, 'http://127.0.0.1:8300');
    assert.deepEqual(config.store.kind === 's3' && [config.store.s3.port, config.store.s3.accessKey], [
      9100,
      'devuser',
    ]);
    assert.equal(sources.TEMPORAL_ADDRESS, 'dev services');
    assert.equal(sources.S3_SECRET_KEY, 'dev services');
    assert.equal(sources.TEMPORAL_NAMESPACE, 'default');
    assert.equal(sources.S3_BUCKET, 'default');
  });

  it('an explicit variable wins, one by one; an empty one counts as unset', () => {
    const env = { TEMPORAL_ADDRESS: 'temporal.internal:7233', S3_ACCESS_KEY: '', TRAINYARD_STORE: 'fs' };
    const { config, sources } = loadConfigWithSources(env, devServices, '/srv/app');
    assert.equal(config.temporal.address, 'temporal.internal:7233');
    assert.equal(sources.TEMPORAL_ADDRESS, 'env');
    assert.equal(config.temporal.uiUrl, 'http://127.0.0.1:8300');
    assert.equal(sources.TEMPORAL_UI_URL, 'dev services');
    assert.equal(config.store.kind, 'fs');
    assert.equal(sources.TRAINYARD_STORE, 'env');
    assert.equal(sources.S3_ACCESS_KEY, 'dev services');
  });

  it('with no dev services it is loadConfig: defaults, and bad variables named', () => {
    const { config, sources } = loadConfigWithSources({}, {}, '/srv/app');
    assert.deepEqual(config.store, { kind: 'fs', root: '/srv/app/.data/artifacts' });
    assert.ok(Object.values(sources).every((source) => source === 'default'));
    assert.throws(
      () => loadConfigWithSources({ TEMPORAL_ADDRESS: 'nope' }, devServices),
      (error: unknown) => error instanceof ConfigError && /TEMPORAL_ADDRESS/.test(error.message),
    );
  });
});
