import { createHash } from 'node:crypto';
import type { ArtifactRef } from '../../contracts/artifacts';
import type { PipelineInput } from '../../contracts/pipeline-input';
import type { CacheableStage } from '../../contracts/stage-config';
import type {
  ChampionRefs,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
} from '../../contracts/stage-results';
import type { DatasetFingerprint } from '../../contracts/stages';

interface StageArgs {
  input: PipelineInput;
  dataset?: DatasetFingerprint;
  split?: SplitAndSampleResult;
  preprocessor?: FitPreprocessorResult;
  trained?: TrainResult;
  champion?: ChampionRefs;
}

const splitHashes = (split: SplitAndSampleResult | undefined) =>
  split && {
    manifest: split.manifest.sha256,
    train: split.splits.train.sha256,
    validation: split.splits.validation.sha256,
    test: split.splits.test.sha256,
  };

/**
 * What each stage's output depends on: the hashes of the artifacts it reads and the config sections it
 * uses — nothing else (not the run, not timings). The model name is part of it: cached outputs live
 * under that model's run keys, and a version's lineage should not point into another model's runs.
 */
const DEPENDS_ON: Record<CacheableStage, (args: StageArgs) => unknown> = {
  validateData: ({ input, dataset, champion }) => ({
    dataset: dataset?.sha256,
    against: champion && { schema: champion.schema.sha256, statistics: champion.statistics.sha256 },
    config: { format: input.dataset.format, task: input.task, validation: input.validation },
  }),
  splitAndSample: ({ input, dataset }) => ({
    dataset: dataset?.sha256,
    config: {
      format: input.dataset.format,
      task: input.task,
      split: input.split,
      sampling: input.sampling,
      seed: input.seed,
    },
  }),
  fitPreprocessor: ({ input, split }) => ({
    split: splitHashes(split),
    config: { task: input.task, preprocess: input.preprocess },
  }),
  train: ({ input, split, preprocessor, champion }) => ({
    split: splitHashes(split),
    preprocessor: preprocessor?.preprocessor.sha256,
    warmStartFrom: input.train.warmStart ? champion?.modelRef.sha256 : undefined,
    config: { task: input.task, train: input.train, seed: input.seed },
  }),
  evaluate: ({ input, split, preprocessor, trained, champion }) => ({
    split: splitHashes(split),
    preprocessor: preprocessor?.preprocessor.sha256,
    model: trained?.model.sha256,
    champion: champion && { version: champion.version, model: champion.modelRef.sha256 },
    config: { task: input.task, evaluate: input.evaluate },
  }),
};

/** Files a stage's config names by URI (validateData's schema and drift reference): their versions join the key. */
export function configFileUris(stage: CacheableStage, input: PipelineInput): string[] {
  if (stage !== 'validateData') return [];
  return [input.validation.schemaUri, input.validation.referenceStatisticsUri].filter(
    (uri): uri is string => uri !== undefined,
  );
}

/**
 * The content address of a stage run: sha256 over stage, model, code version and what the stage depends
 * on; `fileVersions` maps each of configFileUris() to its store version (etag), so a file replaced in place misses.
 */
export function stageCacheKey(
  stage: CacheableStage,
  args: StageArgs,
  codeVersion: string,
  fileVersions: Record<string, string | null> = {},
): string {
  const material = {
    stage,
    model: args.input.model,
    code: codeVersion,
    inputs: DEPENDS_ON[stage](args),
    files: fileVersions,
  };
  return createHash('sha256').update(canonicalJson(material)).digest('hex');
}

/** JSON with object keys sorted, so equal values always hash alike; undefined members are dropped. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Every artifact reference inside a stage result, wherever it sits. */
export function artifactRefsIn(value: unknown): ArtifactRef[] {
  if (Array.isArray(value)) return value.flatMap(artifactRefsIn);
  if (value === null || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  if (
    typeof record.uri === 'string' &&
    typeof record.sha256 === 'string' &&
    typeof record.bytes === 'number' &&
    typeof record.kind === 'string'
  ) {
    return [record as unknown as ArtifactRef];
  }
  return Object.values(record).flatMap(artifactRefsIn);
}
