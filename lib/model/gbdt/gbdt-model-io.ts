import type { PutResult } from '../../store/artifact-store';
import { readJsonArtifact } from '../../data/artifact-files';
import type { ArtifactStore } from '../../store/artifact-store';
import type { TrainedModel } from '../load-model';
import { GbdtModelMeta, MODEL_META_JSON, TREES_JSON, type StoredFile } from '../model-meta';
import { ensembleFromJson, EnsembleJson, ensembleToJson, predictRaw, type Ensemble } from './ensemble';
import { MIN_ROWS_TO_SHARE, PredictThreads } from './predict-threads';
import { objectiveFor } from './objective';

export type GbdtModelMetaDraft = Omit<GbdtModelMeta, 'format' | 'formatVersion' | 'files' | 'backend'>;

/** Writes `trees.json` (the first `treeCount` trees) to `key`. */
export async function writeEnsemble(
  store: ArtifactStore,
  key: string,
  ensemble: Ensemble,
  treeCount?: number,
): Promise<StoredFile> {
  const put = await store.put(key, JSON.stringify(ensembleToJson(ensemble, treeCount)), {
    contentType: 'application/json',
  });
  return storedFile(put);
}

/** Reads a `trees.json`, refusing bytes whose sha256 is not the recorded one. */
export async function readEnsemble(store: ArtifactStore, file: StoredFile): Promise<Ensemble> {
  return ensembleFromJson(await readJsonArtifact(store, { kind: 'model', ...file }, EnsembleJson));
}

/** A model folder: `trees.json`, then `model-meta.json` last, so a reader that finds the meta finds the trees. */
export async function writeGbdtModel(
  store: ArtifactStore,
  folderKey: string,
  ensemble: Ensemble,
  treeCount: number,
  draft: GbdtModelMetaDraft,
): Promise<{ meta: GbdtModelMeta; put: PutResult }> {
  const trees = await writeEnsemble(store, `${folderKey}/${TREES_JSON}`, ensemble, treeCount);
  const meta = GbdtModelMeta.parse({
    format: 'trainyard-gbdt',
    formatVersion: 1,
    backend: 'typescript',
    ...draft,
    files: { trees },
  });
  const put = await store.put(`${folderKey}/${MODEL_META_JSON}`, JSON.stringify(meta, null, 2), {
    contentType: 'application/json',
  });
  return { meta, put };
}

/** A gbdt model as the scorer uses any model: features in, P(positive) / class probabilities / values out. */
export async function loadGbdtModel(store: ArtifactStore, meta: GbdtModelMeta): Promise<TrainedModel> {
  const ensemble = await readEnsemble(store, meta.files.trees);
  const expectedOutputs = meta.task === 'multiclass' ? (meta.classes?.length ?? 0) : 1;
  if (ensemble.outputs !== expectedOutputs || ensemble.task !== meta.task) {
    throw new Error(
      `trees.json holds a ${ensemble.task} ensemble with ${ensemble.outputs} outputs, but the model meta describes ${meta.task} with ${expectedOutputs}`,
    );
  }
  const objective = objectiveFor(meta.task, meta.classes?.length ?? 0);
  const checkShape = (x: Float32Array, rows: number) => {
    if (x.length !== rows * meta.featureCount) {
      throw new Error(`predict expects rows × featureCount = ${rows} × ${meta.featureCount} values, got ${x.length}`);
    }
  };
  let threads: PredictThreads | undefined;
  return {
    meta,
    predict(x, rows) {
      checkShape(x, rows);
      return objective.transform(predictRaw(ensemble, x, rows, meta.featureCount));
    },
    async predictAsync(x, rows) {
      checkShape(x, rows);
      if (rows < MIN_ROWS_TO_SHARE) return objective.transform(predictRaw(ensemble, x, rows, meta.featureCount));
      threads ??= new PredictThreads(ensemble, meta.featureCount);
      // A helper that fails costs speed, never the scores: this thread scores the block alone (and every later one).
      const raw = await threads.predictRaw(x, rows).catch(() => predictRaw(ensemble, x, rows, meta.featureCount));
      return objective.transform(raw);
    },
    dispose() {
      void threads?.close();
      threads = undefined;
    },
  };
}

function storedFile(put: PutResult): StoredFile {
  return { uri: put.uri, sha256: put.sha256, bytes: put.bytes };
}
