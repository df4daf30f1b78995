// The verdict a gate's state amounts to: every result in configured order, worst wins.
import { isApprovalCheck } from '../../checks/approval';
import { foldVerdict } from '../../checks/runner';
import type { CheckResult } from '../../checks/types';
import { judgeWindow, plannedMeasurements } from '../../checks/window';
import type { Parts } from './gate-parts';
import type { GateContext, GateState, GateStep } from './gate-state';

/** The verdict from the state: every result in configured order, worst wins. */
export function decideGate(state: GateState, parts: Parts, ctx: GateContext, outOfTime?: string): GateStep {
  const now = ctx.clock.now();
  const results: CheckResult[] = [];
  let decisive: CheckResult | undefined;
  for (const p of ctx.planned) {
    const base = { name: p.check.name, type: p.check.type, advisory: p.advisory ?? false };
    const plain = state.plain?.find((r) => r.name === p.check.name && !p.window && !isApprovalCheck(p.check));
    if (plain) {
      results.push(plain);
      continue;
    }
    if (p.window) {
      const progress = state.windows[p.check.name];
      if (!progress) {
        results.push({
          ...base,
          outcome: 'error',
          message: 'not started: an earlier check decided the verdict',
          durationMs: 0,
          assertions: [],
          cancelled: true,
        });
        continue;
      }
      let done = progress.done;
      if (!done && outOfTime)
        done = {
          outcome: 'error',
          message: `${outOfTime} (${progress.measurements.length} of ${plannedMeasurements(p.window)} measurements taken)`,
        };
      if (!done && p.advisory) {
        const judged = judgeWindow(p.window, progress.measurements, true);
        if (judged.state === 'done') done = { outcome: judged.outcome, message: judged.message };
      }
      const result: CheckResult = {
        ...base,
        outcome: done?.outcome ?? 'error',
        message:
          done?.message ??
          `stopped after ${progress.measurements.length} measurements: another check decided the verdict`,
        durationMs: Math.max(
          0,
          (progress.measurements.at(-1)?.at ?? progress.startedAt) - progress.startedAt,
        ),
        assertions: progress.measurements.flatMap((m) =>
          m.assertions.map((a) => ({
            ...a,
            what: `measurement ${m.n} (${new Date(m.at).toISOString()}): ${a.what}`,
          })),
        ),
        details: { window: p.window, measurements: progress.measurements },
      };
      if (!done) result.cancelled = true;
      if (done && !p.advisory && done.outcome !== 'passed' && !decisive) decisive = result;
      results.push(result);
      continue;
    }
    const approval = state.approval;
    let done = approval?.done;
    if (!done && approval && outOfTime)
      done = { outcome: 'failed', message: `${outOfTime} while awaiting a decision; failing closed` };
    const result: CheckResult = {
      ...base,
      outcome: done?.outcome ?? 'error',
      message: done?.message ?? 'not started: an earlier check decided the verdict',
      durationMs: approval ? Math.max(0, now - approval.requestedAt) : 0,
      assertions:
        done && approval
          ? [
              {
                what: 'approval',
                expected: 'approved',
                actual: approval.decision?.decision ?? 'no decision',
                ok: done.outcome === 'passed',
              },
            ]
          : [],
      ...(approval?.decision
        ? {
            details: {
              approver: approval.decision.approver,
              ...(approval.decision.reason ? { reason: approval.decision.reason } : {}),
              decidedAt: new Date(approval.decision.decidedAt).toISOString(),
            },
          }
        : {}),
    };
    if (!done) result.cancelled = true;
    if (done && !p.advisory && done.outcome !== 'passed' && !decisive) decisive = result;
    results.push(result);
  }
  const counted = results.filter((r) => !r.advisory && !r.cancelled);
  if (counted.length === 0 && results.some((r) => !r.advisory))
    counted.push(...results.filter((r) => !r.advisory));
  const verdict = foldVerdict(results, counted, Math.max(0, now - state.startedAt), decisive);
  return { kind: 'decided', verdict, state };
}
