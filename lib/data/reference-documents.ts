import type { z } from 'zod';
import type { ArtifactRef } from '../../contracts/artifacts';
import { describeZodIssues, formatFieldProblems, type FieldProblem } from '../../contracts/errors';
import type { PipelineInput } from '../../contracts/pipeline-input';
import type { ChampionRefs } from '../../contracts/stage-results';
import { InvalidArtifactKeyError, ObjectNotFoundError, type ArtifactStore } from '../store/artifact-store';
import { readObject } from '../store/read-object';
import type { SchemaSource } from './anomalies';
import { ArtifactChecksumError, ArtifactInvalidError, readJsonArtifact } from './artifact-files';
import { incompatibleSchema, invalidConfigWith } from './failures';
import { DatasetSchema } from './schema';
import type { DatasetStatistics } from './statistics';
import { DatasetStatisticsSchema } from './statistics-schema';

/** A schema or statistics file bigger than this is not one (a dataset named by mistake, say). */
const MAX_JSON_ARTIFACT_BYTES = 64 * 1024 * 1024;

/** The documents validation compares a dataset with: a schema and the statistics drift is measured against. */

/** The schema to validate against: the user's (validation.schemaUri) over the champion's; none on a first run. */
export async function expectedSchema(
  store: ArtifactStore,
  input: PipelineInput,
  champion: ChampionRefs | undefined,
): Promise<{ schema: DatasetSchema; source: SchemaSource; uri: string } | undefined> {
  if (input.validation.schemaUri) {
    const schema = await readProvidedJson(
      store,
      input.validation.schemaUri,
      'validation.schemaUri',
      'dataset schema',
      DatasetSchema,
    );
    return { schema, source: 'provided', uri: input.validation.schemaUri };
  }
  if (champion)
    return {
      schema: await readChampionJson(store, champion, champion.schema, DatasetSchema),
      source: 'champion',
      uri: champion.schema.uri,
    };
  return undefined;
}

/** The statistics drift is measured against: the user's (validation.referenceStatisticsUri) over the champion's. */
export async function referenceStatistics(
  store: ArtifactStore,
  input: PipelineInput,
  champion: ChampionRefs | undefined,
): Promise<DatasetStatistics | undefined> {
  if (input.validation.referenceStatisticsUri) {
    return readProvidedJson(
      store,
      input.validation.referenceStatisticsUri,
      'validation.referenceStatisticsUri',
      'statistics artifact',
      DatasetStatisticsSchema,
    );
  }
  if (champion) return readChampionJson(store, champion, champion.statistics, DatasetStatisticsSchema);
  return undefined;
}

/** A JSON file named in the pipeline input: every problem is the caller's to fix, so non-retryable. */
async function readProvidedJson<S extends z.ZodType>(
  store: ArtifactStore,
  uri: string,
  field: string,
  what: string,
  schema: S,
): Promise<z.output<S>> {
  const reject = (message: string, problems: FieldProblem[] = [{ path: field, message }]) =>
    invalidConfigWith(`${field}: ${message}`, problems);
  let key: string;
  try {
    key = store.keyFor(uri);
  } catch (error) {
    if (error instanceof InvalidArtifactKeyError)
      throw reject(`${uri} cannot be read by this worker: ${error.message}`);
    throw error;
  }
  const info = await store.stat(key);
  if (!info) throw reject(`no ${what} at ${uri}; upload it first or fix the URI`);
  if (info.bytes > MAX_JSON_ARTIFACT_BYTES)
    throw reject(
      `${uri} is ${info.bytes} bytes, too big for a ${what} (at most ${MAX_JSON_ARTIFACT_BYTES}); is it the right file?`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse((await readObject(store, key)).toString('utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw reject(`${uri} is not JSON (${error.message}); a ${what} is a JSON file`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeZodIssues(parsed.error).map((p) => ({ path: `${field} ${p.path}`, message: p.message }));
    throw reject(`${uri} is not a valid ${what}:\n${formatFieldProblems(problems)}`, problems);
  }
  return parsed.data;
}

/** The champion's artifacts were written by trainyard; a checksum or shape mismatch means they were changed since. */
export async function readChampionJson<S extends z.ZodType>(
  store: ArtifactStore,
  champion: ChampionRefs,
  ref: ArtifactRef,
  schema: S,
): Promise<z.output<S>> {
  try {
    return await readJsonArtifact(store, ref, schema);
  } catch (error) {
    if (
      error instanceof ArtifactChecksumError ||
      error instanceof ArtifactInvalidError ||
      error instanceof ObjectNotFoundError ||
      error instanceof SyntaxError
    ) {
      throw incompatibleSchema(
        `The ${ref.kind} of champion ${champion.model} v${champion.version} (${ref.uri}) cannot be used: ${error.message}. Set validation.schemaUri / validation.referenceStatisticsUri to compare against another artifact.`,
        [{ path: `champion.${ref.kind}`, message: error.message, uri: ref.uri, reason: error.message }],
      );
    }
    throw error;
  }
}
