// Sorts a lifecycle event's checks into the plain ones, the bake windows and the approval.
import { isApprovalCheck, type ApprovalCheck } from '../../checks/approval';
import type { PlannedCheck } from '../../checks/runner';
import type { WindowSpec } from '../../checks/window';

/** A lifecycle event's checks by how they run: once, measured over a window, or awaiting a decision. */
export interface Parts {
  plain: PlannedCheck[];
  windowed: Array<PlannedCheck & { window: WindowSpec }>;
  approvals: Array<PlannedCheck & { check: ApprovalCheck }>;
}

export function partsOf(planned: readonly PlannedCheck[]): Parts {
  const parts: Parts = { plain: [], windowed: [], approvals: [] };
  for (const p of planned) {
    if (isApprovalCheck(p.check)) parts.approvals.push(p as PlannedCheck & { check: ApprovalCheck });
    else if (p.window) parts.windowed.push(p as PlannedCheck & { window: WindowSpec });
    else parts.plain.push(p);
  }
  return parts;
}

/** Why a gate can never decide in time, or undefined: checked before anything runs. */
export function gateLimitProblem(planned: readonly PlannedCheck[], limitMinutes: number): string | undefined {
  const { windowed, approvals } = partsOf(planned);
  if (approvals.length > 1)
    return `at most one approval check per lifecycle event, got ${approvals.map((a) => a.check.name).join(', ')}`;
  const longest = Math.max(0, ...windowed.map((w) => w.window.durationMinutes));
  const approval = approvals[0]?.check.approval.timeoutMinutes ?? 0;
  if (longest + approval > limitMinutes) {
    const what = [
      longest ? `a ${longest}-minute window` : '',
      approval ? `a ${approval}-minute approval timeout` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return `${what} cannot finish within the ${limitMinutes} minutes this hook may wait`;
  }
  return undefined;
}
