import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ArtifactRef } from '../../contracts/artifacts';
import { PipelineConfigError, formatFieldProblems, type FieldProblem } from '../../contracts/errors';
import type { PipelineInput } from '../../contracts/pipeline-input';
import type {
  ChampionRefs,
  FitPreprocessorResult,
  SplitAndSampleResult,
  TrainResult,
} from '../../contracts/stage-results';
import { ArtifactFormatError, readJsonArtifact } from '../data/artifact-files';
import { categoryKey, type CellValue } from '../data/column-values';
import { numericValue } from '../data/encode-columns';
import { readSplitColumns } from '../data/split-batches';
import { SplitManifest } from '../data/split-manifest';
import { readObject } from '../store/read-object';
import { ObjectNotFoundError, type ArtifactStore } from '../store/artifact-store';
import {
  classFrequencies,
  evaluateBaselines,
  trainLabelStats,
  zeroRuleOutputs,
  type TrainLabelStats,
} from './baselines';
import { measureDirectional, measureInvariance, type RawColumns } from './behavioural';
import type { EvaluationDocument } from './evaluation-document';
import { evaluateColumnProblems } from '../../contracts/evaluate-names';
import { chooseDecisionThreshold, type ChosenThreshold } from './decision-threshold';
import { decideGate, MAIN_METRIC, type ChampionComparison, type GateConfig } from './gate';
import { evaluatePredictions, type TaskEvaluation } from './metrics';
import { parseLossHistory, renderReport, type LossPoint } from './report';
import { loadScorer, type Scorer } from './scorer';
import { groupRowsByValue, measureSlices, numericValues } from './slices';
import { metricIntervals, type UncertaintyOptions } from './uncertainty';
import { compareWithChampion, properScoreEvidence, zeroRuleEvidence } from './gate-evidence';
import type { TaskType } from '../../contracts/pipeline-input';

/**
 * The evaluate stage's work, apart from Temporal: score the challenger on the test split, score the
 * baselines and the champion on the same rows, measure slices and behaviour, decide, and render the
 * report. The activity wraps this with keys, writes and the presigned link.
 */

export interface EvaluateArgs {
  input: PipelineInput;
  split: SplitAndSampleResult;
  preprocessor: FitPreprocessorResult;
  trained: TrainResult;
  champion?: ChampionRefs;
}

export interface EvaluationProgress {
  step: string;
  [key: string]: string | number;
}

export interface EvaluateContext {
  store: ArtifactStore;
  workflowId: string;
  heartbeat?: (progress: EvaluationProgress) => void;
  signal?: AbortSignal;
  /** Injected clock, for tests; default Date.now. */
  now?: () => Date;
}

export interface EvaluationOutcome {
  document: EvaluationDocument;
  html: string;
}

/** Up to this many (actual, predicted) pairs go into the regression scatter plot. */
const REGRESSION_SAMPLE_ROWS = 400;

export async function evaluateModel(context: EvaluateContext, args: EvaluateArgs): Promise<EvaluationOutcome> {
  const startedMs = performance.now();
  const { store } = context;
  const config = args.input.evaluate;
  const task = args.input.task.type;
  const step = async (name: string, details: Record<string, string | number> = {}) => {
    context.signal?.throwIfAborted();
    context.heartbeat?.({ step: name, ...details });
    await yieldToEventLoop();
  };

  await step('load-model');
  const scorer = await loadScorer(store, args.trained.model, args.preprocessor.preprocessor);
  try {
    if (scorer.task !== task)
      throw evaluateConfigFailure([
        {
          path: 'task.type',
          message: `the trained model is a ${scorer.task} model, but the pipeline's task is ${task}`,
        },
      ]);
    await step('read-test-split', { rows: args.split.rows.test });
    const { columns, rows } = await readSplitColumns(store, args.split.splits.test);
    throwIfConfigProblems(
      evaluateColumnProblems(config, {
        names: Object.keys(columns),
        isNumeric: (c) => numericValues(columns[c] ?? []) !== undefined,
        labelColumn: scorer.labelColumn,
        where: 'the test split',
      }),
    );
    const classes = scorer.classes;
    const stats = await readTrainLabelStats(store, args.split, scorer);

    await step('score-model', { rows });
    const { outputs, labels } = await scorer.score(columns, rows, context.signal);
    const nonFiniteOutputs = countNonFinite(outputs);
    const scored = nonFiniteOutputs === 0 ? outputs : finiteOrZero(outputs);

    await step('decision-threshold', { rows: args.split.rows.validation });
    const threshold =
      task === 'binary'
        ? await chooseThresholdOnValidation(store, args.split, scorer, config.decisionThreshold, stats, context.signal)
        : undefined;
    const decisionThreshold = threshold?.threshold ?? 0.5;
    const uncertainty = {
      threshold: decisionThreshold,
      classes,
      confidence: REPORT_CONFIDENCE,
      resamples: config.bootstrapResamples,
      seed: args.input.seed,
    };
    const paired = { ...uncertainty, alpha: config.alpha };
    const challenger = await withIntervals(
      evaluatePredictions(task, labels, scored, uncertainty),
      task,
      labels,
      scored,
      uncertainty,
    );

    await step('baselines');
    const baselines = evaluateBaselines(labels, stats, {
      threshold: decisionThreshold,
      classes,
      seed: args.input.seed,
    });
    const zeroOutputs = zeroRuleOutputs(stats, rows);
    const mainMetric = MAIN_METRIC[task];
    const zeroRule = await zeroRuleEvidence(
      task,
      mainMetric,
      labels,
      scored,
      zeroOutputs,
      challenger.metrics,
      baselines.zeroRule.metrics,
      config.mustBeatZeroRuleBy,
      paired,
    );
    const properScore = await properScoreEvidence(
      task,
      labels,
      scored,
      zeroOutputs,
      challenger.metrics,
      baselines.zeroRule.metrics,
      paired,
    );

    await step('champion');
    const champion = args.champion
      ? await evaluateChampion(store, args.champion, columns, rows, decisionThreshold, task, context.signal).then((c) =>
          compareWithChampion(
            c,
            args.champion as ChampionRefs,
            task,
            labels,
            scored,
            [mainMetric, ...config.championChange.map((r) => r.metric)],
            uncertainty,
            paired,
          ),
        )
      : undefined;

    await step('slices');
    const slices = config.slices.map((s) =>
      measureSlices({
        task,
        column: s.column,
        metric: s.metric,
        floor: s.floor,
        minSize: s.minSize,
        groups: groupRowsByValue(columns[s.column] ?? []),
        labels,
        outputs,
        classes,
        threshold: decisionThreshold,
      }),
    );

    const predict = async (perturbed: RawColumns) => {
      await step('behavioural-predict');
      return scorer.predictColumns(perturbed, rows, context.signal);
    };
    const invariance = [];
    for (const [i, test] of config.invariance.entries()) {
      invariance.push(
        await measureInvariance({
          columns,
          column: test.column,
          epsilon: test.epsilon,
          task,
          classCount: classes?.length ?? 1,
          baseline: outputs,
          predict,
          seed: args.input.seed + i,
        }),
      );
    }
    const directional = [];
    for (const test of config.directional) {
      directional.push(
        await measureDirectional({
          columns,
          column: test.column,
          direction: test.direction,
          task,
          baseline: outputs,
          predict,
        }),
      );
    }

    // The champion's raw outputs served the paired comparisons; they do not belong in evaluation.json.
    const { outputs: _outputs, ...championSummary } = champion ?? {};
    const gate = decideGate({
      task,
      config,
      testRows: rows,
      metrics: challenger.metrics,
      intervals: challenger.intervals ?? {},
      zeroRule,
      properScore,
      champion: champion ? (championSummary as ChampionComparison) : undefined,
      slices,
      invariance,
      directional,
      nonFiniteOutputs,
    });

    await step('report');
    const history = await readLossHistory(store, args.trained.history);
    const document: EvaluationDocument = {
      format: 'trainyard-evaluation',
      formatVersion: 1,
      model: args.input.model,
      workflowId: context.workflowId,
      task,
      createdAt: (context.now?.() ?? new Date()).toISOString(),
      testRows: rows,
      classes,
      decisionThreshold,
      ...(threshold ? { thresholdChoice: { strategy: threshold.strategy, note: threshold.note } } : {}),
      mainMetric,
      decision: gate.decision,
      reasons: gate.reasons,
      rules: gate.rules,
      ...(gate.approvalRequired ? { approvalRequired: gate.approvalRequired } : {}),
      evidence: { alpha: config.alpha, confidence: REPORT_CONFIDENCE, zeroRule, properScore },
      challenger,
      baselines: {
        ...baselines,
        champion: champion ? (championSummary as ChampionComparison & { evaluation?: TaskEvaluation }) : undefined,
      },
      slices,
      invariance,
      directional,
      nonFiniteOutputs,
      regressionSample: task === 'regression' ? regressionSample(labels, outputs) : undefined,
      inputs: {
        model: args.trained.model,
        preprocessor: args.preprocessor.preprocessor,
        testSplit: args.split.splits.test,
        history: args.trained.history,
      },
      evaluateMs: performance.now() - startedMs,
    };
    return { document, html: renderReport(document, history) };
  } finally {
    scorer.dispose();
  }
}

/**
 * The champion scored on this run's test rows with ITS model and ITS preprocessor. Data it cannot
 * handle (a column it needs is gone, a class it never saw) is recorded as the reason it could not be
 * evaluated; store and network errors propagate (the activity retries them).
 */
export async function evaluateChampion(
  store: ArtifactStore,
  champion: ChampionRefs,
  columns: RawColumns,
  rows: number,
  threshold: number,
  task: PipelineInput['task']['type'],
  signal?: AbortSignal,
): Promise<ChampionComparison & { evaluation?: TaskEvaluation; outputs?: Float32Array }> {
  const base = { version: champion.version };
  let scorer: Scorer;
  try {
    scorer = await loadScorer(store, champion.modelRef, champion.preprocessor);
  } catch (error) {
    if (error instanceof ObjectNotFoundError || error instanceof ArtifactFormatError)
      return { ...base, error: messageOf(error) };
    throw error;
  }
  try {
    if (scorer.task !== task)
      return { ...base, error: `the champion is a ${scorer.task} model, this run trains ${task}` };
    const { outputs, labels } = await scorer.score(columns, rows, signal);
    if (countNonFinite(outputs) > 0)
      return { ...base, error: 'the champion produced non-finite outputs on this split' };
    const evaluation = evaluatePredictions(task, labels, outputs, {
      threshold: champion.decisionThreshold ?? threshold,
      classes: scorer.classes,
    });
    return { ...base, metrics: evaluation.metrics, evaluation, outputs };
  } catch (error) {
    if (signal?.aborted) throw error;
    return { ...base, error: messageOf(error) };
  } finally {
    scorer.dispose();
  }
}

/**
 * Train label distribution for the baselines. Classification: the split manifest's train class counts
 * before sampling — the population the model will meet, not the rebalanced sample it trained on.
 * Regression (or a manifest without counts): the train split's label column, mapped like the encoder maps it.
 */
async function readTrainLabelStats(
  store: ArtifactStore,
  split: SplitAndSampleResult,
  scorer: Scorer,
): Promise<TrainLabelStats> {
  const classes = scorer.classes ?? [];
  if (scorer.task !== 'regression') {
    const manifest = await readJsonArtifact(store, split.manifest, SplitManifest);
    const counts = manifest.classCounts?.trainBeforeSampling ?? manifest.classCounts?.train;
    if (counts) {
      const classCounts = classes.map((c) => counts[c] ?? 0);
      return { task: scorer.task, rows: classCounts.reduce((a, b) => a + b, 0), classCounts };
    }
  }
  const { columns, rows } = await readSplitColumns(store, split.splits.train, [scorer.labelColumn]);
  const values = (columns[scorer.labelColumn] ?? []) as readonly CellValue[];
  const labels = new Float64Array(rows);
  if (scorer.task === 'regression') {
    for (let i = 0; i < rows; i++) labels[i] = numericValue(values[i] ?? null, scorer.spec.label.source);
    return trainLabelStats('regression', labels.filter(Number.isFinite), 0);
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  for (let i = 0; i < rows; i++) labels[i] = index.get(categoryKey(values[i] ?? null) ?? '') ?? -1;
  return trainLabelStats(scorer.task, labels, classes.length);
}

async function readLossHistory(store: ArtifactStore, ref: ArtifactRef): Promise<LossPoint[]> {
  try {
    return parseLossHistory(JSON.parse((await readObject(store, store.keyFor(ref.uri))).toString('utf8')));
  } catch (error) {
    if (error instanceof ObjectNotFoundError || error instanceof SyntaxError) return [];
    throw error;
  }
}

/** Columns named by slice, invariance and directional rules must exist; behavioural tests may not perturb the label. */
function throwIfConfigProblems(problems: FieldProblem[]): void {
  if (problems.length > 0) throw evaluateConfigFailure(problems);
}

/** Columns the evaluate config names must exist: a typo fails in validation, before hours of training, not in evaluate. */
export function requireEvaluateColumns(
  evaluate: PipelineInput['evaluate'],
  columns: { name: string; type: string }[],
  labelColumn: string | undefined,
): void {
  throwIfConfigProblems(
    evaluateColumnProblems(evaluate, {
      names: columns.map((c) => c.name),
      isNumeric: (name) => columns.some((c) => c.name === name && c.type === 'numeric'),
      labelColumn: labelColumn ?? '',
      where: 'the dataset',
    }),
  );
}

/** The evaluate config does not fit the data or the model: non-retryable, every bad field named. */
function evaluateConfigFailure(problems: FieldProblem[]): PipelineConfigError {
  return new PipelineConfigError(
    `The evaluate configuration does not fit this run:\n${formatFieldProblems(problems)}`,
    problems,
  );
}

/** Reported intervals are 95%; the gate's one-sided decisions use `evaluate.alpha`. */
const REPORT_CONFIDENCE = 0.95;

async function withIntervals(
  evaluation: TaskEvaluation,
  task: TaskType,
  labels: Float32Array,
  outputs: Float32Array,
  options: UncertaintyOptions,
): Promise<TaskEvaluation> {
  return { ...evaluation, intervals: await metricIntervals(task, labels, outputs, options) };
}

/** Binary: score the validation split and choose the threshold there, so the test split judges it unseen. */
async function chooseThresholdOnValidation(
  store: ArtifactStore,
  split: SplitAndSampleResult,
  scorer: Scorer,
  strategy: GateConfig['decisionThreshold'],
  stats: TrainLabelStats,
  signal?: AbortSignal,
): Promise<ChosenThreshold> {
  const positiveRate = classFrequencies(stats)[1] ?? 0;
  if (typeof strategy === 'number') return chooseDecisionThreshold(strategy, [], [], positiveRate);
  const { columns, rows } = await readSplitColumns(store, split.splits.validation);
  const { outputs, labels } = await scorer.score(columns, rows, signal);
  return chooseDecisionThreshold(strategy, labels, finiteOrZero(outputs), positiveRate);
}

function countNonFinite(values: Float32Array): number {
  let count = 0;
  for (const v of values) if (!Number.isFinite(v)) count++;
  return count;
}

/** Metrics still describe the finite part when a few outputs are NaN; the gate rejects the model anyway. */
function finiteOrZero(values: Float32Array): Float32Array {
  return values.map((v) => (Number.isFinite(v) ? v : 0));
}

function regressionSample(labels: Float32Array, outputs: Float32Array): [number, number][] {
  const step = Math.max(1, Math.ceil(labels.length / REGRESSION_SAMPLE_ROWS));
  const sample: [number, number][] = [];
  for (let i = 0; i < labels.length; i += step) sample.push([labels[i] as number, outputs[i] as number]);
  return sample;
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 300) ?? '';
}
