import type { z } from 'zod';
import type { ValidationConfig } from '../../contracts/stage-config';
import type { Anomaly, Severity } from '../../contracts/stage-results';
import type { LabelSpec } from './dataset';
import { compareDrift, formatNumber, formatShare, type DriftComparison } from './drift';
import { describeShift } from './drift-trigger';
import { preview } from './identifiers';
import { classCountShortfall } from './label-classes';
import { typeFamily, type ColumnSchema, type DatasetSchema } from './schema';
import type { ColumnStatistics, DatasetStatistics } from './statistics';
import type { TimeLikeProfile } from './time-like-columns';
import type { TaskType } from '../../contracts/pipeline-input';

export type ValidationSettings = z.output<typeof ValidationConfig>;
export type SchemaSource = 'inferred' | 'champion' | 'provided';

export interface AnomalyInput {
  statistics: DatasetStatistics;
  /** The schema to validate against; with schemaSource "inferred" it came from these statistics and schema checks are skipped. */
  schema?: DatasetSchema;
  schemaSource: SchemaSource;
  /** Drift reference. */
  reference?: DatasetStatistics;
  config: ValidationSettings;
  task: { type: TaskType; label: LabelSpec };
  /** How columns will enter the model (from the pipeline input), for the time-like checks. */
  modelInputs?: ModelInputs;
  /** Text columns holding date-times and numbers that count like time (lib/data/time-like-columns.ts). */
  timeLike?: TimeLikeProfile;
}

export interface ModelInputs {
  /** The split's time column under a time split. */
  timeColumn?: string;
  exclude: string[];
  /** preprocess.rawTimestamps. */
  rawTimestamps: 'auto' | boolean | string[];
}

export interface AnomalyReport {
  /** Errors first, then warnings; each with a sentence a person can act on. */
  anomalies: Anomaly[];
  /** The drift table against the reference, when there is one (a batch below validation.drift.minRows is not judged). */
  drift?: DriftComparison;
}

/** Above this share of numeric-looking values, a text column is reported as "numbers with a few bad values". */
const NUMERIC_AS_TEXT_SHARE = 0.9;

/**
 * Every data check, pure over statistics, schema and thresholds. Check names are stable (they are
 * what dashboards and tests match on): empty-dataset, too-few-rows, missing-column, unexpected-column,
 * type-mismatch, numeric-as-text, missing-fraction, out-of-range, unseen-categories, constant-column,
 * duplicate-rows, label-missing, label-values-missing, label-type, single-class, label-classes,
 * non-finite-values, class-imbalance, label-leakage, drift-psi, drift-jensen-shannon, timestamp-as-text,
 * mixed-time-zones, time-as-number.
 */
export function detectAnomalies(input: AnomalyInput): AnomalyReport {
  const drift = input.reference ? compareDrift(input.reference, input.statistics, input.config.drift) : undefined;
  const anomalies = [
    ...checkRowCount(input),
    ...checkSchema(input),
    ...checkColumns(input),
    ...checkDuplicates(input),
    ...checkLabel(input),
    ...checkLeakage(input),
    ...checkTimeLike(input),
    ...driftAnomalies(drift, input.config),
  ];
  return {
    anomalies: [
      ...anomalies.filter((a) => a.severity === 'error'),
      ...anomalies.filter((a) => a.severity === 'warning'),
    ],
    ...(drift ? { drift } : {}),
  };
}

/** The label column's name in the data (a derived label's computed name). */
export function labelName(label: LabelSpec): string {
  return typeof label === 'string' ? label : label.name;
}

function q(name: string): string {
  return JSON.stringify(preview(name));
}

function anomaly(severity: Severity, check: string, message: string, fields: Partial<Anomaly> = {}): Anomaly {
  return { severity, check, ...fields, message };
}

function checkRowCount({ statistics, config }: AnomalyInput): Anomaly[] {
  if (statistics.rowCount === 0) {
    return [
      anomaly(
        'error',
        'empty-dataset',
        'The dataset has no rows: check that the upload finished and that the URI names the right file or prefix.',
        { observed: 0, threshold: config.minRows },
      ),
    ];
  }
  if (statistics.rowCount < config.minRows) {
    return [
      anomaly(
        'error',
        'too-few-rows',
        `The dataset has only ${statistics.rowCount} rows (minimum ${config.minRows}): add data, or lower validation.minRows if this is intended.`,
        {
          observed: statistics.rowCount,
          threshold: config.minRows,
        },
      ),
    ];
  }
  return [];
}

function checkSchema({ statistics, schema, schemaSource }: AnomalyInput): Anomaly[] {
  if (!schema || schemaSource === 'inferred') return [];
  const source = schemaSource === 'champion' ? "the champion's schema" : 'the provided schema';
  const strict: Severity = schemaSource === 'provided' ? 'error' : 'warning';
  const present = new Map(statistics.columns.map((c) => [c.name, c]));
  const expected = new Set(schema.columns.map((c) => c.name));
  const found: Anomaly[] = [];
  for (const column of schema.columns) {
    const stats = present.get(column.name);
    if (!stats) {
      if (column.required) {
        found.push(
          anomaly(
            'error',
            'missing-column',
            `Column ${q(column.name)} required by ${source} is missing: add it to the dataset, or drop it from the schema.`,
            { column: column.name, observed: 'absent', threshold: 'required' },
          ),
        );
      }
      continue;
    }
    found.push(...compareToColumnSchema(stats, column, source, strict));
  }
  for (const column of statistics.columns) {
    if (!expected.has(column.name)) {
      found.push(
        anomaly(
          'warning',
          'unexpected-column',
          `Column ${q(column.name)} is not in ${source}: it will be treated as a new feature; add it to the schema if that is intended.`,
          { column: column.name, observed: column.type },
        ),
      );
    }
  }
  return found;
}

function compareToColumnSchema(
  stats: ColumnStatistics,
  column: ColumnSchema,
  source: string,
  strict: Severity,
): Anomaly[] {
  const found: Anomaly[] = [];
  if (typeFamily(stats.type) !== typeFamily(column.type)) {
    const numericShare = numericLooking(stats)?.numericShare ?? 0;
    const hint =
      column.type === 'numeric' && numericShare > 0
        ? ` ${formatShare(numericShare)} of its values are numbers; fix values like ${nonNumericExamples(stats)}`
        : ' fix the column at the source';
    found.push(
      anomaly(
        'error',
        'type-mismatch',
        `Column ${q(column.name)} is ${stats.type} (${stats.duckdbType}) but ${source} says ${column.type}:${hint}, or update the schema.`,
        {
          column: column.name,
          observed: stats.type,
          threshold: column.type,
        },
      ),
    );
    return found;
  }
  if (stats.numeric && column.range && stats.numeric.min !== null && stats.numeric.max !== null) {
    const { min, max } = stats.numeric;
    if (min < column.range.min || max > column.range.max) {
      found.push(
        anomaly(
          strict,
          'out-of-range',
          `Column ${q(column.name)} has values from ${formatNumber(min)} to ${formatNumber(max)}, outside ${source}'s range ${formatNumber(column.range.min)} to ${formatNumber(column.range.max)}: check for unit or sign errors, or widen the range in the schema.`,
          {
            column: column.name,
            observed: `${min}..${max}`,
            threshold: `${column.range.min}..${column.range.max}`,
          },
        ),
      );
    }
  }
  return found;
}

function numericLooking(stats: ColumnStatistics): { numericShare: number; nonNumericExamples: string[] } | undefined {
  return stats.categorical ?? stats.text;
}

function nonNumericExamples(stats: ColumnStatistics): string {
  const examples = numericLooking(stats)?.nonNumericExamples ?? [];
  return examples.length > 0 ? examples.map((v) => JSON.stringify(preview(v, 30))).join(', ') : 'the non-numeric ones';
}

function checkColumns(input: AnomalyInput): Anomaly[] {
  const { statistics, config, schema, schemaSource } = input;
  const label = labelName(input.task.label);
  const schemaColumns = schemaSource !== 'inferred' ? (schema?.columns ?? []) : [];
  const domains = new Map(schemaColumns.filter((c) => c.domain).map((c) => [c.name, new Set(c.domain)]));
  // A column the schema types is judged by the type-mismatch check, which gives the same hint.
  const typedBySchema = new Set(schemaColumns.map((c) => c.name));
  const found: Anomaly[] = [];
  for (const c of statistics.columns) {
    if (statistics.rowCount > 0 && c.missingFraction > config.maxMissingFraction) {
      const all = c.count === 0;
      found.push(
        anomaly(
          'error',
          'missing-fraction',
          all
            ? `Column ${q(c.name)} is missing in every row: drop it, or fix the export that should fill it.`
            : `Column ${q(c.name)} is missing in ${formatShare(c.missingFraction)} of rows (threshold ${formatShare(config.maxMissingFraction)}): fill or drop it, or raise validation.maxMissingFraction.`,
          { column: c.name, observed: c.missingFraction, threshold: config.maxMissingFraction },
        ),
      );
    }
    if (c.numeric && c.numeric.nanCount + c.numeric.infinityCount > 0) {
      const { nanCount, infinityCount } = c.numeric;
      const parts = [nanCount > 0 ? `${nanCount} NaN` : '', infinityCount > 0 ? `${infinityCount} infinite` : '']
        .filter(Boolean)
        .join(' and ');
      found.push(
        anomaly(
          'error',
          'non-finite-values',
          `Column ${q(c.name)} holds ${parts} value${nanCount + infinityCount === 1 ? '' : 's'}: replace them with missing values or finite numbers before training (a division by zero upstream is the usual cause).`,
          {
            column: c.name,
            observed: nanCount + infinityCount,
            threshold: 0,
          },
        ),
      );
    }
    if (c.name !== label && c.count > 0 && c.distinctCount <= 1 && statistics.rowCount >= config.minRows) {
      found.push(
        anomaly(
          'warning',
          'constant-column',
          `Column ${q(c.name)} has a single value in every non-missing row: it carries no information; exclude it (preprocess.exclude) or check the export.`,
          { column: c.name, observed: c.distinctCount, threshold: 2 },
        ),
      );
    }
    const looking = numericLooking(c);
    if (
      looking &&
      looking.numericShare >= NUMERIC_AS_TEXT_SHARE &&
      looking.numericShare < 1 &&
      !typedBySchema.has(c.name)
    ) {
      found.push(
        anomaly(
          'warning',
          'numeric-as-text',
          `Column ${q(c.name)} was read as text although ${formatShare(looking.numericShare)} of its values are numbers: fix values like ${nonNumericExamples(c)} so it is read as numeric.`,
          {
            column: c.name,
            observed: looking.numericShare,
            threshold: NUMERIC_AS_TEXT_SHARE,
          },
        ),
      );
    }
    const domain = domains.get(c.name);
    if (domain && c.categorical && c.count > 0 && c.name !== label) {
      // the label's classes: see label-classes
      const unseen = c.categorical.categories.filter((k) => !domain.has(k.value));
      // Values beyond the kept categories were not compared: count them as unseen, the cautious reading.
      const unseenCount = unseen.reduce((s, k) => s + k.count, 0) + c.categorical.otherCount;
      const share = unseenCount / c.count;
      if (share > config.maxUnseenCategoryShare) {
        found.push(
          anomaly(
            'error',
            'unseen-categories',
            `Column ${q(c.name)} has ${formatShare(share)} of values in categories the schema has not seen (threshold ${formatShare(config.maxUnseenCategoryShare)}), e.g. ${
              unseen
                .slice(0, 3)
                .map((k) => JSON.stringify(preview(k.value, 30)))
                .join(', ') || '(beyond the counted categories)'
            }: check for renamed or misspelt categories, or add them to the schema's domain.`,
            {
              column: c.name,
              observed: share,
              threshold: config.maxUnseenCategoryShare,
            },
          ),
        );
      }
    }
  }
  return found;
}

function checkDuplicates({ statistics, config }: AnomalyInput): Anomaly[] {
  if (statistics.rowCount === 0 || statistics.duplicateRowShare <= config.maxDuplicateShare) return [];
  return [
    anomaly(
      'error',
      'duplicate-rows',
      `${formatShare(statistics.duplicateRowShare)} of rows (${statistics.duplicateRowCount}) repeat another row exactly (threshold ${formatShare(config.maxDuplicateShare)}): check for a double export or a bad join, or raise validation.maxDuplicateShare.`,
      {
        observed: statistics.duplicateRowShare,
        threshold: config.maxDuplicateShare,
      },
    ),
  ];
}

function checkLabel({ statistics, task, config, schema, schemaSource }: AnomalyInput): Anomaly[] {
  const name = labelName(task.label);
  const stats = statistics.columns.find((c) => c.name === name);
  if (!stats) {
    const derivedFrom = typeof task.label === 'object' ? task.label.column : undefined;
    const message =
      derivedFrom !== undefined
        ? `The label is derived from column ${q(derivedFrom)}, which the dataset does not have: fix task.label.column or the dataset.`
        : `The label column ${q(name)} is not in the dataset: fix task.label, or check the dataset's header.`;
    return [
      anomaly('error', 'label-missing', message, {
        column: derivedFrom ?? name,
        observed: 'absent',
        threshold: 'required',
      }),
    ];
  }
  const found: Anomaly[] = [];
  if (statistics.rowCount === 0) return found;
  if (stats.missingCount > 0 && stats.missingFraction <= config.maxMissingFraction) {
    found.push(
      anomaly(
        'warning',
        'label-values-missing',
        `The label ${q(name)} is missing in ${stats.missingCount} rows (${formatShare(stats.missingFraction)}): those rows cannot be used for training or evaluation.`,
        { column: name, observed: stats.missingCount, threshold: 0 },
      ),
    );
  }
  if (task.type === 'regression') {
    if (stats.type !== 'numeric') {
      found.push(
        anomaly(
          'error',
          'label-type',
          `The label ${q(name)} is ${stats.type} (${stats.duckdbType}), but a regression task needs a numeric label: pick a numeric column or change task.type.`,
          { column: name, observed: stats.type, threshold: 'numeric' },
        ),
      );
    } else if (stats.count > 0 && stats.distinctCount <= 1) {
      found.push(
        anomaly(
          'error',
          'single-class',
          `The label ${q(name)} has the same value in every row: there is nothing to learn; check the export or the label column.`,
          { column: name, observed: stats.distinctCount, threshold: 2 },
        ),
      );
    }
    return found;
  }
  const classes = statistics.label?.classes ?? [];
  const shortfall = classCountShortfall(task.type, classes.length);
  if (shortfall && classes.length < 2) {
    found.push(
      anomaly(
        'error',
        'single-class',
        classes.length === 0
          ? `The label ${q(name)} has no values: every row is missing it.`
          : `The label ${q(name)} has a single class (${JSON.stringify(preview(classes[0]?.value ?? '', 40))}) in all ${stats.count} labelled rows: a classifier needs at least two; check the filter that produced this dataset.`,
        { column: name, observed: classes.length, threshold: 2 },
      ),
    );
    return found;
  }
  if (shortfall) {
    found.push(
      anomaly(
        'error',
        'label-classes',
        `The label ${q(name)} has ${classes.length} classes (${classes
          .slice(0, 5)
          .map((c) => JSON.stringify(preview(c.value, 30)))
          .join(
            ', ',
          )}${classes.length > 5 ? ', …' : ''}) but the task is binary: derive a two-class label (task.label with op and value) or set task.type to multiclass.`,
        {
          column: name,
          observed: classes.length,
          threshold: 2,
        },
      ),
    );
  }
  if (stats.type === 'numeric' && classes.length > 100) {
    found.push(
      anomaly(
        'warning',
        'label-type',
        `The label ${q(name)} is numeric with ${classes.length} distinct values: did you mean task.type "regression"?`,
        { column: name, observed: classes.length },
      ),
    );
  }
  const majority = classes[0] as { value: string; count: number };
  const minority = classes[classes.length - 1] as { value: string; count: number };
  const ratio = majority.count / minority.count;
  if (ratio > config.imbalanceRatioWarning) {
    found.push(
      anomaly(
        'warning',
        'class-imbalance',
        `The label ${q(name)} is imbalanced: ${JSON.stringify(preview(majority.value, 30))} has ${majority.count} rows and ${JSON.stringify(preview(minority.value, 30))} only ${minority.count} (ratio ${formatNumber(ratio)}, warning above ${config.imbalanceRatioWarning}); consider sampling.strategy "class-weights", "undersample" or "oversample".`,
        {
          column: name,
          observed: ratio,
          threshold: config.imbalanceRatioWarning,
        },
      ),
    );
  }
  if (schemaSource !== 'inferred' && schema?.label?.classes) {
    const known = new Set(schema.label.classes);
    const unseen = classes.filter((c) => !known.has(c.value));
    if (unseen.length > 0) {
      found.push(
        anomaly(
          'error',
          'label-classes',
          `The label ${q(name)} has classes the schema does not know: ${unseen
            .slice(0, 5)
            .map((c) => `${JSON.stringify(preview(c.value, 30))} (${c.count} rows)`)
            .join(', ')}; fix the labels, or retrain from scratch with a new schema.`,
          { column: name, observed: unseen.length, threshold: 0 },
        ),
      );
    }
  }
  return found;
}

function checkLeakage({ statistics, config, task }: AnomalyInput): Anomaly[] {
  const { aucThreshold, correlationThreshold, allow } = config.leakage;
  const allowed = new Set(allow);
  const label = labelName(task.label);
  const found: Anomaly[] = [];
  for (const c of statistics.columns) {
    const association = c.labelAssociation;
    if (!association || c.name === label) continue;
    const byAuc = association.auc !== undefined && association.auc > aucThreshold;
    const byCorrelation =
      association.correlation !== undefined && Math.abs(association.correlation) > correlationThreshold;
    if (!byAuc && !byCorrelation) continue;
    const evidence = byAuc
      ? `alone it predicts the label with ROC-AUC ${formatNumber(association.auc)} (threshold ${aucThreshold})`
      : `its correlation with the label is ${formatNumber(association.correlation)} (threshold ±${correlationThreshold})`;
    const isAllowed = allowed.has(c.name);
    found.push(
      anomaly(
        isAllowed ? 'warning' : 'error',
        'label-leakage',
        isAllowed
          ? `Column ${q(c.name)} looks like label leakage: ${evidence}; allowed by validation.leakage.allow.`
          : `Column ${q(c.name)} looks like label leakage: ${evidence}. If it is only known after the outcome, drop it (preprocess.exclude); if it is a legitimate predictor, list it in validation.leakage.allow.`,
        {
          column: c.name,
          observed: byAuc ? (association.auc as number) : (association.correlation as number),
          threshold: byAuc ? aucThreshold : correlationThreshold,
        },
      ),
    );
  }
  return found;
}

/** Whole numbers distinct in at least this share of rows (and 100 rows or more) look like identifiers. */
const ID_LIKE_DISTINCT_SHARE = 0.95;
/** A number this correlated with the time column counts time (a sequence number, an epoch). */
const TIME_CORRELATION = 0.98;

/**
 * Time in disguise: text date-times (unparseable values, mixed zones), and numbers that count rows or
 * time entering the model as numbers — new rows then lie beyond every value the model was trained on.
 */
function checkTimeLike({ statistics, task, modelInputs, timeLike }: AnomalyInput): Anomaly[] {
  const found: Anomaly[] = [];
  const label = labelName(task.label);
  const derivedFrom = typeof task.label === 'object' ? task.label.column : undefined;
  const excluded = new Set([
    label,
    ...(derivedFrom !== undefined ? [derivedFrom] : []),
    ...(modelInputs?.exclude ?? []),
  ]);
  for (const t of timeLike?.textTimestamps ?? []) {
    if (excluded.has(t.column)) continue;
    const bad = t.values - t.parsed;
    const example = t.unparseable.map((v) => JSON.stringify(preview(v, 40))).join(', ');
    found.push(
      anomaly(
        'warning',
        'timestamp-as-text',
        bad > 0
          ? `Column ${q(t.column)} holds date-times as text, and ${bad} of ${t.values} values (${formatShare(bad / t.values)}) are not valid date-times, e.g. ${example}: fix them and store the column as a timestamp (or ISO 8601 text), or it enters the model as categories instead of calendar features.`
          : `Column ${q(t.column)} holds date-times as text, so it enters the model as categories instead of calendar features: store it as a timestamp, or as ISO 8601 text (2001-01-14 21:55) in a CSV.`,
        { column: t.column, observed: t.parsed / Math.max(t.values, 1), threshold: 1 },
      ),
    );
    if (t.zones.length > 1) {
      const zones = t.zones.map((z) => `${z.count} ${z.zone === '' ? 'without a zone' : `in ${z.zone}`}`).join(', ');
      found.push(
        anomaly(
          'warning',
          'mixed-time-zones',
          `Column ${q(t.column)} mixes time zones (${zones}): the same clock time means different instants; convert every value to UTC (or one zone) at the source.`,
          {
            column: t.column,
            observed: t.zones.length,
            threshold: 1,
          },
        ),
      );
    }
  }

  if (!modelInputs) return found;
  const raw = modelInputs.rawTimestamps;
  for (const c of statistics.columns) {
    if (excluded.has(c.name)) continue;
    const hint = `leave it out (preprocess.exclude)${c.type === 'timestamp' ? ' and let its calendar features carry it' : ''}`;
    if (c.type === 'timestamp' && (raw === true || (Array.isArray(raw) && raw.includes(c.name)))) {
      const why =
        c.name === modelInputs.timeColumn
          ? "it is the split's time column, so every test time lies after every train time"
          : 'new rows come later than every train row';
      found.push(
        anomaly(
          'warning',
          'time-as-number',
          `Column ${q(c.name)} enters the model as a raw number (preprocess.rawTimestamps), but ${why}: the model can only extrapolate on it. Drop it from preprocess.rawTimestamps; its calendar features stay.`,
          { column: c.name, observed: 'raw epoch seconds' },
        ),
      );
      continue;
    }
    if (c.type !== 'numeric') continue;
    const sequence = timeLike?.numericSequences.find((n) => n.column === c.name);
    if (c.name === modelInputs.timeColumn) {
      found.push(
        anomaly(
          'warning',
          'time-as-number',
          `Column ${q(c.name)} is the split's time column and enters the model as a number: every test value lies beyond the train range, so the model can only extrapolate on it; ${hint}.`,
          { column: c.name, observed: 'time column' },
        ),
      );
    } else if (sequence?.timeCorrelation != null && Math.abs(sequence.timeCorrelation) >= TIME_CORRELATION) {
      found.push(
        anomaly(
          'warning',
          'time-as-number',
          `Column ${q(c.name)} rises with time (correlation ${formatNumber(sequence.timeCorrelation)} with the time column ${q(modelInputs.timeColumn ?? '')}): as a number, new rows lie beyond its train range; ${hint}.`,
          {
            column: c.name,
            observed: sequence.timeCorrelation,
            threshold: TIME_CORRELATION,
          },
        ),
      );
    } else if (sequence?.integral && c.count >= 100 && c.distinctCount >= ID_LIKE_DISTINCT_SHARE * c.count) {
      found.push(
        anomaly(
          'warning',
          'time-as-number',
          `Column ${q(c.name)} holds a different whole number in almost every row (${c.distinctCount} of ${c.count}): an identifier or sequence number? As a number it carries row order, not signal; ${hint}.`,
          {
            column: c.name,
            observed: c.distinctCount / c.count,
            threshold: ID_LIKE_DISTINCT_SHARE,
          },
        ),
      );
    }
  }
  return found;
}

function driftAnomalies(drift: DriftComparison | undefined, config: ValidationSettings): Anomaly[] {
  return (drift?.columns ?? [])
    .filter((d) => d.drifted)
    .map((d) =>
      anomaly(
        config.drift.severity,
        d.metric === 'psi' ? 'drift-psi' : 'drift-jensen-shannon',
        `Column ${q(d.column)} has drifted from the reference beyond chance and beyond the floor: ${describeShift(d)}. Check whether the source changed; if the shift is real, retrain on recent data${config.drift.severity === 'error' ? ' or set validation.drift.severity to "warning"' : ''}.`,
        { column: d.column, observed: d.value, threshold: d.floor },
      ),
    );
}
