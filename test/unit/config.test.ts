import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../lib/config';

describe('loadConfig', () => {
  it('defaults to the local filesystem store and the trainyard task queue', () => {
    const config = loadConfig({}, '/srv/app');
    assert.deepEqual(config.store, { kind: 'fs', root: '/srv/app/.data/artifacts' });
    assert.equal(config.temporal.address, '127.0.0.1:7233');
    assert.equal(config.temporal.namespace, 'default');
    assert.equal(config.temporal.taskQueue, 'trainyard');
    assert.equal(config.log.level, 'info');
  });

  it('chooses S3 when an endpoint is set, reading port and TLS from the URL', () => {
    const config = loadConfig({
      S3_ENDPOINT: 'https://minio.internal:9443',
      S3_ACCESS_KEY: 'ak-123',
      S3_SECRET_KEY: 'secret-123',
    });
    assert.equal(config.store.kind, 's3');
    if (config.store.kind !== 's3') return;
    assert.deepEqual(
      {
        endPoint: config.store.s3.endPoint,
        port: config.store.s3.port,
        useSSL: config.store.s3.useSSL,
        bucket: config.store.s3.bucket,
      },
      { endPoint: 'minio.internal', port: 9443, useSSL: true, bucket: 'trainyard' },
    );
  });

  it('lets S3_PORT and S3_USE_SSL override a bare host', () => {
    const config = loadConfig({ S3_ENDPOINT: '127.0.0.1', S3_PORT: '9100', S3_USE_SSL: 'false' });
    assert.ok(config.store.kind === 's3');
    assert.equal(config.store.s3.port, 9100);
    assert.equal(config.store.s3.useSSL, false);
  });

  it('treats empty variables as unset', () => {
    assert.equal(loadConfig({ S3_ENDPOINT: '', LOG_LEVEL: '' }).store.kind, 'fs');
  });

  it('names every bad variable and what was expected, in one error', () => {
    const error = (() => {
      try {
        loadConfig({
          TEMPORAL_ADDRESS: 'nohostport',
          S3_ENDPOINT: 'minio:9000',
          S3_PORT: 'ninety',
          S3_USE_SSL: 'maybe',
          S3_BUCKET: 'Bad_Bucket',
          LOG_LEVEL: 'loud',
          TRAINYARD_STORE: 'gcs',
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof ConfigError);
    const paths = error.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['LOG_LEVEL', 'S3_BUCKET', 'S3_PORT', 'S3_USE_SSL', 'TEMPORAL_ADDRESS', 'TRAINYARD_STORE']);
    assert.match(error.message, /LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent/);
    assert.match(error.message, /S3_USE_SSL: expected true or false/);
  });

  it('caps activity slots only when TRAINYARD_MAX_CONCURRENT_ACTIVITIES is a positive integer', () => {
    assert.equal(loadConfig({}).temporal.maxConcurrentActivities, undefined);
    assert.equal(loadConfig({ TRAINYARD_MAX_CONCURRENT_ACTIVITIES: '4' }).temporal.maxConcurrentActivities, 4);
    for (const bad of ['0', 'x', '2.5', '-1']) {
      assert.throws(
        () => loadConfig({ TRAINYARD_MAX_CONCURRENT_ACTIVITIES: bad }),
        (e: unknown) =>
          e instanceof ConfigError && e.problems.some((p) => p.path === 'TRAINYARD_MAX_CONCURRENT_ACTIVITIES'),
        bad,
      );
    }
  });

  it('requires an endpoint when the s3 store is chosen explicitly', () => {
    assert.throws(
      () => loadConfig({ TRAINYARD_STORE: 's3' }),
      (e: unknown) => e instanceof ConfigError && e.problems[0]?.path === 'S3_ENDPOINT',
    );
  });
});
