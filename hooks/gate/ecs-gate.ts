import type { PlannedCheck, Verdict } from '../../checks/runner';
import { MAX_WINDOW_MINUTES } from '../../checks/window';
import { dynamoApprovalDesk } from '../../lib/approval-store';
import { clockFromEnv } from '../../lib/clock';
import type { Logger } from '../../lib/log';
import { defaultDynamoClient, stateTableName } from '../../lib/state-table';
import { defaultAnnounce } from './announce';
import { advanceGate } from './gate';
import { gateLimitProblem } from './gate-parts';
import { newGateState, type GateState } from './gate-state';
import type { GateOptions } from './gated-hook';

/** ECS may wait on a hook up to its longest timeoutConfiguration, a day. */
export const ECS_GATE_LIMIT_MINUTES = MAX_WINDOW_MINUTES;

export type EcsGateStep =
  | { kind: 'decided'; verdict: Verdict }
  | { kind: 'waiting'; state: GateState; callBackDelay: number; reason: string }
  | { kind: 'invalid'; reason: string };

/**
 * One invocation's part of an ECS hook's gate. The state travels in the hookDetails of the
 * IN_PROGRESS answer, under the wait's key (stage, service deployment, target revision, traffic
 * step), never the executionId; each invocation takes the measurements that are due and answers
 * IN_PROGRESS with a callBackDelay until the next one.
 */
export async function runEcsGate(args: {
  planned: readonly PlannedCheck[];
  runner: { concurrency: number; failFast: boolean };
  targets: Readonly<Record<string, URL>>;
  previous: GateState | undefined;
  /** The service deployment (resourceArn), else the service: what `greenlight approve` names. */
  deploymentId: string;
  lifecycleStage: string;
  /** Which wait this is (stage, deployment, revision, traffic step). */
  waitKey: string;
  timeLeftMs: () => number;
  log: Logger;
  options: GateOptions | undefined;
}): Promise<EcsGateStep> {
  const problem = gateLimitProblem(args.planned, ECS_GATE_LIMIT_MINUTES);
  if (problem) return { kind: 'invalid', reason: `config error: ${problem}` };
  const o = args.options ?? {};
  const clock = o.clock ?? clockFromEnv();
  const table = o.table ?? stateTableName();
  const state = args.previous ?? newGateState(clock.now());
  const step = await advanceGate(state, {
    planned: args.planned,
    clock,
    timeLeftMs: args.timeLeftMs,
    limitAt: state.startedAt + ECS_GATE_LIMIT_MINUTES * 60_000,
    sleepWithin: false,
    targets: args.targets,
    deployment: { deploymentId: args.deploymentId, lifecycleEvent: args.lifecycleStage },
    approvalRequestKey: args.waitKey,
    log: args.log,
    concurrency: args.runner.concurrency,
    failFast: args.runner.failFast,
    approvals:
      o.approvals ??
      (table ? dynamoApprovalDesk(await (o.dynamo ?? defaultDynamoClient)(), table) : undefined),
    announce: o.announce ?? defaultAnnounce,
  });
  if (step.kind === 'decided') return { kind: 'decided', verdict: step.verdict };
  const waitMs = clock.toRealMs(Math.max(0, step.wakeAt - clock.now()));
  return {
    kind: 'waiting',
    state: step.state,
    callBackDelay: Math.max(1, Math.ceil(waitMs / 1000)),
    reason: step.reason,
  };
}
