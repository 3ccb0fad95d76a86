import path from 'node:path';
import type { PipelineInput } from '../contracts/pipeline-input';
import type { FitPreprocessorResult, SplitAndSampleResult } from '../contracts/stage-results';
import { downloadArtifact, readJsonArtifact } from '../lib/data/artifact-files';
import { fitPreprocessorOnSplit } from '../lib/data/fit-on-split';
import { SplitManifest } from '../lib/data/split-manifest';
import type { StoreDeps } from './deps';
import { pipelineActivity } from './stage-run';

export interface FitPreprocessorArgs {
  input: PipelineInput;
  split: SplitAndSampleResult;
}

/**
 * fitPreprocessor: the train split → a `preprocessor` artifact (JSON) that `encodeColumns` applies in
 * training, evaluation and inference. Every statistic is fitted on the train split only, by
 * lib/data/preprocessor.ts; this activity downloads the split and writes the result. Deterministic, so a
 * retry rewrites the same bytes.
 */
export function fitPreprocessorActivity({ store, logger }: StoreDeps) {
  return pipelineActivity(
    'fitPreprocessor',
    'downloading the train split',
    async ({ input, split }: FitPreprocessorArgs, run): Promise<FitPreprocessorResult> => {
      const manifest = await readJsonArtifact(store, split.manifest, SplitManifest);
      const train = manifest.splits.train;
      const directory = await run.tempDirectory('trainyard-preprocess-');
      const session = await run.openDuckDb({ allowedDirectories: [directory] });
      const file = path.join(directory, 'train.parquet');
      await downloadArtifact(store, train, file, run.signal);

      run.step('fitting on the train split');
      const spec = await fitPreprocessorOnSplit(session, { file, manifest, input });

      run.step('writing the preprocessor');
      const put = await store.put(run.keyOf('preprocessor.json'), JSON.stringify(spec, null, 2), {
        contentType: 'application/json',
      });
      logger.info(
        { model: input.model, workflowId: run.workflowId, featureCount: spec.featureCount, notes: spec.notes.length },
        'fitPreprocessor: preprocessor written',
      );
      return {
        preprocessor: {
          kind: 'preprocessor',
          uri: put.uri,
          sha256: put.sha256,
          bytes: put.bytes,
          metadata: { featureCount: spec.featureCount },
        },
        featureCount: spec.featureCount,
        ...(spec.label.classes ? { classes: spec.label.classes } : {}),
      };
    },
  );
}
