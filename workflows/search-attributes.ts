import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered by `trainyard dev up` (and docker-compose) as Keyword attributes. */
export const TrainyardModel = defineSearchAttributeKey('TrainyardModel', SearchAttributeType.KEYWORD);
export const TrainyardStage = defineSearchAttributeKey('TrainyardStage', SearchAttributeType.KEYWORD);
export const TrainyardOutcome = defineSearchAttributeKey('TrainyardOutcome', SearchAttributeType.KEYWORD);

/** Set by Temporal on runs a Schedule starts: the time the schedule meant the run for. */
export const TemporalScheduledStartTime = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);
