import { createHash } from 'node:crypto';

/**
 * Where a run's stage outputs live: `runs/<model>/<workflowId>/<stage>/<file>`. Derived from the
 * workflow id (stable across activity retries and UI resets), so a retried stage overwrites or finds
 * its own earlier output instead of leaving a second copy.
 */
export function stageKey(model: string, workflowId: string, stage: string, file: string): string {
  return `runs/${model}/${safeSegment(workflowId)}/${stage}/${file}`;
}

/** Workflow ids typed into the UI may hold any character; keys keep [A-Za-z0-9._-] plus a hash when changed. */
export function safeSegment(value: string): string {
  const cleaned = value
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 120);
  if (cleaned === value) return value;
  return `${cleaned}-${createHash('sha256').update(value).digest('hex').slice(0, 8)}`;
}
