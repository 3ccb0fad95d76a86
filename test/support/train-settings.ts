import { TrainConfig } from '../../contracts/stage-config';
import type { TrainSettings } from '../../lib/model/build-model';
import { planTraining } from '../../lib/model/training-budget';

/**
 * Concrete training settings for tests and benches that build or train a model directly: the given
 * fields, and otherwise the fixed numbers these tests were written against (50 epochs, batch 64,
 * learning rate 0.01) rather than the data-sized defaults a pipeline run gets.
 */
export function trainSettings(raw: Record<string, unknown> = {}): TrainSettings {
  return planTraining(TrainConfig.parse({ epochs: 50, batchSize: 64, learningRate: 0.01, ...raw }), 1).settings;
}
