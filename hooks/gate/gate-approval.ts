// A gate's approval: requested once, then polled for a decision until it times out.
import type { ApprovalCheck } from '../../checks/approval';
import type { PlannedCheck } from '../../checks/runner';
import { errorMessage } from '../../lib/errors';
import type { Announce } from './announce';
import type { GateContext, GateState } from './gate-state';

/** Requests the approval once, then looks for a decision when a poll falls due. True when the state changed. */
export async function advanceApproval(
  planned: PlannedCheck & { check: ApprovalCheck },
  state: GateState,
  ctx: GateContext,
): Promise<boolean> {
  const { check } = planned;
  const now = ctx.clock.now();
  const base = {
    deploymentId: ctx.deployment.deploymentId,
    lifecycleEvent: String(ctx.deployment.lifecycleEvent),
    check: check.name,
  };
  if (!ctx.approvals) {
    state.approval = {
      requestedAt: now,
      timeoutAt: now,
      nextPollAt: now,
      done: {
        outcome: 'error',
        message:
          'an approval needs the state table (GREENLIGHT_STATE_TABLE) where greenlight approve writes its decision',
      },
    };
    return true;
  }
  const desk = ctx.approvals;
  if (!state.approval) {
    const timeoutAt = now + check.approval.timeoutMinutes * 60_000;
    await desk.request({
      ...base,
      requestKey: ctx.approvalRequestKey,
      requestedAt: now,
      timeoutAt,
    });
    state.approval = { requestedAt: now, timeoutAt, nextPollAt: now };
    const event = {
      kind: 'approval-requested' as const,
      ...base,
      ...(check.approval.message ? { message: check.approval.message } : {}),
      requestedAt: new Date(now).toISOString(),
      timeoutAt: new Date(timeoutAt).toISOString(),
      approveCommand: `greenlight approve ${base.deploymentId}`,
      rejectCommand: `greenlight reject ${base.deploymentId} --reason "..."`,
    };
    ctx.log.info('approval requested', { approval: event });
    await announceSafely(ctx, event);
  }
  const approval = state.approval;
  if (approval.nextPollAt > now) return false;
  const found = await desk.read(base.deploymentId);
  let decision = found?.requestKey === ctx.approvalRequestKey ? found.decision : undefined;
  if (!decision && now >= approval.timeoutAt)
    decision = await desk.expire(base.deploymentId, ctx.approvalRequestKey);
  if (decision) {
    approval.decision = decision;
    const why = decision.reason ? `: ${decision.reason}` : '';
    approval.done = {
      outcome: decision.decision === 'approved' ? 'passed' : 'failed',
      message: `${decision.decision} by ${decision.approver}${why}`,
    };
    ctx.log.info('approval decided', { ...base, ...decision });
    await announceSafely(ctx, {
      kind: 'approval-decided',
      ...base,
      decision: decision.decision,
      approver: decision.approver,
      ...(decision.reason ? { reason: decision.reason } : {}),
    });
  } else if (now >= approval.timeoutAt) {
    approval.done = {
      outcome: 'failed',
      message: `no decision within ${check.approval.timeoutMinutes} min (requested ${new Date(approval.requestedAt).toISOString()}); failing closed`,
    };
    ctx.log.warn('approval timed out', { ...base, timeoutAt: new Date(approval.timeoutAt).toISOString() });
    await announceSafely(ctx, { kind: 'approval-decided', ...base, decision: 'timed-out' });
  } else {
    approval.nextPollAt = Math.min(approval.timeoutAt, now + check.approval.pollSeconds * 1000);
  }
  return true;
}

async function announceSafely(ctx: GateContext, event: Parameters<Announce>[0]): Promise<void> {
  try {
    await ctx.announce(event);
  } catch (err) {
    ctx.log.warn('could not announce a gate event', { kind: event.kind, reason: errorMessage(err) });
  }
}
