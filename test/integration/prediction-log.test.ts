import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { loadConfig } from '../../lib/config';
import { PredictionLog, type PredictionRecord } from '../../lib/serving/prediction-log';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';
import { readObject } from '../../lib/store/read-object';

function record(time: string, n: number): PredictionRecord {
  return {
    id: randomUUID(),
    time,
    model: 'penguins',
    version: 1,
    input: { Island: 'Biscoe', 'Body Mass (g)': n },
    output: { class: 'Gentoo', probabilities: { Adelie: 0.1, Gentoo: 0.9 } },
  };
}

async function readLog(store: ArtifactStore, prefix: string): Promise<Map<string, PredictionRecord[]>> {
  const byKey = new Map<string, PredictionRecord[]>();
  for await (const info of store.list(`${prefix}/`)) {
    const text = (await readObject(store, info.key)).toString('utf8');
    byKey.set(
      info.key.slice(prefix.length + 1),
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as PredictionRecord),
    );
  }
  return byKey;
}

/** The prediction log against the real MinIO. */
describe('prediction log (real MinIO)', () => {
  let store: ArtifactStore;
  before(async () => {
    store = createArtifactStore(loadConfig().store);
    await store.ensureReady();
  });

  it('writes on its interval, one JSONL object per UTC date partition', async () => {
    const prefix = `test/${randomUUID().slice(0, 8)}/predictions`;
    const log = new PredictionLog(store, 'penguins', { prefix, flushIntervalMs: 50 });
    const records = [
      record('2026-12-06T23:59:59.999Z', 1),
      record('2026-12-07T00:00:00.000Z', 2),
      record('2026-12-07T08:00:00.000Z', 3),
    ];
    log.append(records);
    log.start();
    // Bounded wait for the timer's flush (no close(), which would flush by itself).
    for (let i = 0; i < 400 && log.counts.written < 3; i++) await sleep(50);
    assert.equal(log.counts.written, 3, 'the interval flush wrote every record');
    await log.close();
    const written = await readLog(store, prefix);
    const keys = [...written.keys()].sort();
    assert.equal(keys.length, 2);
    assert.match(keys[0] as string, /^date=2026-12-06\/\d{8}T\d{9}Z-[0-9a-f]{8}-\d{6}\.jsonl$/);
    assert.match(keys[1] as string, /^date=2026-12-07\//);
    assert.deepEqual(
      written.get(keys[0] as string)?.map((r) => r.id),
      [records[0]?.id],
    );
    assert.deepEqual(written.get(keys[1] as string), [records[1], records[2]]);
  });

  it('a flush the store refuses keeps its records, in order, for the next flush', async () => {
    const prefix = `test/${randomUUID().slice(0, 8)}/predictions`;
    let refuse = true;
    const flaky = new Proxy(store, {
      get: (target, property, receiver) =>
        property === 'put' && refuse
          ? async () => {
              refuse = false;
              throw new Error('store unreachable');
            }
          : Reflect.get(target, property, receiver),
    });
    const failures: number[] = [];
    const log = new PredictionLog(flaky, 'penguins', {
      prefix,
      onFlushError: (_e, buffered) => failures.push(buffered),
    });
    const first = [record('2026-12-07T01:00:00.000Z', 1), record('2026-12-07T01:00:01.000Z', 2)];
    log.append(first);
    await assert.rejects(log.flush(), /store unreachable/);
    assert.deepEqual(failures, [2]);
    assert.equal(log.buffered, 2);
    const later = record('2026-12-07T01:00:02.000Z', 3);
    log.append([later]);
    await log.close();
    const written = [...(await readLog(store, prefix)).values()].flat();
    assert.deepEqual(
      written.map((r) => r.id),
      [...first, later].map((r) => r.id),
    );
  });

  it('holds at most maxBufferedRecords, dropping the oldest and counting them', () => {
    const log = new PredictionLog(store, 'penguins', { maxBufferedRecords: 2 });
    log.append([record('2026-12-07T01:00:00.000Z', 1), record('2026-12-07T01:00:01.000Z', 2)]);
    log.append([record('2026-12-07T01:00:02.000Z', 3)]);
    assert.equal(log.buffered, 2);
    assert.equal(log.counts.dropped, 1);
  });
});
