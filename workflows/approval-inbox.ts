import { condition, setHandler } from '@temporalio/workflow';
import type { Duration } from '../contracts/stage-config';
import { approvalSignal, approvalUpdate, type ApprovalDecision } from './messages';
import type { StageTracker } from './stage-tracker';

/** Collects the manual-approval decision from the update (CLI) or the signal (Temporal UI). */
export class ApprovalInbox {
  private decision?: ApprovalDecision;
  private waitingForVersion?: number;

  constructor(private readonly tracker: StageTracker) {
    setHandler(
      approvalUpdate,
      (decision) => {
        this.decision ??= decision;
        return { accepted: true, version: this.waitingForVersion };
      },
      {
        validator: (decision) => {
          if (this.waitingForVersion === undefined) throw new Error('this run is not waiting for approval');
          if (this.decision) throw new Error(`already decided: ${this.decision.decision} by ${this.decision.by}`);
          if (!['approve', 'reject'].includes(decision?.decision))
            throw new Error('decision must be "approve" or "reject"');
          if (!decision.by?.trim() || !decision.reason?.trim()) throw new Error('"by" and "reason" are required');
        },
      },
    );
    setHandler(approvalSignal, (decision) => {
      if (
        this.waitingForVersion !== undefined &&
        (decision?.decision === 'approve' || decision?.decision === 'reject')
      ) {
        this.decision ??= {
          decision: decision.decision,
          by: String(decision.by ?? 'temporal-ui'),
          reason: String(decision.reason ?? ''),
        };
      }
    });
  }

  /** `why`: the gate's reason when it, not the policy, asks for a person. */
  async waitFor(version: number, timeout: Duration, why?: string): Promise<ApprovalDecision> {
    this.waitingForVersion = version;
    this.tracker.setOutcome('awaiting-approval');
    return this.tracker.run('approve', async () => {
      if (why) this.tracker.note('approve', `waiting for a person: ${why}`);
      const decided = await condition(() => this.decision !== undefined, timeout);
      const decision =
        decided && this.decision
          ? this.decision
          : { decision: 'reject' as const, by: 'trainyard', reason: `no decision within ${timeout}` };
      this.tracker.note(
        'approve',
        `${decision.decision} by ${decision.by}: ${decision.reason}${why ? ` (asked because ${why})` : ''}`,
      );
      return decision;
    });
  }
}
