import { PipelineConfigError, DataError, FailureType } from '../../contracts/errors';
import { durationMs, type PartitionSelection } from '../../contracts/stage-config';

/**
 * Choosing partitions of a partitioned dataset: the immediate sub-folders of a prefix (or files
 * directly under it) are its partitions. A partition is "dated" when its name, after an optional
 * Hive-style `key=`, is a UTC date or date-time: `2026-11-20`, `date=2026-11-20`, `dt=20261120`,
 * `hour=2026-11-20T13`, `2026-11-20T13:00:00Z`, or a file such as `2026-11-20.csv.gz`.
 */

const DASHED = /^(\d{4})-(\d{2})-(\d{2})(?:[T _](\d{2})(?::(\d{2})(?::(\d{2}))?)?)?Z?$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})?(\d{2})?)?Z?$/;
const DATA_EXTENSIONS = /(\.(csv|tsv|tab|parquet|json|jsonl|ndjson|txt))?(\.gz)?$/i;

/** The UTC time a partition name carries (its start), or undefined when it carries none. */
export function partitionDate(name: string): Date | undefined {
  let value = name;
  try {
    value = decodeURIComponent(name); // Hive escapes ":" as %3A
  } catch {
    // not percent-encoded after all
  }
  value = value.slice(value.lastIndexOf('=') + 1).replace(DATA_EXTENSIONS, '');
  const match = DASHED.exec(value) ?? COMPACT.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part))) as number[];
  const time = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second);
  const date = new Date(time);
  // Date.UTC rolls 2026-02-30 over to March: such a name is not a date.
  const exact =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === (month as number) - 1 &&
    date.getUTCDate() === day &&
    (hour as number) < 24 &&
    (minute as number) < 60 &&
    (second as number) < 60;
  return exact ? date : undefined;
}

/** The partition a file under the prefix belongs to: its first folder, or the file itself when it sits directly under the prefix. */
export function partitionOf(relativePath: string): string {
  return relativePath.split('/', 1)[0] as string;
}

export interface PartitionQuery {
  /** The dataset prefix, for messages. */
  uri: string;
  /** The partition names found under it (any order, duplicates allowed). */
  names: readonly string[];
  selection: PartitionSelection;
  /** "Now" for the selection: the run's scheduled or start time. */
  asOf: Date;
}

/**
 * The partitions a selection reads, oldest first. Dated partitions: "latest" is the newest dated at or
 * before asOf, `{ window }` those dated within (asOf − window, asOf]; undated names beside dated ones
 * are ignored. Without any dated name, "latest" is the lexicographically last name and a window is a
 * config error. Choosing nothing is DatasetNotFound, saying what there was.
 */
export function choosePartitions({ uri, names, selection, asOf }: PartitionQuery): string[] {
  const unique = [...new Set(names)];
  const dated = unique
    .map((name) => ({ name, time: partitionDate(name)?.getTime() }))
    .filter((p): p is { name: string; time: number } => p.time !== undefined)
    .sort((a, b) => a.time - b.time || compareNames(a.name, b.name));
  const undated = unique.filter((name) => partitionDate(name) === undefined).sort(compareNames);
  const asOfMs = asOf.getTime();

  if (selection === 'all') return [...dated.map((p) => p.name), ...undated];

  if (typeof selection === 'object' && 'names' in selection) {
    const missing = selection.names.filter((name) => !unique.includes(name));
    if (missing.length > 0)
      throw noPartitionChosen(
        uri,
        `it has no partition ${missing.map((m) => `"${m}"`).join(', ')}`,
        describeFound(dated, undated),
      );
    const wanted = new Set(selection.names);
    return [...dated.map((p) => p.name), ...undated].filter((name) => wanted.has(name));
  }

  if (dated.length === 0 && selection !== 'latest') {
    throw new PipelineConfigError(
      `dataset.partitions: a window of ${selection.window} needs partitions named by date (e.g. "date=2026-11-20/"), but the partitions of ${uri} carry no date (${preview(undated)}). Use "latest" or "all", or name the partitions by date.`,
      [
        {
          path: 'dataset.partitions',
          message: 'a window needs dated partition names',
          partitions: undated.slice(0, 20),
        },
      ],
    );
  }
  if (dated.length === 0) {
    const last = undated.at(-1);
    if (last === undefined) throw noPartitionChosen(uri, 'it holds no partitions', 'nothing');
    return [last];
  }

  const due = dated.filter((p) => p.time <= asOfMs);
  if (selection === 'latest') {
    const newest = due.at(-1);
    if (!newest)
      throw noPartitionChosen(
        uri,
        `no partition is dated on or before ${asOf.toISOString()}`,
        describeFound(dated, undated),
      );
    return [newest.name];
  }
  const fromMs = asOfMs - durationMs(selection.window);
  const inWindow = due.filter((p) => p.time > fromMs);
  if (inWindow.length === 0) {
    throw noPartitionChosen(
      uri,
      `no partition is dated in the ${selection.window} up to ${asOf.toISOString()} (after ${new Date(fromMs).toISOString()})`,
      describeFound(dated, undated),
    );
  }
  return inWindow.map((p) => p.name);
}

function noPartitionChosen(uri: string, why: string, found: string): DataError {
  return new DataError(
    FailureType.DatasetNotFound,
    `No partition of ${uri} to read: ${why}; it holds ${found}. Upload the batch, or change dataset.partitions (e.g. a wider window, or "all").`,
    [{ path: 'dataset.partitions', message: why, uri, reason: why }],
  );
}

function describeFound(dated: readonly { name: string }[], undated: readonly string[]): string {
  if (dated.length === 0) return undated.length === 0 ? 'nothing' : preview(undated);
  const first = dated[0]?.name;
  const last = dated.at(-1)?.name;
  const span =
    dated.length === 1 ? `one dated partition, ${first}` : `${dated.length} dated partitions, ${first} … ${last}`;
  return undated.length > 0 ? `${span}, and ${undated.length} undated` : span;
}

function preview(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} … ${names.length} in all`;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
