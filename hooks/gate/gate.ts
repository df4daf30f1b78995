// Advances a gate within one invocation: plain checks once, window measurements as they fall due.
import { foldVerdict, runChecks, type PlannedCheck, type Verdict } from '../../checks/runner';
import { judgeWindow, measurementOf, plannedMeasurements, type WindowSpec } from '../../checks/window';
import { advanceApproval } from './gate-approval';
import { partsOf, type Parts } from './gate-parts';
import type { GateContext, GateState, GateStep } from './gate-state';
import { decideGate } from './decide-gate';

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
  if (plainVerdict.status === 'Failed') return decideGate(state, parts, ctx);

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
    if (gatingWindowFailed) return decideGate(state, parts, ctx);
    const windowsDone = parts.windowed.every((w) => w.advisory || state.windows[w.check.name]!.done);

    if (windowsDone && parts.approvals.length) {
      const approval = await advanceApproval(parts.approvals[0]!, state, ctx);
      if (approval) await save();
      if (state.approval?.done) return decideGate(state, parts, ctx);
    } else if (windowsDone) {
      return decideGate(state, parts, ctx);
    }

    const wakeAt = nextWake(state, parts);
    const nowAfter = clock.now();
    if (wakeAt > ctx.limitAt) {
      return decideGate(
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
