import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../contracts/errors';
import { PipelineInput } from '../contracts/pipeline-input';
import type { FitPreprocessorResult, SplitAndSampleResult } from '../contracts/stage-results';
import { downloadArtifact, readJsonArtifact } from '../lib/data/artifact-files';
import { interruptOnAbort, openDuckDb } from '../lib/data/duckdb';
import { fitPreprocessor as fitSpec } from '../lib/data/preprocessor';
import { SplitManifest } from '../lib/data/split-manifest';
import { stageKey } from '../lib/run-keys';
import type { ActivityDeps } from './deps';
import { trackSteps, workflowIdOf } from './stage-progress';

const STAGE = 'fitPreprocessor';

/**
 * fitPreprocessor: the train split → a `preprocessor` artifact (JSON) that `encodeColumns` applies in
 * training, evaluation and inference. Every statistic is fitted on the train split only. A thin
 * wrapper over lib/data/preprocessor.ts; deterministic, so a retry rewrites the same bytes.
 */
export function fitPreprocessorActivity({ store, logger }: ActivityDeps) {
  return async function fitPreprocessor(args: {
    input: PipelineInput;
    split: SplitAndSampleResult;
  }): Promise<FitPreprocessorResult> {
    const input = PipelineInput.parse(args.input);
    const ctx = Context.current();
    const workflowId = workflowIdOf(ctx);
    const manifest = await readJsonArtifact(store, args.split.manifest, SplitManifest);
    const train = manifest.splits.train;

    const progress = trackSteps(ctx, 'downloading the train split');
    const enter = progress.enter;
    const directory = await mkdtemp(path.join(os.tmpdir(), 'trainyard-preprocess-'));
    const session = await openDuckDb({ allowedDirectories: [directory] });
    const detach = interruptOnAbort(session, ctx.cancellationSignal);
    try {
      const file = path.join(directory, 'train.parquet');
      await downloadArtifact(store, train, file, ctx.cancellationSignal);
      enter('fitting on the train split');
      const columns = (
        await session.all<{ column_name: string; column_type: string }>('DESCRIBE SELECT * FROM read_parquet($1)', [
          file,
        ])
      ).map((c) => ({
        name: c.column_name,
        duckdbType: c.column_type,
      }));
      const derivedFrom = manifest.task.labelDerivedFrom;
      const spec = await fitSpec(session, {
        relation: 'read_parquet($1)',
        relationParams: [file],
        columns,
        labelColumn: manifest.task.labelColumn,
        taskType: input.task.type,
        config: input.preprocess,
        model: input.train.model,
        ...(manifest.classes ? { classes: manifest.classes } : {}),
        ...(derivedFrom !== undefined
          ? {
              alsoExclude: [
                {
                  column: derivedFrom,
                  reason: `the derived label "${manifest.task.labelColumn}" is computed from it (leakage)`,
                },
              ],
            }
          : {}),
        ...(manifest.split.strategy === 'time' && manifest.split.time
          ? { timeColumn: manifest.split.time.column }
          : {}),
        fittedOn: { uri: train.uri, sha256: train.sha256 },
      });
      if (spec.featureCount === 0) {
        throw ApplicationFailure.create({
          type: FailureType.InvalidPipelineConfig,
          nonRetryable: true,
          message: `No feature is left to train on: every column is the label or excluded (${spec.excluded.map((e) => e.column).join(', ')}). Remove columns from preprocess.exclude.`,
          details: [{ path: 'preprocess.exclude', excluded: spec.excluded }],
        });
      }
      enter('writing the preprocessor');
      const put = await store.put(
        stageKey(input.model, workflowId, STAGE, 'preprocessor.json'),
        JSON.stringify(spec, null, 2),
        { contentType: 'application/json' },
      );
      logger.info(
        { model: input.model, workflowId, featureCount: spec.featureCount, notes: spec.notes.length },
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
    } catch (error) {
      // An interrupted query or aborted download after cancellation is the cancellation, not a failure.
      throw ctx.cancellationSignal.aborted ? (ctx.cancellationSignal.reason ?? error) : error;
    } finally {
      progress.stop();
      detach();
      await session.close();
      await rm(directory, { recursive: true, force: true });
    }
  };
}
