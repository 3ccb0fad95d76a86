import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ArtifactRef } from '../../contracts/artifacts';
import { decodeTarget, encodeColumns, type ColumnValues } from '../data/encode-columns';
import type { PreprocessorSpec } from '../data/preprocessor-spec';
import { readPreprocessorSpec } from '../data/split-batches';
import { loadTrainedModel, type TrainedModel } from '../model/load-model';
import type { ArtifactStore } from '../store/artifact-store';
import type { RawColumns } from './behavioural';
import type { TaskType } from '../../contracts/pipeline-input';

/** Rows per predict call: bounds the tensor size whatever the split's size. */
export const PREDICT_CHUNK_ROWS = 8192;

/**
 * A model with the preprocessor it was trained with: raw columns in, outputs out. Regression targets and
 * predictions come back in the target's own units (the preprocessor may standardise the target).
 */
export interface Scorer {
  task: TaskType;
  spec: PreprocessorSpec;
  model: TrainedModel;
  /** Classification: class labels in output order. */
  classes?: string[];
  labelColumn: string;
  /** Outputs and labels for raw columns that include the label column. */
  score(
    columns: RawColumns,
    rows: number,
    signal?: AbortSignal,
  ): Promise<{ outputs: Float32Array; labels: Float32Array }>;
  /** Outputs for raw columns (binary P(positive), multiclass rows × k, regression values); the label is ignored. */
  predictColumns(columns: RawColumns, rows: number, signal?: AbortSignal): Promise<Float32Array>;
  dispose(): void;
}

export async function loadScorer(
  store: ArtifactStore,
  modelRef: ArtifactRef,
  preprocessorRef: ArtifactRef,
): Promise<Scorer> {
  const spec = await readPreprocessorSpec(store, preprocessorRef);
  const model = await loadTrainedModel(store, modelRef);
  try {
    return scorerFor(spec, model);
  } catch (error) {
    model.dispose();
    throw error;
  }
}

export function scorerFor(spec: PreprocessorSpec, model: TrainedModel): Scorer {
  checkCompatible(spec, model);
  const task = spec.task;
  const width = task === 'multiclass' ? (spec.label.classes?.length ?? 0) : 1;
  /**
   * One encodeColumns call per chunk: features and (when the label column is given) labels together.
   * Between chunks the event loop gets a turn, so heartbeats flow and cancellation is seen.
   */
  const encodeAndPredict = async (
    columns: RawColumns,
    rows: number,
    withLabels: boolean,
    signal: AbortSignal | undefined,
  ) => {
    const outputs = new Float32Array(rows * width);
    const labels = withLabels ? new Float32Array(rows) : undefined;
    // One block is scored (off this thread, for a gbdt) while the next is encoded.
    let scoring: Promise<void> | undefined;
    for (let start = 0; start < rows; start += PREDICT_CHUNK_ROWS) {
      const count = Math.min(PREDICT_CHUNK_ROWS, rows - start);
      const { x, y } = encodeColumns(spec, sliceColumns(columns, start, count), count);
      if (labels && y) labels.set(y, start);
      const block = model.predictAsync(x, count).then((out) => outputs.set(out, start * width));
      block.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      await scoring;
      scoring = block;
      if (start + count < rows) {
        await yieldToEventLoop();
        signal?.throwIfAborted();
      }
    }
    await scoring;
    if (task === 'regression') {
      for (let i = 0; i < outputs.length; i++) outputs[i] = decodeTarget(spec, outputs[i] as number);
      if (labels) for (let i = 0; i < labels.length; i++) labels[i] = decodeTarget(spec, labels[i] as number);
    }
    return { outputs, labels };
  };
  return {
    task,
    spec,
    model,
    classes: spec.label.classes,
    labelColumn: spec.label.column,
    async score(columns, rows, signal) {
      if (!Object.hasOwn(columns, spec.label.column))
        throw new Error(`the test split has no label column "${spec.label.column.slice(0, 80)}"`);
      const { outputs, labels } = await encodeAndPredict(columns, rows, true, signal);
      return { outputs, labels: labels as Float32Array };
    },
    async predictColumns(columns, rows, signal) {
      return (await encodeAndPredict(withoutLabel(columns, spec.label.column), rows, false, signal)).outputs;
    },
    dispose: () => model.dispose(),
  };
}

function checkCompatible(spec: PreprocessorSpec, model: TrainedModel): void {
  const meta = model.meta;
  if (meta.task !== spec.task)
    throw new Error(`the model is a ${meta.task} model but its preprocessor is for ${spec.task}`);
  if (meta.featureCount !== spec.featureCount)
    throw new Error(`the model takes ${meta.featureCount} features but its preprocessor makes ${spec.featureCount}`);
  const specClasses = spec.label.classes ?? [];
  const modelClasses = meta.classes ?? [];
  if (spec.task !== 'regression' && JSON.stringify(specClasses) !== JSON.stringify(modelClasses)) {
    throw new Error('the model and its preprocessor disagree on the classes or their order');
  }
}

function withoutLabel(columns: RawColumns, label: string): RawColumns {
  const result: Record<string, readonly unknown[]> = {};
  for (const [name, values] of Object.entries(columns)) if (name !== label) result[name] = values;
  return result;
}

function sliceColumns(columns: RawColumns, start: number, count: number): Record<string, ColumnValues> {
  const result: Record<string, ColumnValues> = {};
  for (const [name, values] of Object.entries(columns))
    result[name] = values.slice(start, start + count) as ColumnValues;
  return result;
}
