// Runs a CodeDeploy hook's gate across Lambda invocations ("slices"), one owner at a time.
import type { PlannedCheck } from '../../checks/runner';
import { dynamoApprovalDesk } from '../../lib/approval-store';
import { errorMessage } from '../../lib/errors';
import { isConditionFailure, num, str } from '../../lib/state-table';
import { advanceGate } from './gate';
import { gateLimitProblem } from './gate-parts';
import { newGateState, type GateContext, type GateState } from './gate-state';
import { claim, finalize, retake, writeNamed } from './slice-item';
import { invokeNext, sliceOf } from './slice-handover';
import { HANDOVER_RESERVE_MS, type SliceOptions, type SliceOutcome } from './slice-options';

// A CodeDeploy hook's gate across several Lambda invocations ("slices"). The state lives in one
// DynamoDB item per hook execution (`hook#<lifecycleEventHookExecutionId>`), and every write is
// conditional on the version read, so only one invocation owns the gate at a time:
// - a slice owns the item (owner + lease) while it measures and renews the lease at every step;
// - at the end of its time it hands the item to slice N+1 (owner removed) and invokes the
//   function again asynchronously with `greenlightSlice: N+1`;
// - a duplicate delivery finds the item owned (or handed to another slice) and stands down;
//   a retry after a crash takes the item over once its lease has expired, with every
//   measurement saved so far;
// - the slice that decides marks the item reported before reporting: exactly one report.

/** CodeDeploy fails a hook that has not reported within an hour; the gate decides before this. */
export const CODEDEPLOY_GATE_LIMIT_MINUTES = 55;
/** How long past its next planned step a silent owner is still presumed alive. */
const LEASE_GRACE_MS = 60_000;

/** Runs this invocation's part of a gated hook; says whether (and what) to report. */
export async function runGateSlice(o: SliceOptions): Promise<SliceOutcome> {
  const problem = gateLimitProblem(o.planned, CODEDEPLOY_GATE_LIMIT_MINUTES);
  if (problem) return { report: true, status: 'Failed', reason: `config error: ${problem}` };
  if (!o.table) return inMemory(o);

  const client = await o.dynamo();
  const table = o.table;
  const pk = `hook#${o.execution.lifecycleEventHookExecutionId}`;
  const slice = sliceOf(o.event);
  const leaseMs = leaseLength(o.planned);
  const log = o.log.child({ slice });

  const claimed = await claim(client, table, pk, slice, o, leaseMs, log);
  if ('standDown' in claimed) {
    log.info('standing down: another invocation owns this hook execution', { reason: claimed.standDown });
    return { report: false, reason: claimed.standDown };
  }
  let version = claimed.version;
  const state = claimed.state;
  const ctx = gateContext(o, state, o.timeLeftMs, o.approvals ?? dynamoApprovalDesk(client, table));
  ctx.persist = async (saved: GateState) => {
    const next = nextStepAt(saved) ?? o.clock.now();
    await writeNamed(client, table, pk, version, o.requestId, {
      update: '#state = :state, leaseUntil = :lease',
      values: {
        ':state': str(JSON.stringify(saved)),
        ':lease': num(Math.max(o.clock.now(), next) + leaseMs),
      },
    });
    version += 1;
  };

  let step;
  try {
    step = await advanceGate(state, ctx);
  } catch (err) {
    if (isConditionFailure(err)) {
      log.warn('lost this hook execution to another invocation; standing down');
      return { report: false, reason: 'lease lost to another invocation' };
    }
    throw err;
  }

  if (step.kind === 'waiting') {
    const next = readNumberOr(claimed.slice, 0) + 1;
    try {
      await writeNamed(client, table, pk, version, o.requestId, {
        update: '#state = :state, slice = :slice, leaseUntil = :lease',
        remove: '#owner',
        values: {
          ':state': str(JSON.stringify(step.state)),
          ':slice': num(next),
          ':lease': num(o.clock.now() + leaseMs),
        },
      });
      version += 1;
    } catch (err) {
      if (isConditionFailure(err)) return { report: false, reason: 'lease lost to another invocation' };
      throw err;
    }
    try {
      await invokeNext(o, next);
    } catch (err) {
      // Nobody will carry the gate on: take it back and fail closed rather than leave CodeDeploy waiting.
      const reason = `could not start the next slice of the bake window: ${errorMessage(err)}`;
      log.error('handover failed', { reason });
      const retaken = await retake(client, table, pk, version, o.requestId).catch(() => false);
      if (!retaken) return { report: false, reason };
      version += 1;
      return finalize(client, table, pk, version, o.requestId, { status: 'Failed', reason }, log);
    }
    log.info('handed over to the next slice', {
      next,
      wakeAt: new Date(step.wakeAt).toISOString(),
      reason: step.reason,
    });
    return { report: false, reason: `continued in slice ${next}: ${step.reason}` };
  }
  return finalize(
    client,
    table,
    pk,
    version,
    o.requestId,
    { status: step.verdict.status, reason: step.verdict.reason, verdict: step.verdict },
    log,
    JSON.stringify(step.state),
  );
}

/** Without a state table the gate must decide within this one invocation. */
async function inMemory(o: SliceOptions): Promise<SliceOutcome> {
  const state = newGateState(o.clock.now());
  const step = await advanceGate(state, gateContext(o, state, o.timeLeftMs, o.approvals));
  if (step.kind === 'decided')
    return { report: true, status: step.verdict.status, reason: step.verdict.reason, verdict: step.verdict };
  return {
    report: true,
    status: 'Failed',
    reason: `the bake window needs more time than one invocation (${step.reason}); set GREENLIGHT_STATE_TABLE so that it continues across invocations`,
  };
}

function gateContext(
  o: SliceOptions,
  state: GateState,
  timeLeftMs: () => number,
  approvals: GateContext['approvals'],
): GateContext {
  return {
    planned: o.planned,
    clock: o.clock,
    timeLeftMs: () => timeLeftMs() - HANDOVER_RESERVE_MS,
    limitAt: state.startedAt + CODEDEPLOY_GATE_LIMIT_MINUTES * 60_000,
    sleepWithin: true,
    targets: o.targets,
    deployment: {
      deploymentId: o.execution.deploymentId,
      lifecycleEventHookExecutionId: o.execution.lifecycleEventHookExecutionId,
      lifecycleEvent: o.lifecycleEvent,
    },
    approvalRequestKey: `${o.execution.lifecycleEventHookExecutionId}`,
    log: o.log,
    concurrency: o.runner.concurrency,
    failFast: o.runner.failFast,
    approvals,
    announce: o.announce,
  };
}

function leaseLength(planned: readonly PlannedCheck[]): number {
  const steps = planned.map((p) =>
    p.window ? p.window.intervalSeconds * 1000 : 'approval' in p.check ? 300_000 : 0,
  );
  return Math.max(0, ...steps) + LEASE_GRACE_MS;
}

function nextStepAt(state: GateState): number | undefined {
  const times = Object.values(state.windows)
    .filter((w) => !w.done)
    .map((w) => w.nextAt);
  if (state.approval && !state.approval.done) times.push(state.approval.nextPollAt);
  return times.length ? Math.min(...times) : undefined;
}

const readNumberOr = (value: number | undefined, fallback: number) => value ?? fallback;
