import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { ArtifactKind, ArtifactRef } from '../../contracts/artifacts';
import type { PipelineInputDraft } from '../../contracts/pipeline-input';
import type { CacheOutcome } from '../../contracts/stages';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { PinoTemporalLogger } from '../../worker/temporal-logger';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { installTemporalRuntime } from '../../worker/runtime';

/** The activities trainingPipeline calls. */
export type PipelineActivity =
  | 'getChampion'
  | 'fingerprintDataset'
  | 'validateData'
  | 'splitAndSample'
  | 'fitPreprocessor'
  | 'train'
  | 'evaluate'
  | 'registerModel'
  | 'promote';

export type StageStubs = { [K in PipelineActivity]: Activities[K] };
type StageArgument<K extends PipelineActivity> = Parameters<Activities[K]>[0];

/** Every call a run made to its stubs, by activity, arguments in call order. */
export type StubCalls = { [K in PipelineActivity]: StageArgument<K>[] };

/**
 * The real trainingPipeline workflow on the real dev server (TestWorkflowEnvironment over the running
 * Temporal, on a task queue of its own), with plain functions in place of the activities. Each run gets its
 * own stubs, found by its workflow id, so tests in one file do not share behaviour or call counts.
 */
export interface StubPipelineHarness {
  env: TestWorkflowEnvironment;
  client: Client;
  taskQueue: string;
  /** The bundle the worker runs, for replay checks. */
  workflowBundle: { code: string };
  /** Starts a run whose activities are `stubs` (the canned stages, some replaced). */
  start(input: PipelineInputDraft, stubs?: Partial<StageStubs>): Promise<StubbedRun>;
  close(): Promise<void>;
}

export interface StubbedRun {
  handle: WorkflowHandle;
  calls: StubCalls;
}

const ACTIVITIES: readonly PipelineActivity[] = [
  'getChampion',
  'fingerprintDataset',
  'validateData',
  'splitAndSample',
  'fitPreprocessor',
  'train',
  'evaluate',
  'registerModel',
  'promote',
];

export async function startStubPipelineHarness(): Promise<StubPipelineHarness> {
  const config = loadConfig();
  const logger = createLogger({ level: config.log.level, format: 'json' });
  installTemporalRuntime(logger);
  // No time-skipping server offline (the SDK downloads it): the running dev server, with short timeouts.
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: config.temporal.address,
    namespace: config.temporal.namespace,
  });
  const runs = new Map<string, { stubs: StageStubs; calls: StubCalls }>();
  const dispatch = (name: PipelineActivity) =>
    async function stub(argument: unknown): Promise<unknown> {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
      const run = runs.get(workflowId);
      if (!run) throw ApplicationFailure.nonRetryable(`no stubs for run ${workflowId}`, 'TestSetupError');
      (run.calls[name] as unknown[]).push(argument);
      return (run.stubs[name] as (a: unknown) => Promise<unknown>)(argument);
    };
  const taskQueue = `test-stub-pipeline-${randomUUID()}`;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new PinoTemporalLogger(logger.child({ level: 'warn' })),
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowBundle,
    activities: Object.fromEntries(ACTIVITIES.map((name) => [name, dispatch(name)])),
    shutdownGraceTime: '1 second',
  });
  const running = worker.run();
  return {
    env,
    client: env.client,
    taskQueue,
    workflowBundle,
    async start(input, stubs = {}) {
      const workflowId = `stub-pipeline-${randomUUID()}`;
      const calls = Object.fromEntries(ACTIVITIES.map((name) => [name, []])) as unknown as StubCalls;
      runs.set(workflowId, { stubs: { ...cannedStages(), ...stubs }, calls });
      const handle = await env.client.workflow.start('trainingPipeline', { taskQueue, workflowId, args: [input] });
      return { handle, calls };
    },
    async close() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/** A minimal pipeline input with a fresh model name; tests add the promotion or operator settings they need. */
export function stubInput(overrides: Partial<PipelineInputDraft> = {}): PipelineInputDraft {
  return {
    model: `stub-${randomUUID().slice(0, 8)}`,
    dataset: { uri: 's3://trainyard/test/stub/penguins.json' },
    task: { type: 'multiclass', label: 'Species' },
    ...overrides,
  };
}

/** How many times each activity was called, leaving out those never called. */
export function callCounts(calls: StubCalls): Partial<Record<PipelineActivity, number>> {
  return Object.fromEntries(
    Object.entries(calls)
      .filter(([, list]) => list.length > 0)
      .map(([n, l]) => [n, l.length]),
  );
}

/** A stage failing on bad data: non-retryable, so the run waits for an operator. */
export function badData(message = 'the label column "Species" is missing'): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'DataValidationFailed', [{ path: 'Species', message: 'missing' }]);
}

/** What each stage returns on a good run: a blessed model registered as version 1. */
export function cannedStages(): StageStubs {
  return {
    getChampion: async () => null,
    fingerprintDataset: async ({ uri }) => ({ uri, sha256: sha('dataset'), bytes: 4_096 }),
    validateData: async () => ({
      rows: 344,
      columns: 7,
      statistics: ref('statistics'),
      schema: ref('schema'),
      anomalies: ref('anomalies'),
      warnings: [],
      schemaSource: 'inferred',
      cache: miss('validateData'),
    }),
    splitAndSample: async () => ({
      manifest: ref('split-manifest'),
      splits: { train: ref('split', 'train'), validation: ref('split', 'validation'), test: ref('split', 'test') },
      rows: { train: 240, validation: 52, test: 52 },
      strategy: 'random',
      cache: miss('splitAndSample'),
    }),
    fitPreprocessor: async () => ({
      preprocessor: ref('preprocessor'),
      featureCount: 9,
      classes: ['a', 'b', 'c'],
      cache: miss('fitPreprocessor'),
    }),
    train: async () => ({
      model: ref('model'),
      history: ref('history'),
      backend: 'cpu',
      epochsRun: 3,
      bestEpoch: 3,
      resumedFromEpoch: 0,
      warmStart: { used: false, reason: 'no champion' },
      trainMs: 10,
      cache: miss('train'),
    }),
    evaluate: async () => ({
      evaluation: ref('evaluation'),
      report: ref('report'),
      reportUrl: 'http://127.0.0.1:9000/trainyard/test/stub/report.html',
      decision: 'blessed',
      reasons: ['accuracy 0.97 ≥ 0.9'],
      metrics: { accuracy: 0.97 },
      cache: miss('evaluate'),
    }),
    registerModel: async ({ input }) => ({
      model: input.model,
      version: 1,
      uri: 's3://trainyard/test/stub/registry/v1.json',
      existed: false,
    }),
    promote: async ({ model, alias, version }) => ({ model, alias, version }),
  };
}

/** Stubs never consult the re-run cache. */
function miss(stage: string): CacheOutcome {
  return { key: sha(stage), hit: false, bypassed: 'stubbed' };
}

function ref(kind: ArtifactKind, name: string = kind): ArtifactRef {
  return { kind, uri: `s3://trainyard/test/stub/${name}.json`, sha256: sha(name), bytes: 100 };
}

function sha(seed: string): string {
  return Buffer.from(seed.padEnd(32, '.')).toString('hex').slice(0, 64);
}
