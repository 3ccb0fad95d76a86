import { Command, InvalidArgumentError } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { rootFailure } from '../../contracts/errors';
import { approvalUpdate, type ApprovalDecision } from '../../workflows/messages';
import { ExitCode, loadConfigOrExit, UsageError, workflowUiUrl } from '../config-edge';
import { connectClient } from '../temporal-client';

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
    .exitOverride() // not inherited through addCommand(): usage errors must reach main's handler (exit 2)
    .showHelpAfterError('(run with --help for usage)')
    .argument('<workflowId>', 'the run waiting for approval (printed by "trainyard run", shown in the Temporal UI)')
    .requiredOption('--by <who>', 'who decides (recorded in the run and the alias history)')
    .requiredOption('--reason <why>', 'why (recorded in the run and the alias history)')
    .option('--timeout <seconds>', 'how long to wait for the run to acknowledge', parseSeconds, 60)
    .option('--json', 'print the acknowledgement as JSON')
    .action(async (workflowId: string, options: DecisionOptions) => {
      const by = options.by.trim();
      const reason = options.reason.trim();
      if (by === '' || reason === '') throw new UsageError(`${decision} needs a non-empty --by and --reason: they are the audit trail.`);
      const config = loadConfigOrExit();
      const client = await connectClient(config);
      try {
        const handle = client.workflow.getHandle(workflowId);
        const payload: ApprovalDecision = { decision, by, reason };
        const ack = await client.withDeadline(Date.now() + options.timeout * 1000, () => handle.executeUpdate(approvalUpdate, { args: [payload] }));
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ workflowId, decision, ...ack })}\n`);
        } else {
          const version = ack.version === undefined ? '' : ` (version ${ack.version})`;
          process.stdout.write(`${decision === 'approve' ? 'Approved' : 'Rejected'}${version}: ${workflowId}\nTemporal UI: ${workflowUiUrl(config, workflowId)}\n`);
        }
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          throw new UsageError(`No running workflow "${workflowId}" in namespace ${config.temporal.namespace}: check the id, or the run has already finished.`);
        }
        if (error instanceof WorkflowUpdateFailedError) {
          // The run's validator refused: it is not waiting for approval (yet, or any more), or the input is bad.
          throw new UsageError(`Run "${workflowId}" did not accept the ${decision}: ${rootFailure(error).message}`);
        }
        if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadlineExceeded(error)) {
          process.stderr.write(
            `Run "${workflowId}" did not acknowledge the ${decision} within ${options.timeout} s. ` +
              `Is a worker running on task queue "${config.temporal.taskQueue}"? Check the run in the Temporal UI before sending the decision again.\n`,
          );
          process.exitCode = ExitCode.failed;
          return;
        }
        throw error;
      } finally {
        await client.connection.close();
      }
    });
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}".`);
  return seconds;
}

function isDeadlineExceeded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code === 4; // gRPC DEADLINE_EXCEEDED
}
