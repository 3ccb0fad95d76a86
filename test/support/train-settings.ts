import { TrainConfig } from '../../contracts/stage-config';
import type { TrainSettings } from '../../lib/model/build-model';
import { planTraining } from '../../lib/model/training-budget';

/**
 * Concrete training settings for tests and benches that build or train a model directly: the given
 * fields, and otherwise what these tests were written against (an MLP, 50 epochs, batch 64, learning
 * rate 0.01) rather than a pipeline run's defaults (gbdt; data-sized numbers).
 */
export function trainSettings(raw: Record<string, unknown> = {}): TrainSettings {
  return planTraining(TrainConfig.parse({ model: 'mlp', epochs: 50, batchSize: 64, learningRate: 0.01, ...raw }), 1)
    .settings;
}
