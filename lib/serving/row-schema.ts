import { z } from 'zod';
import type { FieldProblem } from '../../contracts/errors';
import { epochSecondsOf } from '../data/calendar-features';
import type { RawValue } from '../data/encode-columns';
import type { PreprocessorSpec } from '../data/preprocessor-spec';
import type { DatasetSchema } from '../data/schema';

/** One column a model reads, as a caller sends it. */
export interface ServingInput {
  name: string;
  /** number: a JSON number; boolean; timestamp: ISO-8601 text (zone-less is UTC) or epoch seconds; string. */
  type: 'number' | 'boolean' | 'timestamp' | 'string';
  /** The categories the training data held, when the training schema lists them (others are still accepted). */
  categories?: string[];
}

export type ServingRow = Record<string, RawValue | undefined>;

export interface RowSchema {
  /** Validates one row: every input present (null = missing), of its type; unknown columns refused. */
  row: z.ZodType<ServingRow>;
  inputs: ServingInput[];
}

const TYPE_OF_SOURCE = {
  number: 'number',
  boolean: 'boolean',
  'epoch-seconds': 'timestamp',
  string: 'string',
} as const satisfies Record<PreprocessorSpec['features'][number]['source'], ServingInput['type']>;

const MISSING_HINT = 'required: send null for a missing value (it is imputed as in training)';

/**
 * The zod schema of a serving row, derived from a version's training schema and its fitted
 * preprocessor. Every column the preprocessor encodes must be present and of its training type; null
 * stands for a missing value and is imputed exactly as in training, and a category training never saw
 * gets the unseen encoding, so neither is an error here. Columns of the training data the model does not
 * read (the label, excluded columns) are accepted and ignored; any other column is refused by name, so a
 * misspelt input is never silently imputed.
 */
export function rowSchemaFor(spec: PreprocessorSpec, training: DatasetSchema | undefined): RowSchema {
  const domains = new Map((training?.columns ?? []).map((c) => [c.name, c.domain]));
  const inputs = new Map<string, ServingInput>();
  for (const feature of spec.features) {
    if (inputs.has(feature.column)) continue; // a timestamp's calendar and raw features share one column
    const categories = domains.get(feature.column);
    inputs.set(feature.column, {
      name: feature.column,
      type: TYPE_OF_SOURCE[feature.source],
      ...(feature.source === 'string' && categories ? { categories } : {}),
    });
  }
  const shape: Record<string, z.ZodType> = {};
  const known = [
    ...(training?.columns.map((c) => c.name) ?? []),
    spec.label.column,
    ...spec.excluded.map((e) => e.column),
  ];
  for (const name of known) shape[name] = z.unknown().optional();
  for (const input of inputs.values()) shape[input.name] = fieldSchema(input.type).nullable();
  const names = [...inputs.keys()];
  const listed = names.length <= 20 ? names.join(', ') : `${names.slice(0, 20).join(', ')}, … (${names.length})`;
  const row = z.object(shape).catchall(
    z.unknown().superRefine((_value, ctx) =>
      ctx.addIssue({
        code: 'custom',
        message: `not a column of this model's training data; its inputs are ${listed}`,
      }),
    ),
  ) as unknown as z.ZodType<ServingRow>;
  return { row, inputs: [...inputs.values()] };
}

function fieldSchema(type: ServingInput['type']): z.ZodType<RawValue> {
  const expected = (what: string) => (issue: { input: unknown }) =>
    issue.input === undefined ? MISSING_HINT : `expected ${what} or null, got ${describe(issue.input)}`;
  switch (type) {
    case 'number':
      return z.number({ error: expected('a number') });
    case 'boolean':
      return z.boolean({ error: expected('true or false') });
    case 'string':
      return z.string({ error: expected('a string') });
    case 'timestamp':
      return z
        .union([z.number(), z.string()], { error: expected('an ISO-8601 date-time or epoch seconds') })
        .refine((value) => Number.isFinite(epochSecondsOf(value)), {
          message: 'expected an ISO-8601 date-time (zone-less means UTC) or epoch seconds',
        });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value).slice(0, 40)}`;
}

/** Validated rows as the raw columns encodeColumns reads (absent or null → null). */
export function rowsToColumns(
  rows: readonly ServingRow[],
  inputs: readonly ServingInput[],
): Record<string, RawValue[]> {
  const columns: Record<string, RawValue[]> = {};
  for (const input of inputs) {
    const values = new Array<RawValue>(rows.length);
    for (let r = 0; r < rows.length; r++) values[r] = (rows[r] as ServingRow)[input.name] ?? null;
    columns[input.name] = values;
  }
  return columns;
}

const MAX_COLUMN_PROBLEMS = 100;

/**
 * The row schema's type rules, applied to columns (ServingModel.predictColumns): every input present and
 * `rows` long, each value null or of the input's type. Problems are named `<row>.<column>`, as `schema`
 * names them; the first 100 are listed.
 */
export function checkColumns(
  columns: Readonly<Record<string, readonly RawValue[]>>,
  rows: number,
  inputs: readonly ServingInput[],
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const input of inputs) {
    const values = Object.hasOwn(columns, input.name) ? columns[input.name] : undefined;
    if (!values || values.length !== rows) {
      problems.push({ path: input.name, message: `required: a column of ${rows} values (null for a missing one)` });
      continue;
    }
    const fits = VALUE_CHECK[input.type];
    for (let r = 0; r < rows && problems.length < MAX_COLUMN_PROBLEMS; r++) {
      const value = values[r];
      if (value !== null && !fits(value))
        problems.push({
          path: `${r}.${input.name}`,
          message: `expected ${TYPE_TEXT[input.type]} or null, got ${describe(value)}`,
        });
    }
  }
  return problems;
}

const VALUE_CHECK: Record<ServingInput['type'], (value: unknown) => boolean> = {
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  timestamp: (v) => (typeof v === 'number' || typeof v === 'string') && Number.isFinite(epochSecondsOf(v)),
};

const TYPE_TEXT: Record<ServingInput['type'], string> = {
  number: 'a number',
  boolean: 'true or false',
  string: 'a string',
  timestamp: 'an ISO-8601 date-time or epoch seconds',
};
