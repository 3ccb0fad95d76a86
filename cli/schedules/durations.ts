import { durationMs } from '../../contracts/stage-config';

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
] as const;

/**
 * A duration in the syntax the CLI and the pipeline input accept ("90m", "1d"), in the largest unit that
 * divides it exactly, so what `describe` prints can be typed back: 5_400_000 → "90m", 1_500 → "1500ms".
 */
export function formatDurationMs(milliseconds: number): string {
  if (milliseconds === 0) return '0s';
  const unit = UNITS.find(([, unitMs]) => milliseconds % unitMs === 0);
  return unit ? `${milliseconds / unit[1]}${unit[0]}` : `${milliseconds}ms`;
}

/** Milliseconds of a Duration text ("30s", "1d"), or undefined when it is not one. */
export function parseDurationMs(text: string): number | undefined {
  try {
    return durationMs(text.trim());
  } catch {
    return undefined;
  }
}
