import { z } from 'zod';
import type { ColumnKind } from './dataset';
import type { DatasetStatistics } from './statistics';

export const SCHEMA_VERSION = 1;

const ColumnKindSchema = z.enum(['numeric', 'categorical', 'boolean', 'timestamp', 'text']);

/**
 * What a dataset is expected to look like: inferred from a model's first training data, then the
 * yardstick for later runs. Also what a user writes by hand (`validation.schemaUri`), so it is read
 * back through this zod schema and every problem is named by its path.
 */
export const ColumnSchema = z
  .object({
    name: z.string().min(1).max(10_000),
    type: ColumnKindSchema,
    /** A dataset without this column fails validation. Default true. */
    required: z.boolean().default(true),
    /** Whether missing values were seen (inferred) or are allowed (hand-written). Default true. */
    nullable: z.boolean().default(true),
    /** Numeric columns: the range values are expected in. */
    range: z
      .object({ min: z.number(), max: z.number() })
      .strict()
      .refine((r) => r.min <= r.max, { message: 'range.min must be at most range.max' })
      .optional(),
    /** Categorical columns: the known values; absent means "any value". */
    domain: z.array(z.string()).max(100_000).optional(),
  })
  .strict();
export type ColumnSchema = z.output<typeof ColumnSchema>;

export const DatasetSchema = z
  .object({
    version: z.literal(SCHEMA_VERSION).default(SCHEMA_VERSION),
    columns: z
      .array(ColumnSchema)
      .min(1)
      .refine((columns) => new Set(columns.map((c) => c.name)).size === columns.length, {
        message: 'column names must be unique',
      }),
    label: z
      .object({ column: z.string().min(1).max(10_000), classes: z.array(z.string()).optional() })
      .strict()
      .optional(),
  })
  .strict();
export type DatasetSchema = z.output<typeof DatasetSchema>;
export type DatasetSchemaDraft = z.input<typeof DatasetSchema>;

/** Types that share a storage family may change into each other (a categorical growing into text is fine). */
export function typeFamily(type: ColumnKind): 'number' | 'boolean' | 'time' | 'string' {
  switch (type) {
    case 'numeric':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'time';
    case 'categorical':
    case 'text':
      return 'string';
  }
}

/**
 * Infers a schema from statistics: every column required, nullable when values were missing, numeric
 * ranges as observed, categorical domains when every category was counted (no "other" bucket), label
 * classes for classification.
 */
export function inferSchema(statistics: DatasetStatistics): DatasetSchema {
  return {
    version: SCHEMA_VERSION,
    columns: statistics.columns.map((c) => {
      const column: ColumnSchema = { name: c.name, type: c.type, required: true, nullable: c.missingCount > 0 };
      if (c.numeric && c.numeric.min !== null && c.numeric.max !== null)
        column.range = { min: c.numeric.min, max: c.numeric.max };
      if (c.categorical && c.categorical.otherCount === 0)
        column.domain = c.categorical.categories.map((k) => k.value).sort();
      return column;
    }),
    ...(statistics.label
      ? {
          label: {
            column: statistics.label.column,
            ...(statistics.label.classes ? { classes: statistics.label.classes.map((k) => k.value).sort() } : {}),
          },
        }
      : {}),
  };
}
