import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { validateDataActivity } from '../../activities/validate-data';
import type { ArtifactRef } from '../../contracts/artifacts';
import { FailureType } from '../../contracts/errors';
import { PipelineInput, type PipelineInputDraft } from '../../contracts/pipeline-input';
import type { Anomaly, ChampionRefs, ValidateDataResult } from '../../contracts/stage-results';
import { loadConfig } from '../../lib/config';
import { openDuckDb, type DuckDbSession } from '../../lib/data/duckdb';
import { quoteIdentifier } from '../../lib/data/identifiers';
import { DatasetSchema } from '../../lib/data/schema';
import { DatasetStatisticsSchema } from '../../lib/data/statistics-schema';
import { createLogger } from '../../lib/logger';
import { stageKey } from '../../lib/run-keys';
import type { ArtifactStore } from '../../lib/store/artifact-store';
import { createArtifactStore } from '../../lib/store/create-store';

/**
 * validateData against the real MinIO: real public data from the vega-datasets npm package (penguins
 * with nulls, cars and movies with messy values, seattle-weather for seasonal drift) and generated data
 * with planted defects, each of which must be caught by the right check; every supported format.
 */
const require = createRequire(import.meta.url);
const VEGA = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data');

type Check = { severity: string; check: string; column?: string };
const summary = (anomalies: Anomaly[]): string[] =>
  anomalies.map((a: Check) => `${a.severity}:${a.check}${a.column !== undefined ? `:${a.column}` : ''}`);

/** A clean binary dataset: x1 drives the label (with noise), x2 and colour are noise. Deterministic (hash-based). */
const CLEAN_SQL = `
  SELECT x1, x2, colour, CASE WHEN x1 + noise > 0 THEN 'yes' ELSE 'no' END AS label FROM (
    SELECT (hash(i, 'a') % 1000000) / 1e6 * 4 - 2 AS x1,
           (hash(i, 'b') % 1000000) / 1e4 AS x2,
           ['red', 'green', 'blue'][CAST(1 + hash(i, 'c') % 3 AS BIGINT)] AS colour,
           ((hash(i, 'd') % 1000000) / 1e6 - 0.5) * 3 AS noise
    FROM range(2000) r(i))`;

describe('validateData activity (real MinIO)', () => {
  let store: ArtifactStore;
  let session: DuckDbSession;
  let scratch: string;
  const prefix = `test/validate-${randomUUID().slice(0, 8)}`;
  const validateData = () => validateDataActivity({ store, logger: createLogger({ level: 'warn', format: 'json' }) });

  before(async () => {
    const config = loadConfig();
    if (config.store.kind !== 's3')
      throw new Error('Integration tests run against the real MinIO: set S3_ENDPOINT and TRAINYARD_STORE=s3.');
    store = createArtifactStore(config.store);
    await store.ensureReady();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'trainyard-validate-test-'));
    session = await openDuckDb({ threads: 1, memoryLimit: '512MB', allowedDirectories: [os.tmpdir(), VEGA] });
    await session.run(`CREATE TABLE clean AS ${CLEAN_SQL}`);
  });
  after(async () => {
    await session?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  /** Writes the result of `sql` to a file with DuckDB's COPY options and uploads it; returns its URI. */
  async function upload(name: string, sql: string, copyOptions = '(FORMAT csv, HEADER true)'): Promise<string> {
    const file = path.join(scratch, name.replaceAll('/', '_'));
    await session.run(`COPY (${sql}) TO '${file.replaceAll("'", "''")}' ${copyOptions}`);
    return (await store.putFile(`${prefix}/${name}`, file)).uri;
  }

  async function uploadFile(name: string, localPath: string): Promise<string> {
    return (await store.putFile(`${prefix}/${name}`, localPath)).uri;
  }

  function input(uri: string, over: Partial<PipelineInputDraft> = {}): PipelineInput {
    return PipelineInput.parse({
      model: 'validate-test',
      dataset: { uri },
      task: { type: 'binary', label: 'label' },
      ...over,
    });
  }

  async function run(
    pipelineInput: PipelineInput,
    champion?: ChampionRefs,
    onHeartbeat?: (details: unknown) => void,
  ): Promise<{ result: ValidateDataResult; workflowId: string }> {
    const workflowId = `wf-${randomUUID().slice(0, 8)}`;
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId, runId: 'run-1' } } as never);
    if (onHeartbeat) env.on('heartbeat', onHeartbeat);
    const result = (await env.run(validateData(), {
      input: pipelineInput,
      dataset: { uri: pipelineInput.dataset.uri, sha256: '0'.repeat(64), bytes: 0 },
      ...(champion ? { champion } : {}),
    })) as ValidateDataResult;
    return { result, workflowId };
  }

  async function runExpectingFailure(
    pipelineInput: PipelineInput,
    type: string,
    champion?: ChampionRefs,
  ): Promise<{ failure: ApplicationFailure; workflowId: string }> {
    const workflowId = `wf-${randomUUID().slice(0, 8)}`;
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId, runId: 'run-1' } } as never);
    try {
      await env.run(validateData(), {
        input: pipelineInput,
        dataset: { uri: pipelineInput.dataset.uri, sha256: '0'.repeat(64), bytes: 0 },
        ...(champion ? { champion } : {}),
      });
    } catch (error) {
      assert.ok(error instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(error)}`);
      assert.equal(error.type, type, error.message);
      assert.equal(error.nonRetryable, true);
      return { failure: error, workflowId };
    }
    assert.fail(`expected ${type}, but validation passed`);
  }

  async function readJson(key: string): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }

  const errorsOf = (failure: ApplicationFailure) => (failure.details?.[0] as { errors: Anomaly[] }).errors;

  function championFrom(result: ValidateDataResult): ChampionRefs {
    const placeholder: ArtifactRef = {
      kind: 'model',
      uri: result.statistics.uri,
      sha256: result.statistics.sha256,
      bytes: 1,
    };
    return {
      model: 'validate-test',
      version: 1,
      modelRef: placeholder,
      schema: result.schema,
      statistics: result.statistics,
      preprocessor: { ...placeholder, kind: 'preprocessor' },
      metrics: {},
    };
  }

  describe('real public data', () => {
    it('penguins (multiclass, with nulls): no false errors; statistics, schema and report written', async () => {
      const uri = await uploadFile('penguins.json', path.join(VEGA, 'penguins.json'));
      const beats: unknown[] = [];
      const { result, workflowId } = await run(
        input(uri, { task: { type: 'multiclass', label: 'Species' } }),
        undefined,
        (d) => beats.push(d),
      );
      assert.equal(result.rows, 344);
      assert.equal(result.columns, 7);
      assert.equal(result.schemaSource, 'inferred');
      assert.ok(beats.length > 0, 'heartbeats while downloading');
      assert.equal(
        result.statistics.uri,
        store.uriFor(stageKey('validate-test', workflowId, 'validateData', 'statistics.json')),
      );
      const statistics = DatasetStatisticsSchema.parse(await readJson(store.keyFor(result.statistics.uri)));
      const beak = statistics.columns.find((c) => c.name === 'Beak Length (mm)');
      assert.equal(beak?.missingCount, 2);
      assert.ok(beak?.numeric && beak.numeric.histogram.counts.reduce((s, c) => s + c, 0) === 342);
      const schema = DatasetSchema.parse(await readJson(store.keyFor(result.schema.uri)));
      assert.deepEqual(schema.label, { column: 'Species', classes: ['Adelie', 'Chinstrap', 'Gentoo'] });
      const report = (await readJson(store.keyFor(result.anomalies.uri))) as { errors: number; anomalies: Anomaly[] };
      assert.equal(report.errors, 0);
      assert.deepEqual(
        summary(result.warnings).filter((s) => s.startsWith('error')),
        [],
      );
    });

    it('cars (messy nulls, text names): passes; a derived label from a numeric column works', async () => {
      const uri = await uploadFile('cars.json', path.join(VEGA, 'cars.json'));
      const { result } = await run(
        input(uri, {
          task: { type: 'binary', label: { column: 'Miles_per_Gallon', op: '>=', value: 25, name: 'efficient' } },
        }),
      );
      assert.equal(result.rows, 406);
      const statistics = DatasetStatisticsSchema.parse(await readJson(store.keyFor(result.statistics.uri)));
      assert.equal(statistics.label?.column, 'efficient');
      assert.equal(statistics.label?.missingCount, 8); // cars without a recorded MPG
      assert.equal(statistics.columns.find((c) => c.name === 'Name')?.type, 'text');
      // The derived label's source column predicts it by construction and is not flagged as a leak.
      assert.ok(!summary(result.warnings).some((s) => s.includes('label-leakage')));
    });

    it('movies (mostly-missing columns): fails with DataValidationFailed after writing the report', async () => {
      const uri = await uploadFile('movies.json', path.join(VEGA, 'movies.json'));
      const { failure, workflowId } = await runExpectingFailure(
        input(uri, { task: { type: 'multiclass', label: 'MPAA Rating' } }),
        FailureType.DataValidationFailed,
      );
      const errors = errorsOf(failure);
      assert.ok(summary(errors).includes('error:missing-fraction:US DVD Sales'), summary(errors).join(', '));
      assert.match(
        failure.message,
        /Column "US DVD Sales" is missing in 82% of rows \(threshold 30%\): fill or drop it, or raise validation.maxMissingFraction\./,
      );
      const report = (await readJson(stageKey('validate-test', workflowId, 'validateData', 'anomalies.json'))) as {
        errors: number;
        anomalies: Anomaly[];
      };
      assert.equal(report.errors, errors.length);
    });

    it('seattle-weather: summer validated against a winter champion shows seasonal drift', async () => {
      const csv = path.join(VEGA, 'seattle-weather.csv');
      const winter = await upload(
        'weather/winter.csv',
        `SELECT * FROM read_csv('${csv}') WHERE month(date) IN (12, 1, 2)`,
      );
      const summer = await upload(
        'weather/summer.csv',
        `SELECT * FROM read_csv('${csv}') WHERE month(date) IN (6, 7, 8)`,
      );
      const weather = { task: { type: 'multiclass' as const, label: 'weather' } };
      const first = await run(input(winter, weather));
      const { result } = await run(input(summer, weather), championFrom(first.result));
      assert.equal(result.schemaSource, 'champion');
      assert.equal(result.driftReference, first.result.statistics.uri);
      const found = summary(result.warnings);
      for (const expected of [
        'warning:drift-psi:temp_max',
        'warning:drift-psi:temp_min',
        'warning:drift-jensen-shannon:weather',
      ]) {
        assert.ok(found.includes(expected), `${expected} in ${found.join(', ')}`);
      }
      const report = (await readJson(store.keyFor(result.anomalies.uri))) as {
        drift: {
          outcome: string;
          columns: {
            column: string;
            metric: string;
            value: number;
            binning: string;
            adjustedPValue: number;
            drifted: boolean;
          }[];
        };
      };
      assert.equal(report.drift.outcome, 'judged');
      const tempMax = report.drift.columns.find((d) => d.column === 'temp_max');
      assert.ok(
        tempMax &&
          tempMax.metric === 'psi' &&
          tempMax.binning === 'quantile' &&
          tempMax.value > 1 &&
          tempMax.adjustedPValue < 1e-10 &&
          tempMax.drifted,
        JSON.stringify(tempMax),
      );
      // And the same season against itself does not drift.
      const again = await run(input(winter, weather), championFrom(first.result));
      assert.ok(
        !summary(again.result.warnings).some((s) => s.includes('drift')),
        summary(again.result.warnings).join(', '),
      );
    });
  });

  describe('planted defects, each caught by the right check', () => {
    let clean: ValidateDataResult;

    before(async () => {
      clean = (await run(input(await upload('clean.csv', 'SELECT * FROM clean')))).result;
    });

    it('the clean dataset has no errors and no warnings', () => {
      assert.equal(clean.rows, 2000);
      assert.deepEqual(summary(clean.warnings), []);
    });

    it('a leaky column: label-leakage error; listed in leakage.allow it becomes a warning', async () => {
      const uri = await upload(
        'leaky.csv',
        "SELECT *, CASE label WHEN 'yes' THEN 1 ELSE 0 END + (hash(x2) % 100) / 1000 AS outcome_code FROM clean",
      );
      const { failure } = await runExpectingFailure(input(uri), FailureType.DataValidationFailed);
      assert.deepEqual(summary(errorsOf(failure)), ['error:label-leakage:outcome_code']);
      assert.match(
        failure.message,
        /Column "outcome_code" looks like label leakage: alone it predicts the label with ROC-AUC 1 \(threshold 0.99\)/,
      );
      const { result } = await run(input(uri, { validation: { leakage: { allow: ['outcome_code'] } } }));
      assert.deepEqual(summary(result.warnings), ['warning:label-leakage:outcome_code']);
    });

    it('a shifted distribution: drift-psi against the reference statistics, an error when drift severity is error', async () => {
      const uri = await upload('shifted.csv', 'SELECT x1 + 1.5 AS x1, x2, colour, label FROM clean');
      const reference = { referenceStatisticsUri: clean.statistics.uri };
      const { result } = await run(input(uri, { validation: reference }));
      assert.deepEqual(summary(result.warnings), ['warning:drift-psi:x1']);
      const { failure } = await runExpectingFailure(
        input(uri, { validation: { ...reference, drift: { severity: 'error' } } }),
        FailureType.DataValidationFailed,
      );
      assert.deepEqual(summary(errorsOf(failure)), ['error:drift-psi:x1']);
    });

    it('a wrong type: type-mismatch against the provided schema, with the bad values named', async () => {
      const uri = await upload(
        'wrong-type.csv',
        "SELECT x1, CASE WHEN hash(x2) % 50 = 0 THEN 'n/a' ELSE CAST(x2 AS VARCHAR) END AS x2, colour, label FROM clean",
      );
      const { failure } = await runExpectingFailure(
        input(uri, { validation: { schemaUri: clean.schema.uri } }),
        FailureType.DataValidationFailed,
      );
      assert.deepEqual(summary(errorsOf(failure)), ['error:type-mismatch:x2']);
      assert.match(
        failure.message,
        /Column "x2" is text \(VARCHAR\) but the provided schema says numeric: 9\d% of its values are numbers; fix values like "n\/a"/,
      );
    });

    it('an all-null column: missing-fraction', async () => {
      const uri = await upload(
        'all-null.parquet',
        'SELECT *, CAST(NULL AS DOUBLE) AS forgotten FROM clean',
        '(FORMAT parquet)',
      );
      const { failure } = await runExpectingFailure(input(uri), FailureType.DataValidationFailed);
      assert.deepEqual(summary(errorsOf(failure)), ['error:missing-fraction:forgotten']);
      assert.match(failure.message, /Column "forgotten" is missing in every row/);
    });

    it('a single class: single-class', async () => {
      const uri = await upload('single-class.csv', "SELECT x1, x2, colour, 'yes' AS label FROM clean");
      const { failure } = await runExpectingFailure(input(uri), FailureType.DataValidationFailed);
      assert.deepEqual(summary(errorsOf(failure)), ['error:single-class:label']);
    });

    it('NaN and Infinity: non-finite-values', async () => {
      const uri = await upload(
        'non-finite.parquet',
        "SELECT CASE WHEN hash(x1) % 100 = 0 THEN 'nan'::DOUBLE WHEN hash(x1) % 100 = 1 THEN '-inf'::DOUBLE ELSE x2 END AS x2, x1, colour, label FROM clean",
        '(FORMAT parquet)',
      );
      const { failure } = await runExpectingFailure(input(uri), FailureType.DataValidationFailed);
      assert.deepEqual(summary(errorsOf(failure)), ['error:non-finite-values:x2']);
      assert.match(failure.message, /holds \d+ NaN and \d+ infinite values/);
    });

    it('duplicates, unseen categories and a missing column against the champion', async () => {
      const uri = await upload(
        'many-defects.csv',
        "SELECT x1, CASE WHEN hash(x2) % 5 = 0 THEN 'purple' ELSE colour END AS colour, label FROM clean UNION ALL (SELECT x1, colour, label FROM clean LIMIT 1000)",
      );
      const { failure } = await runExpectingFailure(input(uri), FailureType.DataValidationFailed, championFrom(clean));
      assert.deepEqual(summary(errorsOf(failure)).sort(), [
        'error:duplicate-rows',
        'error:missing-column:x2',
        'error:unseen-categories:colour',
      ]);
    });
  });

  describe('formats', () => {
    const expectClean = (result: ValidateDataResult) => {
      assert.equal(result.rows, 2000);
      assert.equal(result.columns, 4);
      assert.deepEqual(summary(result.warnings), []);
    };

    for (const [name, options] of [
      ['clean.tsv', "(FORMAT csv, HEADER true, DELIMITER '\t')"],
      ['clean.parquet', '(FORMAT parquet)'],
      ['clean.json', '(FORMAT json, ARRAY true)'],
      ['clean.jsonl', '(FORMAT json)'],
      ['clean.ndjson', '(FORMAT json)'],
      ['clean.csv.gz', '(FORMAT csv, HEADER true, COMPRESSION gzip)'],
      ['clean.jsonl.gz', '(FORMAT json, COMPRESSION gzip)'],
    ] as const) {
      it(`reads ${name}`, async () => {
        expectClean((await run(input(await upload(`formats/${name}`, 'SELECT * FROM clean', options)))).result);
      });
    }

    it('sniffs a file without an extension (gzipped JSONL, CSV)', async () => {
      expectClean(
        (await run(input(await upload('formats/export-1', 'SELECT * FROM clean', '(FORMAT json, COMPRESSION gzip)'))))
          .result,
      );
      expectClean(
        (await run(input(await upload('formats/export-2', 'SELECT * FROM clean', '(FORMAT csv, HEADER true)')))).result,
      );
    });

    it('reads every partition under a prefix, skipping marker files', async () => {
      // The last file name is hostile: partition paths reach SQL as string literals in the view.
      const names = [
        'part-0.parquet',
        'part-1.parquet',
        'part-2.parquet',
        'part-3.parquet',
        `part ' "4"; DROP VIEW dataset; --.parquet`,
      ];
      for (const [part, name] of names.entries()) {
        await upload(
          `partitioned/${name}`,
          `SELECT * FROM clean WHERE hash(x1) % ${names.length} = ${part}`,
          '(FORMAT parquet)',
        );
      }
      const marker = path.join(scratch, '_SUCCESS');
      await writeFile(marker, '');
      await uploadFile('partitioned/_SUCCESS', marker);
      expectClean(
        (await run(input(store.uriFor(`${prefix}/partitioned/part-0.parquet`).replace(/part-0\.parquet$/, '')))).result,
      );
    });

    it('keeps hostile column names as data', async () => {
      const hostile = ['x"; DROP TABLE dataset; --', 'line\nbreak', 'z'.repeat(10_000)];
      const uri = await upload(
        'hostile.csv',
        `SELECT x1 AS ${quoteIdentifier(hostile[0] as string)}, x2 AS ${quoteIdentifier(hostile[1] as string)}, colour AS ${quoteIdentifier(hostile[2] as string)}, label FROM clean`,
      );
      const { result } = await run(input(uri));
      assert.equal(result.rows, 2000);
      const statistics = DatasetStatisticsSchema.parse(await readJson(store.keyFor(result.statistics.uri)));
      assert.deepEqual(
        statistics.columns.map((c) => c.name),
        [...hostile, 'label'],
      );
    });
  });

  describe('cancellation', () => {
    it('a cancelled run ends with CancelledFailure, not a data error', async () => {
      const uri = store.uriFor(`${prefix}/clean.csv`);
      const env = new MockActivityEnvironment({
        workflowExecution: { workflowId: `wf-${randomUUID().slice(0, 8)}`, runId: 'run-1' },
      } as never);
      const running = env.run(validateData(), {
        input: input(uri),
        dataset: { uri, sha256: '0'.repeat(64), bytes: 0 },
      });
      env.cancel();
      await assert.rejects(running, (error: Error) => error.name === 'CancelledFailure');
    });
  });

  describe('bad input', () => {
    it('a missing object: DatasetNotFound naming the URI', async () => {
      const uri = store.uriFor(`${prefix}/nope.csv`);
      const { failure } = await runExpectingFailure(input(uri), FailureType.DatasetNotFound);
      assert.ok(failure.message.includes(uri));
    });

    it('an empty prefix: DatasetNotFound', async () => {
      await runExpectingFailure(
        input(store.uriFor(`${prefix}/empty-folder/x`).replace(/x$/, '')),
        FailureType.DatasetNotFound,
      );
    });

    it("a URI outside the worker's bucket: InvalidPipelineConfig", async () => {
      const { failure } = await runExpectingFailure(
        input('s3://some-other-bucket/data.csv'),
        FailureType.InvalidPipelineConfig,
      );
      assert.match(failure.message, /some-other-bucket/);
    });

    it('a garbled file: DatasetUnreadable with the reader reason', async () => {
      const file = path.join(scratch, 'garbled.parquet');
      await writeFile(file, Buffer.from('PAR1 this is not parquet at all, just bytes'));
      const { failure } = await runExpectingFailure(
        input(await uploadFile('garbled.parquet', file)),
        FailureType.DatasetUnreadable,
      );
      assert.match(failure.message, /cannot be read: .+/);
    });

    it('a schemaUri that is not a schema: InvalidPipelineConfig naming the bad fields', async () => {
      const file = path.join(scratch, 'bad-schema.json');
      await writeFile(file, JSON.stringify({ columns: [{ name: 'x1', type: 'number' }] }));
      const { failure } = await runExpectingFailure(
        input(store.uriFor(`${prefix}/clean.csv`), {
          validation: { schemaUri: await uploadFile('bad-schema.json', file) },
        }),
        FailureType.InvalidPipelineConfig,
      );
      assert.match(failure.message, /validation\.schemaUri columns\.0\.type/);
    });

    it('evaluate columns the dataset lacks: InvalidPipelineConfig before any statistics, naming each field', async () => {
      const uri = await uploadFile('penguins.json', path.join(VEGA, 'penguins.json'));
      const evaluate = {
        slices: [{ column: 'Colour', metric: 'accuracy', floor: 0.5 }],
        directional: [{ column: 'Island', direction: 'increase' as const }],
        invariance: [{ column: 'Species' }],
      };
      const { failure, workflowId } = await runExpectingFailure(
        input(uri, { task: { type: 'multiclass', label: 'Species' }, evaluate }),
        FailureType.InvalidPipelineConfig,
      );
      assert.match(failure.message, /evaluate\.slices\.0\.column: column "Colour" is not in the dataset/);
      assert.match(failure.message, /evaluate\.directional\.0\.column: column "Island" is not numeric/);
      assert.match(failure.message, /evaluate\.invariance\.0\.column: the label cannot be perturbed/);
      assert.equal(
        await store.exists(stageKey('validate-test', workflowId, 'validateData', 'statistics.json')),
        false,
        'nothing written',
      );
    });
  });
});
