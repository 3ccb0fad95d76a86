import type { z } from 'zod';
import { durationMs, type TrainConfig } from '../../contracts/stage-config';
import { PipelineConfigError } from '../../contracts/errors';

/**
 * Training settings that follow from the data when the user leaves them out. A budget in samples seen
 * sets the epochs (small data: many passes; large data: a few), the batch grows with the train split so
 * a pass over millions of rows takes seconds rather than tens of thousands of steps, and Adam's
 * learning rate grows with the square root of the batch (the noise scale of a gradient step). Settings
 * the user gives are kept as given.
 */

export type TrainConfigInput = z.output<typeof TrainConfig>;

/** Every setting concrete; `maxDuration` stays as the user wrote it (a time budget, optional). */
export interface ResolvedTrainSettings extends Omit<TrainConfigInput, 'epochs' | 'batchSize' | 'learningRate'> {
  epochs: number;
  batchSize: number;
  learningRate: number;
}

export interface TrainingPlan {
  settings: ResolvedTrainSettings;
  /** What was chosen for the user and why, in words (the history and the registry record it). */
  choices: string[];
}

/** Samples seen over all epochs: 20M is ~70 s of an MLP on 2 cores (wasm, batch 2048). */
export const SAMPLES_BUDGET = 20_000_000;
export const MIN_EPOCHS = 5;
export const MAX_EPOCHS = 50;
/** The batch is about 1/200 of the train split, a power of two between these. */
export const MIN_BATCH = 32;
export const MAX_BATCH = 2048;
const ROWS_PER_BATCH_DIVISOR = 200;
/** Adam's rate at batch 64 (the former default pair), scaled by √(batch / 64), at most MAX_LEARNING_RATE. */
const BASE_LEARNING_RATE = 0.01;
const BASE_BATCH = 64;
const MAX_LEARNING_RATE = 0.03;

export function planTraining(config: TrainConfigInput, trainRows: number): TrainingPlan {
  const choices: string[] = [];
  const rows = Math.max(1, trainRows);
  const batchSize = config.batchSize ?? autoBatchSize(rows);
  if (config.batchSize === undefined)
    choices.push(
      `batch size ${batchSize}: about 1/${ROWS_PER_BATCH_DIVISOR} of ${trainRows} train rows, a power of two in [${MIN_BATCH}, ${MAX_BATCH}]`,
    );
  const epochs = config.epochs ?? autoEpochs(rows);
  if (config.epochs === undefined)
    choices.push(
      `up to ${epochs} epochs: a budget of ${SAMPLES_BUDGET.toLocaleString('en-US')} samples seen over ${trainRows} rows, in [${MIN_EPOCHS}, ${MAX_EPOCHS}]`,
    );
  const learningRate = config.learningRate ?? autoLearningRate(config.optimizer, batchSize);
  if (config.learningRate === undefined) {
    choices.push(
      config.optimizer === 'adam'
        ? `learning rate ${learningRate}: ${BASE_LEARNING_RATE} at batch ${BASE_BATCH}, scaled by √(batch/${BASE_BATCH}), at most ${MAX_LEARNING_RATE}`
        : `learning rate ${learningRate} (${config.optimizer}'s default)`,
    );
  }
  if (config.model === 'gbdt' && config.gbdt.subsample === undefined && rows > MAX_ROWS_PER_TREE)
    choices.push(
      `gbdt subsample ${autoSubsample(rows)}: each round grows its trees on ${MAX_ROWS_PER_TREE.toLocaleString('en-US')} of ${trainRows} train rows, drawn afresh per round`,
    );
  return { settings: { ...config, epochs, batchSize, learningRate }, choices };
}

/**
 * Rows a gbdt round grows its trees on when `gbdt.subsample` is unset. Histograms over more rows cost time
 * in proportion and change the splits little; stochastic boosting on a fresh draw per round loses nothing
 * measurable (bench scale: flights × 10).
 */
export const MAX_ROWS_PER_TREE = 4_000_000;

export function autoSubsample(trainRows: number): number {
  return trainRows <= MAX_ROWS_PER_TREE ? 1 : Number((MAX_ROWS_PER_TREE / trainRows).toPrecision(3));
}

export function autoBatchSize(trainRows: number): number {
  const target = trainRows / ROWS_PER_BATCH_DIVISOR;
  const power = 2 ** Math.round(Math.log2(Math.max(1, target)));
  return Math.min(MAX_BATCH, Math.max(MIN_BATCH, power));
}

export function autoEpochs(trainRows: number): number {
  return Math.min(MAX_EPOCHS, Math.max(MIN_EPOCHS, Math.ceil(SAMPLES_BUDGET / trainRows)));
}

export function autoLearningRate(optimizer: TrainConfigInput['optimizer'], batchSize: number): number {
  if (optimizer !== 'adam') return BASE_LEARNING_RATE;
  const scaled = BASE_LEARNING_RATE * Math.sqrt(batchSize / BASE_BATCH);
  return Number(Math.min(MAX_LEARNING_RATE, Math.max(BASE_LEARNING_RATE / 2, scaled)).toPrecision(3));
}

/** After this much of the first epoch, its length is projected to check the time budget. */
export const PROJECTION_AFTER_MS = 1_000;

/**
 * `train.maxDuration` cannot fit one epoch: a config error a person fixes, not a failure to retry. It
 * crosses the training thread as a plain error whose `type` and `nonRetryable` the activity keeps.
 */
export class MaxDurationTooShort extends PipelineConfigError {
  constructor(maxDuration: string, projectedEpochMs: number, rowsPerSecond: number, trainRows: number) {
    super(
      `train.maxDuration ${maxDuration} is too short to finish one epoch: at ${Math.round(rowsPerSecond)} rows/s the first epoch over ` +
        `${trainRows} train rows would take about ${Math.ceil(projectedEpochMs / 1000)} s. Raise train.maxDuration, or sample the train split.`,
      [
        {
          path: 'train.maxDuration',
          message: `at least ${Math.ceil(projectedEpochMs / 1000)}s is needed for one epoch`,
        },
      ],
    );
    this.name = 'MaxDurationTooShort';
  }
}

/** The time budget in milliseconds, or Infinity without one. */
export function budgetMs(settings: Pick<ResolvedTrainSettings, 'maxDuration'>): number {
  return settings.maxDuration ? durationMs(settings.maxDuration) : Number.POSITIVE_INFINITY;
}
