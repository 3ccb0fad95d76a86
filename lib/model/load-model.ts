import type { ArtifactRef } from '../../contracts/artifacts';
import type { ArtifactStore } from '../store/artifact-store';
import { loadTfjs } from '../tfjs-backend';
import { loadGbdtModel } from './gbdt/gbdt-model-io';
import type { ModelMeta, TfjsModelMeta } from './model-meta';
import { modelFolderKey, readModelMeta, StoreModelHandler } from './store-io';

/** A trained model ready to score feature rows (the preprocessor's output, not raw rows). */
export interface TrainedModel {
  meta: ModelMeta;
  /**
   * `x` is rows × meta.featureCount, row-major. Returns, per task:
   * binary — P(positive class = meta.classes[1]) per row; multiclass — rows × k probabilities, row-major,
   * in meta.classes order; regression — the predicted value per row.
   */
  predict(x: Float32Array, rows: number): Float32Array;
  /** The same outputs; a large block may be scored on several cores (gbdt's prediction helpers). */
  predictAsync(x: Float32Array, rows: number): Promise<Float32Array>;
  dispose(): void;
}

/**
 * Loads a model written by the train stage. `modelRef` may name the model's `model-meta.json` (what
 * TrainResult.model points at), its `model.json`, or the folder; files are checked against the sha256s
 * the meta recorded.
 */
export async function loadTrainedModel(store: ArtifactStore, modelRef: ArtifactRef): Promise<TrainedModel> {
  const folderKey = modelFolderKey(store, modelRef.uri);
  const meta = await readModelMeta(store, folderKey);
  return meta.format === 'trainyard-gbdt' ? loadGbdtModel(store, meta) : loadTfjsModel(store, folderKey, meta);
}

async function loadTfjsModel(store: ArtifactStore, folderKey: string, meta: TfjsModelMeta): Promise<TrainedModel> {
  const { tf } = await loadTfjs();
  const model = await tf.loadLayersModel(new StoreModelHandler(store, folderKey, meta.files));
  let disposed = false;
  const predict = (x: Float32Array, rows: number): Float32Array => {
    if (disposed) throw new Error('this model was disposed');
    if (x.length !== rows * meta.featureCount) {
      throw new Error(`predict expects rows × featureCount = ${rows} × ${meta.featureCount} values, got ${x.length}`);
    }
    if (rows === 0) return new Float32Array(0);
    return tf.tidy(() => {
      const output = model.predict(tf.tensor2d(x, [rows, meta.featureCount])) as ReturnType<typeof tf.tensor>;
      return Float32Array.from(output.dataSync() as Float32Array);
    });
  };
  return {
    meta,
    predict,
    predictAsync: async (x, rows) => predict(x, rows),
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}
