import { DataError, FailureType, type FieldProblem } from '../../contracts/errors';
import type { ColumnKind, DatasetColumn } from '../data/dataset';
import { preview, quoteIdentifier } from '../data/identifiers';
import type { ServingInput } from '../serving/row-schema';

/** The dataset lacks columns the model reads: no score could be trusted, so nothing is scored (IncompatibleSchema). */
export class MissingInputColumnsError extends DataError {
  constructor(model: string, problems: FieldProblem[]) {
    const them = problems.length === 1 ? 'it' : 'them';
    const names = problems.map((p) => `"${preview(p.path)}"`).join(', ');
    super(
      FailureType.IncompatibleSchema,
      `The dataset lacks ${problems.length === 1 ? 'a column' : 'columns'} ${model} reads: ${names}. Add ${them} (null values are imputed as in training), or predict with a version trained without ${them}.`,
      problems,
    );
    this.name = 'MissingInputColumnsError';
  }
}

/** One model input as the scoring query selects it: its name, and the SQL that reads it in the input's type. */
export interface InputSelect {
  name: string;
  sql: string;
  /** Set when the dataset's column has another type and is converted (values that do not convert become null). */
  convertedFrom?: string;
}

export interface InputCheck {
  selects: InputSelect[];
  /** Things a person should know that do not stop scoring: extra columns, converted types. */
  warnings: string[];
}

const SQL_TYPE: Record<ServingInput['type'], string> = {
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  string: 'VARCHAR',
  timestamp: 'TIMESTAMP',
};

const KIND_OF_INPUT: Record<ServingInput['type'], readonly ColumnKind[]> = {
  number: ['numeric'],
  boolean: ['boolean'],
  string: ['categorical', 'text'],
  timestamp: ['timestamp'],
};

/**
 * Checks a dataset's columns against what a version reads, before anything is scored: a missing input is a
 * MissingInputColumnsError naming each; a column of another type is converted (a value that does not
 * convert is a missing value, imputed as in training) with a warning; columns the training data did not
 * have are ignored with a warning. Timestamps are read as epoch seconds, the form the serving rows take.
 */
export function checkInputColumns(args: {
  model: string;
  columns: readonly DatasetColumn[];
  inputs: readonly ServingInput[];
  /** Every column of the version's training data (the label and excluded columns included). */
  trainingColumns: readonly string[];
  keyColumns: readonly string[];
}): InputCheck {
  const byName = new Map(args.columns.map((c) => [c.name, c]));
  const missing: FieldProblem[] = [];
  for (const input of args.inputs)
    if (!byName.has(input.name))
      missing.push({ path: input.name, message: `required: a ${input.type} column the model reads` });
  for (const key of args.keyColumns)
    if (!byName.has(key)) missing.push({ path: key, message: 'named in keyColumns but not a column of the dataset' });
  if (missing.length > 0) throw new MissingInputColumnsError(args.model, missing);

  const warnings: string[] = [];
  const selects = args.inputs.map((input): InputSelect => {
    const column = byName.get(input.name) as DatasetColumn;
    const q = quoteIdentifier(input.name);
    const matches = KIND_OF_INPUT[input.type].includes(column.type);
    if (!matches)
      warnings.push(
        `column "${preview(input.name)}" is ${column.duckdbType} here but ${input.type} in training: converted, values that do not convert are treated as missing`,
      );
    const typed = matches && input.type !== 'number' ? q : `TRY_CAST(${q} AS ${SQL_TYPE[input.type]})`;
    return {
      name: input.name,
      sql: readAs(input.type, typed),
      ...(matches ? {} : { convertedFrom: column.duckdbType }),
    };
  });
  const known = new Set([...args.trainingColumns, ...args.inputs.map((i) => i.name), ...args.keyColumns]);
  const extra = args.columns.filter((c) => !known.has(c.name)).map((c) => `"${preview(c.name)}"`);
  if (extra.length > 0)
    warnings.push(
      `${extra.length === 1 ? 'column' : `${extra.length} columns`} ${extra.slice(0, 20).join(', ')}${extra.length > 20 ? ', …' : ''} not in the training data: ignored`,
    );
  return { selects, warnings };
}

/**
 * A number that is not finite (NaN, ±Infinity) is read as null: encodeColumns imputes both alike, so the
 * score is evaluate's, and the serving row schema accepts only finite numbers or null.
 */
function readAs(type: ServingInput['type'], typed: string): string {
  if (type === 'number') return `(CASE WHEN isfinite(${typed}) THEN ${typed} END)`;
  return type === 'timestamp' ? `epoch(${typed})` : typed;
}
