import { isApprovalCheck, type ApprovalCheck } from '../../checks/approval';
import { foldVerdict, runChecks, type PlannedCheck, type Verdict } from '../../checks/runner';
import type { CheckResult, DeploymentInfo, Outcome } from '../../checks/types';
import {
  judgeWindow,
  measurementOf,
  plannedMeasurements,
  type MeasurementRecord,
  type WindowSpec,
} from '../../checks/window';
import type { ApprovalDecision, ApprovalDesk } from '../../lib/approval-store';
import type { Clock } from '../../lib/clock';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { Announce } from './announce';

// A gate is a lifecycle event's checks when some of them take longer than one run: bake windows
// (a check measured every interval for a duration) and a manual approval. Its state is plain
// JSON, so a CodeDeploy hook keeps it in DynamoDB between invocations and an ECS hook in
// hookDetails; each invocation advances it as far as its time allows.

/** A window's progress. Times are epoch ms of the gate's clock. */
export interface WindowProgress {
  startedAt: number;
  nextAt: number;
  measurements: MeasurementRecord[];
  done?: { outcome: Outcome; message: string };
}

export interface ApprovalProgress {
  requestedAt: number;
  timeoutAt: number;
  nextPollAt: number;
  decision?: ApprovalDecision;
  done?: { outcome: Outcome; message: string };
}

export interface GateState {
  startedAt: number;
  /** Results of the checks that run once, when they have run. */
  plain?: CheckResult[];
  windows: Record<string, WindowProgress>;
  approval?: ApprovalProgress;
}

export interface GateContext {
  planned: readonly PlannedCheck[];
  clock: Clock;
  /** Real milliseconds this invocation may still spend on checks. */
  timeLeftMs(): number;
  /** Clock time by which the gate must have decided (the hook's own limit, less a margin). */
  limitAt: number;
  /** Sleep inside this invocation until the next measurement, when it fits (CodeDeploy); ECS hands the wait back. */
  sleepWithin: boolean;
  targets: Readonly<Record<string, URL>>;
  deployment: DeploymentInfo & { deploymentId: string };
  /** Which wait an approval belongs to: a decision made for another request is not taken. */
  approvalRequestKey: string;
  log: Logger;
  concurrency?: number;
  failFast?: boolean;
  /** Where the approval request goes and its decision comes from (the state table). */
  approvals?: ApprovalDesk | undefined;
  announce: Announce;
  /** Called after every change of the state; throwing stops the gate (e.g. its lease was lost). */
  persist?: (state: GateState) => Promise<void>;
}

export type GateStep =
  | { kind: 'decided'; verdict: Verdict; state: GateState }
  | { kind: 'waiting'; state: GateState; wakeAt: number; reason: string };

/** True when a lifecycle event's checks need a gate: a bake window or an approval. */
export function needsGate(planned: readonly PlannedCheck[]): boolean {
  return planned.some((p) => p.window || isApprovalCheck(p.check));
}

export function newGateState(now: number): GateState {
  return { startedAt: now, windows: {} };
}

interface Parts {
  plain: PlannedCheck[];
  windowed: Array<PlannedCheck & { window: WindowSpec }>;
  approvals: Array<PlannedCheck & { check: ApprovalCheck }>;
}

function partsOf(planned: readonly PlannedCheck[]): Parts {
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

/**
 * Advances the gate as far as this invocation's time allows: the plain checks once, then every
 * window's measurements as they fall due, then the approval. Returns the verdict as soon as it
 * is decided, else the state and when to come back.
 */
export async function advanceGate(state: GateState, ctx: GateContext): Promise<GateStep> {
  const parts = partsOf(ctx.planned);
  const { clock, log } = ctx;
  const save = async () => ctx.persist?.(state);

  if (!state.plain) {
    state.plain = parts.plain.length ? (await runOnce(parts.plain, ctx)).checks : [];
    for (const w of parts.windowed) {
      state.windows[w.check.name] = { startedAt: clock.now(), nextAt: clock.now(), measurements: [] };
    }
    await save();
  }
  const plainVerdict = foldVerdict(state.plain);
  if (plainVerdict.status === 'Failed') return decide(state, parts, ctx);

  for (;;) {
    const now = clock.now();
    const due = parts.windowed.filter((w) => {
      const progress = state.windows[w.check.name]!;
      return !progress.done && progress.nextAt <= now;
    });
    if (due.length) {
      await measure(due, state, ctx);
      await save();
    }
    const gatingWindowFailed = parts.windowed.some((w) => {
      const done = state.windows[w.check.name]!.done;
      return !w.advisory && done && done.outcome !== 'passed';
    });
    if (gatingWindowFailed) return decide(state, parts, ctx);
    const windowsDone = parts.windowed.every((w) => w.advisory || state.windows[w.check.name]!.done);

    if (windowsDone && parts.approvals.length) {
      const approval = await advanceApproval(parts.approvals[0]!, state, ctx);
      if (approval) await save();
      if (state.approval?.done) return decide(state, parts, ctx);
    } else if (windowsDone) {
      return decide(state, parts, ctx);
    }

    const wakeAt = nextWake(state, parts);
    const nowAfter = clock.now();
    if (wakeAt > ctx.limitAt) {
      return decide(
        state,
        parts,
        ctx,
        `the hook ran out of time: nothing can be decided before ${new Date(ctx.limitAt).toISOString()}`,
      );
    }
    const reason = waitingReason(state, parts);
    const waitMs = Math.max(0, wakeAt - nowAfter);
    if (!ctx.sleepWithin || clock.toRealMs(waitMs) >= ctx.timeLeftMs()) {
      return { kind: 'waiting', state, wakeAt, reason };
    }
    log.debug('gate waiting', { reason, waitMs });
    await clock.sleep(waitMs);
  }
}

async function runOnce(planned: PlannedCheck[], ctx: GateContext, failFast = ctx.failFast): Promise<Verdict> {
  return runChecks(planned, {
    deadline: Date.now() + Math.max(0, ctx.timeLeftMs()),
    targets: ctx.targets,
    deployment: ctx.deployment,
    log: ctx.log,
    ...(ctx.concurrency ? { concurrency: ctx.concurrency } : {}),
    ...(failFast !== undefined ? { failFast } : {}),
  });
}

/** One measurement of each due window; a measurement late by more than an interval is missed, not made up. */
async function measure(
  due: Array<PlannedCheck & { window: WindowSpec }>,
  state: GateState,
  ctx: GateContext,
): Promise<void> {
  const at = ctx.clock.now();
  for (const w of due) {
    const progress = state.windows[w.check.name]!;
    const intervalMs = w.window.intervalSeconds * 1000;
    if (at - progress.nextAt >= intervalMs)
      progress.nextAt = progress.startedAt + Math.floor((at - progress.startedAt) / intervalMs) * intervalMs;
  }
  const verdict = await runOnce(
    due.map(({ check, advisory, timeoutMs }) => ({
      check,
      ...(advisory !== undefined ? { advisory } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    })),
    ctx,
    false,
  );
  const now = ctx.clock.now();
  due.forEach((w, i) => {
    const progress = state.windows[w.check.name]!;
    const result = verdict.checks[i]!;
    const intervalMs = w.window.intervalSeconds * 1000;
    const endAt = progress.startedAt + w.window.durationMinutes * 60_000;
    const n = Math.round((progress.nextAt - progress.startedAt) / intervalMs) + 1;
    const record = measurementOf(n, at, result);
    progress.measurements.push(record);
    ctx.log[result.outcome === 'passed' ? 'info' : 'warn']('window measurement', {
      check: w.check.name,
      measurement: n,
      of: plannedMeasurements(w.window),
      result,
    });
    let next = progress.nextAt + intervalMs;
    if (next <= now)
      next = progress.startedAt + Math.ceil((now - progress.startedAt) / intervalMs) * intervalMs;
    progress.nextAt = next;
    const judged = judgeWindow(w.window, progress.measurements, next > endAt);
    if (judged.state === 'done') progress.done = { outcome: judged.outcome, message: judged.message };
  });
}

/** Requests the approval once, then looks for a decision when a poll falls due. True when the state changed. */
async function advanceApproval(
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

function nextWake(state: GateState, parts: Parts): number {
  const times = parts.windowed
    .map((w) => state.windows[w.check.name]!)
    .filter((p) => !p.done)
    .map((p) => p.nextAt);
  if (state.approval && !state.approval.done) times.push(state.approval.nextPollAt);
  return Math.min(...times);
}

function waitingReason(state: GateState, parts: Parts): string {
  const open = parts.windowed
    .filter((w) => !state.windows[w.check.name]!.done)
    .map((w) => {
      const p = state.windows[w.check.name]!;
      return `'${w.check.name}' ${p.measurements.length} of ${plannedMeasurements(w.window)} measurements`;
    });
  if (state.approval && !state.approval.done)
    open.push(`'${parts.approvals[0]!.check.name}' awaiting a decision`);
  return `bake in progress: ${open.join(', ')}`;
}

/** The verdict from the state: every result in configured order, worst wins. */
function decide(state: GateState, parts: Parts, ctx: GateContext, outOfTime?: string): GateStep {
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
