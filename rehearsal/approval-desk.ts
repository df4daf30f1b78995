import type { ApprovalDecision, ApprovalDesk, ApprovalRequest, PendingApproval } from '../lib/approval-store';

/**
 * The rehearsal's approval desk: requests and decisions kept in memory, with the same rules as
 * the state table (one request per deployment, a decision only on a pending request, a timed-out
 * request closed), and a release manager the scenario scripts.
 */
export class RehearsalApprovalDesk implements ApprovalDesk {
  private readonly items = new Map<string, PendingApproval>();

  async request(request: ApprovalRequest): Promise<void> {
    if (this.items.get(request.deploymentId)?.requestKey === request.requestKey) return;
    this.items.set(request.deploymentId, { ...request, status: 'pending' });
  }

  async read(deploymentId: string): Promise<PendingApproval | undefined> {
    const item = this.items.get(deploymentId);
    return item && { ...item };
  }

  async expire(deploymentId: string, requestKey: string): Promise<ApprovalDecision | undefined> {
    const item = this.items.get(deploymentId);
    if (item?.requestKey !== requestKey) return undefined;
    if (item.decision) return item.decision;
    item.status = 'timed-out';
    return undefined;
  }

  /** What `greenlight approve` / `reject` does; false when nothing is pending for the deployment. */
  decide(deploymentId: string, decision: ApprovalDecision): boolean {
    const item = this.items.get(deploymentId);
    if (item?.status !== 'pending') return false;
    item.status = decision.decision;
    item.decision = decision;
    return true;
  }
}
