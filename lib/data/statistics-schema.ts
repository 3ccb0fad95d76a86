import { z } from 'zod';
import { STATISTICS_VERSION, type DatasetStatistics } from './statistics';

/** Reads a statistics artifact back from the store (a drift reference, a champion's statistics). */
const Count = z.number().int().nonnegative();
const MaybeNumber = z.number().nullable();
const Histogram = z
  .object({ edges: z.array(z.number()), counts: z.array(z.number().nonnegative()) })
  .refine((h) => (h.edges.length === 0 ? h.counts.length === 0 : h.counts.length === h.edges.length - 1), {
    message: 'a histogram needs exactly one more edge than counts',
  });
const CategoryCount = z.object({ value: z.string(), count: Count });

const ColumnStatisticsSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['numeric', 'categorical', 'boolean', 'timestamp', 'text']),
  duckdbType: z.string(),
  count: Count,
  missingCount: Count,
  missingFraction: z.number().min(0).max(1),
  distinctCount: Count,
  numeric: z
    .object({
      min: MaybeNumber,
      max: MaybeNumber,
      mean: MaybeNumber,
      std: MaybeNumber,
      quantiles: z.array(z.object({ q: z.number(), value: z.number() })),
      nanCount: Count,
      infinityCount: Count,
      histogram: Histogram,
      quantileHistogram: Histogram.optional(),
      histogramOnReferenceBins: Histogram.optional(),
    })
    .optional(),
  categorical: z
    .object({
      categories: z.array(CategoryCount),
      otherCount: Count,
      otherShare: z.number(),
      numericShare: z.number(),
      nonNumericExamples: z.array(z.string()),
    })
    .optional(),
  boolean: z.object({ trueCount: Count, falseCount: Count }).optional(),
  timestamp: z.object({ min: z.string().nullable(), max: z.string().nullable() }).optional(),
  text: z
    .object({
      minLength: MaybeNumber,
      maxLength: MaybeNumber,
      meanLength: MaybeNumber,
      numericShare: z.number(),
      nonNumericExamples: z.array(z.string()),
    })
    .optional(),
  labelAssociation: z
    .object({
      auc: z.number().optional(),
      aucByClass: z.record(z.string(), z.number()).optional(),
      aucMethod: z.enum(['rank', 'target-encoded', 'binned-target-encoded']).optional(),
      correlation: z.number().optional(),
      sampledRows: Count.optional(),
    })
    .optional(),
});

export const DatasetStatisticsSchema = z.object({
  version: z.literal(STATISTICS_VERSION),
  rowCount: Count,
  columnCount: Count,
  duplicateRowCount: Count,
  duplicateRowShare: z.number().min(0).max(1),
  columns: z.array(ColumnStatisticsSchema),
  label: z.object({ column: z.string(), classes: z.array(CategoryCount).optional(), missingCount: Count }).optional(),
});

// The zod schema and the TypeScript interface must describe the same thing.
type Parsed = z.output<typeof DatasetStatisticsSchema>;
export const statisticsSchemaMatchesInterface: [
  Parsed extends DatasetStatistics ? true : false,
  DatasetStatistics extends Parsed ? true : false,
] = [true, true];
