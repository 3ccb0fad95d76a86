import { z } from 'zod';
import type { ScheduleOverlapPolicy, ScheduleSpec } from '@temporalio/client';
import { ModelReferenceText } from '../../contracts/model-reference';
import { ModelName } from '../../contracts/pipeline-input';
import { UsageError } from '../config-edge';
import { formatDurationMs, parseDurationMs } from './durations';
import { SCHEDULED_WORKFLOWS } from './scheduled-workflows';

/** What `--overlap` accepts, in the CLI's kebab-case, and the Temporal policy each one names. */
export const OVERLAP_POLICIES = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
} as const satisfies Record<string, Exclude<ScheduleOverlapPolicy, undefined>>;
export type OverlapOption = keyof typeof OVERLAP_POLICIES;

/** Temporal's limits: an interval below 1 s is refused, a catch-up window below 10 s is silently raised to 10 s. */
export const MIN_INTERVAL_MS = 1_000;
export const MIN_CATCHUP_WINDOW_MS = 10_000;

const DURATION_HINT = 'expected a duration like 30s, 15m, 1h or 1d';

function durationOption(minMs: number, why: string) {
  return z.string().transform((text, ctx) => {
    const durationMs = parseDurationMs(text);
    if (durationMs === undefined) {
      ctx.addIssue({ code: 'custom', message: `${DURATION_HINT}, got "${text}"` });
      return z.NEVER;
    }
    if (durationMs < minMs) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${formatDurationMs(minMs)} (${why}), got "${text}"` });
      return z.NEVER;
    }
    return durationMs;
  });
}

const Overlap = z.enum(Object.keys(OVERLAP_POLICIES) as [OverlapOption, ...OverlapOption[]], {
  message: `expected one of ${Object.keys(OVERLAP_POLICIES).join(', ')}`,
});

const IsoDateTime = z.iso.datetime({ offset: true });
const IsoDate = z.iso.date();

/** An instant: an ISO date-time with its zone ("2026-11-20T02:00:00Z", "…+01:00") or a date (midnight UTC). */
const IsoInstant = z.string().transform((text, ctx) => {
  const trimmed = text.trim();
  if (IsoDateTime.safeParse(trimmed).success) return new Date(trimmed);
  if (IsoDate.safeParse(trimmed).success) return new Date(`${trimmed}T00:00:00Z`);
  ctx.addIssue({
    code: 'custom',
    message: `expected an ISO date or date-time with a zone, e.g. 2026-11-20 or 2026-11-20T02:00:00Z, got "${text}"`,
  });
  return z.NEVER;
});

/** Schedule ids become workflow-id prefixes (Temporal appends the scheduled time): keep them plain. */
export const ScheduleId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, {
  message: 'expected letters, digits, ".", "_" or "-" (at most 200), starting with a letter or digit',
});

const Note = z.string().trim().min(1, { message: 'must not be empty' }).max(1_000);

export const CreateOptions = z
  .object({
    /** A model name; for batchPredict a reference, `<model>@<alias>` or `<model>:<version>`. */
    model: z
      .string()
      .superRefine((text, ctx) => {
        const checked = (/[@:]/.test(text) ? ModelReferenceText : ModelName).safeParse(text);
        for (const issue of checked.error?.issues ?? []) ctx.addIssue({ code: 'custom', message: issue.message });
      })
      .optional(),
    config: z.string().min(1, { message: 'expected a JSON file path' }),
    cron: z.string().trim().min(1, { message: 'expected a cron expression, e.g. "0 2 * * *"' }).optional(),
    every: durationOption(MIN_INTERVAL_MS, 'the shortest interval Temporal accepts')
      .refine((everyMs) => everyMs % 1_000 === 0, {
        message: 'must be whole seconds (Temporal rounds intervals to seconds)',
      })
      .optional(),
    overlap: Overlap.default('skip'),
    catchupWindow: durationOption(MIN_CATCHUP_WINDOW_MS, "Temporal's minimum catch-up window").optional(),
    jitter: durationOption(0, 'no negative jitter').optional(),
    paused: z.boolean().default(false),
    note: Note.optional(),
    workflow: z
      .enum(SCHEDULED_WORKFLOWS, { message: `expected one of ${SCHEDULED_WORKFLOWS.join(', ')}` })
      .default('trainingPipeline'),
    taskQueue: z.string().trim().min(1, { message: 'must not be empty' }).optional(),
  })
  .superRefine((options, ctx) => {
    if (options.model !== undefined && options.workflow !== 'batchPredict' && /[@:]/.test(options.model))
      ctx.addIssue({
        code: 'custom',
        path: ['model'],
        message: 'a model name; <model>@<alias> and <model>:<version> are for --workflow batchPredict',
      });
    if ((options.cron === undefined) === (options.every === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['cron'],
        message: 'give exactly one of --cron "<expression>" or --every <duration>',
      });
    }
  });
export type CreateOptions = z.output<typeof CreateOptions>;

export const TriggerOptions = z.object({ overlap: Overlap.optional() });

/** Backfilled runs default to buffer-all: one after another, in time order, none skipped. */
export const BackfillOptions = z
  .object({ from: IsoInstant, to: IsoInstant, overlap: Overlap.default('buffer-all') })
  .refine((o) => o.from.getTime() < o.to.getTime(), { path: ['to'], message: 'must be after --from' });

export const PauseOptions = z.object({ note: Note });
export const UnpauseOptions = z.object({ note: Note.optional() });

export const DescribeOptions = z.object({
  json: z.boolean().default(false),
  // Temporal computes the next 10 times.
  next: z.coerce.number({ message: 'expected a whole number from 1 to 10' }).int().min(1).max(10).default(5),
});

/** Parses CLI options; a failure names each bad option as the user typed it (`--catchup-window`). */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  - ${optionFlag(issue.path)}: ${issue.message}`);
  throw new UsageError(`Invalid options:\n${lines.join('\n')}`);
}

export function parseScheduleId(raw: string): string {
  const parsed = ScheduleId.safeParse(raw);
  if (!parsed.success) throw new UsageError(`schedule id "${raw}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

function optionFlag(path: PropertyKey[]): string {
  const name = String(path[0] ?? '');
  return `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** When the schedule acts: one cron expression or one interval, plus jitter. */
export function scheduleSpec(options: Pick<CreateOptions, 'cron' | 'every' | 'jitter'>): ScheduleSpec {
  return {
    ...(options.cron === undefined ? {} : { cronExpressions: [options.cron] }),
    ...(options.every === undefined ? {} : { intervals: [{ every: options.every }] }),
    ...(options.jitter === undefined ? {} : { jitter: options.jitter }),
  };
}
