import type { ArtifactStore } from '../../lib/store/artifact-store';
import type { TrainingSourceRefs } from '../../lib/model/train-in-thread';
import { generatedSplit } from './model-data';

/**
 * A TrainingSourcesModule for tests of the training thread: generated data described by the refs'
 * metadata (`kind`, `rows`, `seed`), so a test needs no split artifacts.
 */
export async function openTrainingSources(_store: ArtifactStore, refs: TrainingSourceRefs) {
  const open = (ref: TrainingSourceRefs['train']) => {
    const m = ref.metadata ?? {};
    return generatedSplit(
      String(m.kind ?? 'binary') as 'binary',
      Number(m.rows ?? 100),
      Number(m.seed ?? 1),
      Number(m.features ?? 4),
    );
  };
  return { train: open(refs.train), validation: open(refs.validation) };
}
