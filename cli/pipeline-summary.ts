import type { PipelineResult } from '../workflows';

/** A run's result as a person reads it: the decision, the numbers, the report, and where every artifact is. */
export function formatPipelineSummary(result: PipelineResult): string {
  const lines = [
    `outcome:  ${result.outcome}${result.version === undefined ? '' : ` (${result.model} version ${result.version})`}`,
    `decision: ${result.decision}`,
    ...result.reasons.map((r) => `  - ${r}`),
    `metrics:  ${Object.entries(result.metrics)
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`)
      .join(', ')}`,
    `report:   ${result.reportUrl}`,
    'artifacts:',
  ];
  for (const stage of result.stages) {
    const cached = stage.cache?.hit ? `  (cached from ${stage.cache.fromWorkflowId ?? 'an earlier run'})` : '';
    for (const ref of stage.artifacts)
      lines.push(`  ${stage.name.padEnd(18)} ${ref.kind.padEnd(15)} ${ref.uri}${cached}`);
    if (stage.state === 'skipped') lines.push(`  ${stage.name.padEnd(18)} skipped: ${stage.note ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}
