import { openSplitBatches } from '../data/split-batches';
import type { ArtifactStore } from '../store/artifact-store';
import type { TrainingSourceRefs } from './train-in-thread';

/** The training thread's default sources: the train and validation splits through the fitted preprocessor. */
export async function openTrainingSources(store: ArtifactStore, refs: TrainingSourceRefs) {
  const train = await openSplitBatches(store, refs.train, refs.preprocessor);
  try {
    const validation = await openSplitBatches(store, refs.validation, refs.preprocessor);
    return { train, validation };
  } catch (error) {
    await train.close();
    throw error;
  }
}
