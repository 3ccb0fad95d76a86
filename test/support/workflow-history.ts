import type { WorkflowHandle } from '@temporalio/client';

/** How many times each activity type was scheduled in a run's history (a kept stage stays at 1 after a retry). */
export async function scheduledActivityCounts(handle: WorkflowHandle): Promise<Record<string, number>> {
  const history = await handle.fetchHistory();
  const counts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
