import { z } from 'zod';
import { describeZodIssues } from '../../contracts/errors';
import { formatModelReference, ModelReferenceText, type ModelReference } from '../../contracts/model-reference';
import type { TaskType } from '../../contracts/pipeline-input';
import type { VersionRecord } from '../../contracts/registry';
import { ArtifactChecksumError, readJsonArtifact } from '../data/artifact-files';
import { DatasetSchema } from '../data/schema';
import { predictsPositive } from '../evaluation/decision-threshold';
import { argmaxRows } from '../evaluation/metrics';
import { loadScorer, type Scorer } from '../evaluation/scorer';
import { MODEL_META_JSON } from '../model/model-meta';
import { modelFolderKey } from '../model/store-io';
import { listVersionNumbers } from '../registry';
import { findVersion } from '../registry/versions';
import { ObjectNotFoundError, type ArtifactStore } from '../store/artifact-store';
import { InvalidRowsError, ModelArtifactMissingError, ServingModelNotFoundError } from './errors';
import { resolveVersion } from './resolve-version';
import { checkColumns, rowSchemaFor, rowsToColumns, type ServingInput, type ServingRow } from './row-schema';
import type { RawValue } from '../data/encode-columns';

/**
 * The serving library: a registered version, loaded once, that turns raw rows into predictions.
 *
 *   const model = await loadModel(store, 'penguins@champion'); // or 'penguins:3'
 *   const [p] = await model.predict([{ Island: 'Biscoe', 'Beak Length (mm)': 45.1, … }]);
 *   // p = { class: 'Gentoo', probabilities: { Adelie: 0.01, Chinstrap: 0.02, Gentoo: 0.97 } }
 *   model.dispose();
 *
 * Rows are checked by `model.schema` (zod, derived from the version's training schema and preprocessor;
 * InvalidRowsError names each bad field as `<row>.<column>`), then scored by the very scorer `evaluate`
 * uses (lib/evaluation/scorer.ts: the version's fitted preprocessor through `encodeColumns`, then its
 * tfjs or gbdt model), so a served score equals the score evaluate gave the same row. A missing value
 * (null) is imputed and an unseen category gets the unseen encoding, as in training. The predicted class
 * of a binary model uses the decision threshold recorded in the registry lineage.
 */
export interface ServingModel {
  model: string;
  version: number;
  /** The alias the reference named (the version it pointed at when loaded). */
  alias?: string;
  task: TaskType;
  /** Classification: the classes, in the order of the model's outputs. */
  classes?: string[];
  /** Binary: P(classes[1]) at or above this is classes[1] (chosen on the validation split by evaluate). */
  decisionThreshold?: number;
  /** Validates one row (see row-schema.ts). */
  schema: z.ZodType<ServingRow>;
  /** The columns a row must carry, with their types. */
  inputs: ServingInput[];
  /** Predictions in row order; InvalidRowsError (every bad field named) before anything is scored. */
  predict(rows: readonly unknown[]): Promise<Prediction[]>;
  /**
   * The same scoring for columns (one array per input, `rows` long): what batch callers use, so no row
   * object is ever built. Each value is checked against its input's type (InvalidRowsError names
   * `<row>.<column>`); `predict` is this after validating its rows with `schema`.
   */
  predictColumns(columns: Readonly<Record<string, readonly RawValue[]>>, rows: number): Promise<ColumnPredictions>;
  /** Frees the model's tensors; predict fails afterwards. */
  dispose(): void;
}

export type Prediction =
  | {
      /** The predicted class. */
      class: string;
      /** Probability per class (binary: P(classes[1]) as the model gave it and 1 − that). */
      probabilities: Record<string, number>;
    }
  | { /** Regression: the prediction in the target's units. */ value: number };

/** Predictions as columns, in row order. */
export interface ColumnPredictions {
  /** Classification: one probability column per class, in `classes` order. Regression: one column, the value. */
  scores: Float64Array[];
  /** Classification: the predicted class of each row. */
  classes?: string[];
}

/** Loads the version `reference` names (`"penguins@champion"`, `"penguins:3"`, or the parsed form). */
export async function loadModel(store: ArtifactStore, reference: string | ModelReference): Promise<ServingModel> {
  const parsed = typeof reference === 'string' ? parseReference(reference) : reference;
  const record = await resolveVersion(store, parsed);
  return loadVersion(store, record, 'alias' in parsed ? parsed.alias : undefined);
}

/** Loads one version record's model, preprocessor and training schema. */
export async function loadVersion(store: ArtifactStore, record: VersionRecord, alias?: string): Promise<ServingModel> {
  const text = formatModelReference(
    alias === undefined ? { model: record.model, version: record.version } : { model: record.model, alias },
  );
  let scorer: Scorer;
  let training: DatasetSchema;
  try {
    training = await readJsonArtifact(store, record.lineage.schema, DatasetSchema);
    scorer = await loadScorer(store, record.modelRef, record.lineage.preprocessor);
  } catch (error) {
    if (!(error instanceof ObjectNotFoundError || error instanceof ArtifactChecksumError)) throw error;
    const usable = await versionsWithModel(store, record.model);
    throw new ModelArtifactMissingError(
      text,
      record.version,
      `${error instanceof ObjectNotFoundError ? `its artifact "${error.key}" does not exist` : error.message}. ${
        usable.length === 0
          ? `No version of "${record.model}" has its model artifact.`
          : `Versions of "${record.model}" with a model artifact: ${usable.join(', ')}.`
      }`,
    );
  }
  const { row, inputs } = rowSchemaFor(scorer.spec, training);
  const rows = z.array(row);
  const classes = scorer.classes;
  const decisionThreshold =
    scorer.task === 'binary' ? (record.lineage.evaluation.decisionThreshold ?? DEFAULT_THRESHOLD) : undefined;
  const toColumns = columnPredictionsOf(scorer.task, classes ?? [], decisionThreshold ?? DEFAULT_THRESHOLD);
  const predictColumns = async (columns: Readonly<Record<string, readonly RawValue[]>>, count: number) =>
    count === 0 ? toColumns(new Float32Array(0), 0) : toColumns(await scorer.predictColumns(columns, count), count);
  return {
    model: record.model,
    version: record.version,
    ...(alias === undefined ? {} : { alias }),
    task: scorer.task,
    ...(classes ? { classes } : {}),
    ...(decisionThreshold === undefined ? {} : { decisionThreshold }),
    schema: row,
    inputs,
    async predict(input) {
      const checked = rows.safeParse(input);
      if (!checked.success) throw new InvalidRowsError(describeZodIssues(checked.error));
      const valid = checked.data;
      if (valid.length === 0) return [];
      return asPredictions(await predictColumns(rowsToColumns(valid, inputs), valid.length), classes);
    },
    predictColumns: async (columns, count) => {
      const problems = checkColumns(columns, count, inputs);
      if (problems.length > 0) throw new InvalidRowsError(problems);
      return predictColumns(columns, count);
    },
    dispose: () => scorer.dispose(),
  };
}

/** Evaluate's fallback when a binary version recorded no threshold (versions registered before it did). */
const DEFAULT_THRESHOLD = 0.5;

/** The scorer's raw outputs as score columns and predicted classes (binary: the recorded threshold). */
function columnPredictionsOf(
  task: TaskType,
  classes: string[],
  threshold: number,
): (outputs: Float32Array, rows: number) => ColumnPredictions {
  if (task === 'regression') return (outputs) => ({ scores: [Float64Array.from(outputs)] });
  if (task === 'binary') {
    const [negative = '0', positive = '1'] = classes;
    return (outputs, rows) => {
      const p = Float64Array.from(outputs);
      const predicted = new Array<string>(rows);
      for (let r = 0; r < rows; r++) predicted[r] = predictsPositive(p[r] as number, threshold) ? positive : negative;
      return { scores: [p.map((v) => 1 - v), p], classes: predicted };
    };
  }
  const k = classes.length;
  return (outputs, rows) => {
    const best = argmaxRows(outputs, k);
    const scores = classes.map((_, j) => Float64Array.from({ length: rows }, (_, r) => outputs[r * k + j] as number));
    return { scores, classes: Array.from({ length: rows }, (_, r) => classes[best[r] as number] as string) };
  };
}

/** Column predictions as one object per row (what `predict` returns). */
function asPredictions(columns: ColumnPredictions, classes: string[] | undefined): Prediction[] {
  const [first] = columns.scores;
  if (!columns.classes || !classes) return Array.from(first ?? [], (value) => ({ value }));
  return columns.classes.map((predicted, r) => ({
    class: predicted,
    probabilities: Object.fromEntries(classes.map((c, j) => [c, columns.scores[j]?.[r] as number])),
  }));
}

function parseReference(text: string): ModelReference {
  const parsed = ModelReferenceText.safeParse(text);
  if (parsed.success) return parsed.data;
  throw new ServingModelNotFoundError(text, parsed.error.issues.map((i) => i.message).join('; '));
}

/** Versions whose model-meta exists: what a caller could serve instead (the newest 50 are checked). */
async function versionsWithModel(store: ArtifactStore, model: string): Promise<string[]> {
  const versions = (await listVersionNumbers(store, model)).slice(-50);
  const found = await Promise.all(
    versions.map(async (version) => {
      const record = await findVersion(store, model, version).catch(() => undefined);
      if (!record) return undefined;
      const meta = `${modelFolderKey(store, record.modelRef.uri)}/${MODEL_META_JSON}`;
      return (await store.exists(meta).catch(() => false)) ? `${model}:${version}` : undefined;
    }),
  );
  return found.filter((v): v is string => v !== undefined);
}
