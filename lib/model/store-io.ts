import { createHash } from 'node:crypto';
import path from 'node:path';
import type { io } from '@tensorflow/tfjs';
import type { ArtifactStore, PutResult } from '../store/artifact-store';
import { readObject } from '../store/read-object';
import { ArtifactFormatError } from '../data/artifact-files';
import {
  MODEL_JSON,
  MODEL_META_JSON,
  ModelMeta,
  TfjsModelMeta,
  TREES_JSON,
  WEIGHTS_BIN,
  type ModelMetaDraft,
  type StoredFile,
} from './model-meta';

/**
 * A tfjs IOHandler over the artifact store: `model.save(handler)` writes `<folder>/model.json` and
 * `<folder>/weights.bin`; `tf.loadLayersModel(handler)` reads them back. Models and checkpoints thus live
 * in MinIO (or the local store) like every other artifact, with sha256s the registry can record.
 */
export class StoreModelHandler implements io.IOHandler {
  /** What the last save wrote, for refs and meta. */
  saved?: { modelJson: PutResult; weights: PutResult };

  /** With `expected`, load() refuses files whose sha256 differs from what model-meta.json recorded. */
  constructor(
    private readonly store: ArtifactStore,
    readonly folderKey: string,
    private readonly expected?: TfjsModelMeta['files'],
  ) {}

  async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
    if (artifacts.modelTopology === undefined || artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('StoreModelHandler saves layers models only (no JSON topology given)');
    }
    const weights = joinWeightData(artifacts.weightData);
    const weightsResult = await this.store.put(this.key(WEIGHTS_BIN), weights, {
      contentType: 'application/octet-stream',
      bytes: weights.length,
    });
    const modelJson: io.ModelJSON = {
      modelTopology: artifacts.modelTopology as object,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? 'trainyard',
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    };
    const jsonResult = await this.store.put(this.key(MODEL_JSON), JSON.stringify(modelJson), {
      contentType: 'application/json',
    });
    this.saved = { modelJson: jsonResult, weights: weightsResult };
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        modelTopologyBytes: jsonResult.bytes,
        weightSpecsBytes: JSON.stringify(modelJson.weightsManifest).length,
        weightDataBytes: weights.length,
      },
    };
  }

  async load(): Promise<io.ModelArtifacts> {
    const jsonBytes = await readObject(this.store, this.key(MODEL_JSON));
    this.check(MODEL_JSON, jsonBytes, this.expected?.modelJson);
    const modelJson = JSON.parse(jsonBytes.toString('utf8')) as io.ModelJSON;
    const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
    const weightFiles = modelJson.weightsManifest.flatMap((group) => group.paths.map((p) => path.posix.normalize(p)));
    const buffers = await Promise.all(weightFiles.map((file) => readObject(this.store, this.key(file))));
    const weightBytes = Buffer.concat(buffers);
    this.check(WEIGHTS_BIN, weightBytes, this.expected?.weights);
    const weightData = toArrayBuffer(weightBytes);
    return {
      modelTopology: modelJson.modelTopology,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      convertedBy: modelJson.convertedBy,
      weightSpecs: specs,
      weightData,
      ...(modelJson.trainingConfig ? { trainingConfig: modelJson.trainingConfig } : {}),
      ...(modelJson.userDefinedMetadata ? { userDefinedMetadata: modelJson.userDefinedMetadata } : {}),
    };
  }

  private check(file: string, bytes: Buffer, expected: StoredFile | undefined): void {
    if (!expected) return;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== expected.sha256) {
      throw new ArtifactFormatError(
        `${this.key(file)} has sha256 ${sha256}, but the model meta recorded ${expected.sha256}: the model was changed after it was saved`,
      );
    }
  }

  private key(file: string): string {
    return `${this.folderKey}/${file}`;
  }
}

/** Writes `model-meta.json` beside a saved model, last, so a reader that finds it finds the whole model. */
export async function writeModelMeta(
  store: ArtifactStore,
  handler: StoreModelHandler,
  draft: ModelMetaDraft,
): Promise<{ meta: TfjsModelMeta; put: PutResult }> {
  if (!handler.saved) throw new Error('save the model through this handler before writing its meta');
  const meta = TfjsModelMeta.parse({
    format: 'trainyard-tfjs-layers',
    formatVersion: 1,
    ...draft,
    files: { modelJson: storedFile(handler.saved.modelJson), weights: storedFile(handler.saved.weights) },
  });
  const put = await store.put(`${handler.folderKey}/${MODEL_META_JSON}`, JSON.stringify(meta, null, 2), {
    contentType: 'application/json',
  });
  return { meta, put };
}

/** Reads and checks `model-meta.json` in a model folder. */
export async function readModelMeta(store: ArtifactStore, folderKey: string): Promise<ModelMeta> {
  const raw = JSON.parse((await readObject(store, `${folderKey}/${MODEL_META_JSON}`)).toString('utf8')) as unknown;
  const parsed = ModelMeta.safeParse(raw);
  if (!parsed.success) {
    throw new ArtifactFormatError(
      `${folderKey}/${MODEL_META_JSON} is not a trainyard model meta: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** The model folder a ref names: refs may point at model-meta.json, model.json, the folder's weights or trees. */
export function modelFolderKey(store: ArtifactStore, uri: string): string {
  const key = store.keyFor(uri);
  const base = path.posix.basename(key);
  return [MODEL_META_JSON, MODEL_JSON, WEIGHTS_BIN, TREES_JSON].includes(base) ? path.posix.dirname(key) : key;
}

function joinWeightData(data: io.WeightData | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((part) => Buffer.from(part)));
}

export function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}

function storedFile(put: PutResult): StoredFile {
  return { uri: put.uri, sha256: put.sha256, bytes: put.bytes };
}
