import { Command } from 'commander';
import { approvalUpdate, type ApprovalDecision } from '../../workflows/messages';
import { UsageError, workflowUiUrl } from '../config-edge';
import { parseSeconds, sendRunUpdate } from '../send-update';

/** `trainyard approve <workflowId> --by --reason`: lets a run waiting for manual promotion promote its model. */
export function approveCommand(): Command {
  return decisionCommand('approve', 'Approve the model a run is waiting to promote (promotion policy "manual")');
}

/** `trainyard reject <workflowId> --by --reason`: the run ends with its model registered but not promoted. */
export function rejectCommand(): Command {
  return decisionCommand('reject', 'Reject the model a run is waiting to promote; it stays registered, unpromoted');
}

interface DecisionOptions {
  by: string;
  reason: string;
  timeout: number;
  json?: boolean;
}

function decisionCommand(decision: ApprovalDecision['decision'], description: string): Command {
  return new Command(decision)
    .description(description)
    .argument('<workflowId>', 'the run waiting for approval (printed by "trainyard run", shown in the Temporal UI)')
    .requiredOption('--by <who>', 'who decides (recorded in the run and the alias history)')
    .requiredOption('--reason <why>', 'why (recorded in the run and the alias history)')
    .option('--timeout <seconds>', 'how long to wait for the run to acknowledge', parseSeconds, 60)
    .option('--json', 'print the acknowledgement as JSON')
    .action(async (workflowId: string, options: DecisionOptions) => {
      const by = options.by.trim();
      const reason = options.reason.trim();
      if (by === '' || reason === '')
        throw new UsageError(`${decision} needs a non-empty --by and --reason: they are the audit trail.`);
      const payload: ApprovalDecision = { decision, by, reason };
      const sent = await sendRunUpdate(workflowId, approvalUpdate, [payload], decision, options.timeout);
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ workflowId, decision, ...sent.ack })}\n`);
      } else {
        const version = sent.ack.version === undefined ? '' : ` (version ${sent.ack.version})`;
        process.stdout.write(
          `${decision === 'approve' ? 'Approved' : 'Rejected'}${version}: ${workflowId}\nTemporal UI: ${workflowUiUrl(sent.config, workflowId)}\n`,
        );
      }
    });
}
