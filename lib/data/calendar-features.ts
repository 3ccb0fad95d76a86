/**
 * Calendar features of a date or timestamp: the time of day, day of week, day of month and month, each
 * as a point on a circle (sin, cos), so 23:59 sits next to 00:00 and December next to January.
 *
 * Everything is in UTC. A TIMESTAMP without a zone is read as UTC, so its features are its wall clock; a
 * TIMESTAMP WITH TIME ZONE becomes the UTC instant's calendar (convert it to local time upstream when
 * local hours matter). A missing or unreadable value encodes as (0, 0) for every part: the centre of each
 * circle, a point no real time maps to.
 */

export const CALENDAR_PARTS = ['hour', 'day-of-week', 'day-of-month', 'month'] as const;
export type CalendarPart = (typeof CALENDAR_PARTS)[number];

const SECONDS_PER_DAY = 86_400;
const TWO_PI = 2 * Math.PI;

/** The civil date (proleptic Gregorian, UTC) of a day count since 1970-01-01 (Howard Hinnant's days_from_civil, inverted). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The position of each part on its circle, as a fraction of a turn in [0, 1). Day of week: Monday is 0. */
export function calendarPhases(epochSeconds: number): Record<CalendarPart, number> {
  const days = Math.floor(epochSeconds / SECONDS_PER_DAY);
  const secondOfDay = epochSeconds - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  return {
    hour: secondOfDay / SECONDS_PER_DAY,
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    'day-of-week': ((((days + 3) % 7) + 7) % 7) / 7,
    'day-of-month': (day - 1) / daysInMonth(year, month),
    month: (month - 1) / 12,
  };
}

/** Writes sin and cos of each part's phase, in `parts` order, at out[offset…]; (0, 0) pairs for a missing time. */
export function writeCalendarFeatures(
  epochSeconds: number,
  parts: readonly CalendarPart[],
  out: Float32Array,
  offset: number,
): void {
  if (!Number.isFinite(epochSeconds)) {
    for (let i = 0; i < parts.length * 2; i += 1) out[offset + i] = 0;
    return;
  }
  const phases = calendarPhases(epochSeconds);
  parts.forEach((part, i) => {
    const angle = TWO_PI * phases[part];
    out[offset + 2 * i] = Math.sin(angle);
    out[offset + 2 * i + 1] = Math.cos(angle);
  });
}

export function calendarOutputNames(column: string, parts: readonly CalendarPart[]): string[] {
  return parts.flatMap((part) => [`${column}.${part}.sin`, `${column}.${part}.cos`]);
}

/** An ISO date or date-time without a zone designator: read as UTC, never as the process's local time. */
const ZONELESS_ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/**
 * Seconds since 1970-01-01 UTC of a raw cell: a number is taken as epoch seconds already (what the split
 * readers deliver); a string is an ISO 8601 date or date-time (zone-less means UTC). NaN when unreadable.
 */
export function epochSecondsOf(value: unknown): number {
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime() / 1000;
  const text = String(value).trim();
  if (text === '') return Number.NaN;
  const asNumber = Number(text);
  if (!Number.isNaN(asNumber)) return asNumber;
  const iso = ZONELESS_ISO.test(text) ? `${text.replace(' ', 'T')}${text.length === 10 ? '' : 'Z'}` : text;
  return Date.parse(iso) / 1000;
}

/**
 * SQL that counts, over a relation, the distinct values of each part of a DOUBLE epoch-seconds expression
 * `e`: a part with fewer than two distinct values in train carries nothing and is left out. Month and day
 * come from a zone-less TIMESTAMP rebuilt from the epoch, so the session's TimeZone setting cannot shift them.
 */
export function calendarDistinctSql(e: string, alias: string): string {
  const days = `floor(${e} / ${SECONDS_PER_DAY})`;
  const civil = `make_timestamp(CAST(${days} * ${SECONDS_PER_DAY} AS BIGINT) * 1000000)`;
  return [
    `count(DISTINCT ${e} - ${days} * ${SECONDS_PER_DAY}) AS ${alias}_hour`,
    `count(DISTINCT ((${days} + 3) % 7 + 7) % 7) AS ${alias}_dow`,
    `count(DISTINCT day(${civil})) AS ${alias}_dom`,
    `count(DISTINCT month(${civil})) AS ${alias}_month`,
  ].join(', ');
}
