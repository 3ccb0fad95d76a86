import { upsertSearchAttributes } from '@temporalio/workflow';
import type { BatchPredictStage } from '../contracts/batch-predict-retry';
import type { BatchPredictOutcome, BatchPredictStatus } from './batch-predict-messages';
import type { OperatorWait, RetryRecord } from './messages';
import type { OperatorDeskHost } from './operator-desk';
import { TrainyardModel, TrainyardOutcome, TrainyardStage } from './search-attributes';

/**
 * Keeps batchPredict's `status` answer and its TrainyardStage / TrainyardOutcome search attributes current,
 * and is the OperatorDesk's host: predictBatch failing on bad data waits for an operator here.
 */
export class BatchPredictTracker implements OperatorDeskHost<BatchPredictStage> {
  private readonly state: BatchPredictStatus;
  private failed?: BatchPredictStage;
  private stageAttribute = 'resolveModel';

  /** Sets the search attributes a run starts with: its model, the first stage, outcome running. */
  constructor(model: string, datasetUri: string) {
    this.state = { model, datasetUri, stage: 'resolving the model', outcome: 'running' };
    upsertSearchAttributes([
      { key: TrainyardModel, value: model.split(/[@:]/, 1)[0] as string },
      { key: TrainyardStage, value: this.stageAttribute },
      { key: TrainyardOutcome, value: 'running' },
    ]);
  }

  get status(): Readonly<BatchPredictStatus> {
    return this.state;
  }

  /** Runs one activity; its failure is remembered for the operator desk. */
  async run<T>(stage: BatchPredictStage, activity: () => Promise<T>): Promise<T> {
    this.failed = undefined;
    this.state.stage = stage === 'resolvePredictionModel' ? 'resolving the model' : 'predicting';
    const attribute = stage === 'resolvePredictionModel' ? 'resolveModel' : stage;
    if (attribute !== this.stageAttribute) upsertSearchAttributes([{ key: TrainyardStage, value: attribute }]);
    this.stageAttribute = attribute;
    try {
      return await activity();
    } catch (error) {
      this.failed = stage;
      throw error;
    }
  }

  recordVersion(version: number, shadowVersion?: number): void {
    this.state.version = version;
    if (shadowVersion !== undefined) this.state.shadowVersion = shadowVersion;
  }

  recordDataset(uri: string): void {
    this.state.datasetUri = uri;
  }

  /** Only predictBatch waits for an operator: a model reference that resolves to nothing needs a new run. */
  failedStage(): BatchPredictStage | undefined {
    return this.failed === 'predictBatch' ? this.failed : undefined;
  }

  note(_stage: BatchPredictStage, note: string): void {
    this.state.note = note;
  }

  awaitOperator(wait: OperatorWait<BatchPredictStage>): void {
    this.setOutcome('awaiting-operator');
    this.state.awaitingOperator = wait;
  }

  stopAwaitingOperator(): void {
    delete this.state.awaitingOperator;
  }

  retry(record: RetryRecord<BatchPredictStage>): void {
    (this.state.retries ??= []).push(record);
    this.setOutcome('running');
  }

  succeed(result: NonNullable<BatchPredictStatus['result']>): void {
    this.state.stage = 'done';
    this.state.result = result;
    this.setOutcome('succeeded');
  }

  fail(outcome: 'failed' | 'cancelled', failure: NonNullable<BatchPredictStatus['failure']>): void {
    this.state.failure = failure;
    this.setOutcome(outcome);
  }

  setOutcome(outcome: BatchPredictOutcome): void {
    if (this.state.outcome === outcome) return;
    this.state.outcome = outcome;
    upsertSearchAttributes([{ key: TrainyardOutcome, value: outcome }]);
  }
}
