import { workflowInfo } from '@temporalio/workflow';
import { TemporalScheduledStartTime } from './search-attributes';

/** "Now" for choosing data: the time a schedule meant this run for (so backfills read their own day), else its start. */
export function runAsOf(): string {
  const scheduled = workflowInfo().typedSearchAttributes.get(TemporalScheduledStartTime);
  return (scheduled ?? workflowInfo().startTime).toISOString();
}
