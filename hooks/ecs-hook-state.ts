// What an ECS hook carries between invocations of one stage, in the hookDetails of an IN_PROGRESS answer.
import type { EcsHookInvocation } from './ecs-hook-event';
import type { GateState } from './gate/gate-state';

/** Where greenlight keeps its state in hookDetails, beside whatever the hook's configuration passes. */
export const STATE_KEY = 'greenlight';

/**
 * What greenlight carries from one invocation of a stage to the next, in the `hookDetails` an
 * IN_PROGRESS answer returns (ECS documents passing them back on the next invocation). The wait
 * belongs to one stage of one service deployment towards one target revision, and for a
 * traffic-shift stage to one traffic step: fields ECS documents in the payload. `executionId` is
 * kept for the logs only; whether it stays the same across re-invocations is not documented.
 */
export interface EcsHookState {
  stage: string;
  /** The service deployment (`resourceArn`), else the service. */
  deployment?: string;
  targetServiceRevisionArn?: string;
  /** The traffic weights of a traffic-shift stage: each step of a linear or canary shift waits anew. */
  trafficStep?: string;
  executionId?: string;
  firstAttemptAt: number;
  attempts: number;
  lastOutcome?: string;
  lastReason?: string;
  /** A bake window's or approval's progress (hooks/gate/). */
  gate?: GateState;
}

/** Which wait an invocation belongs to, from the documented payload fields. */
export function waitKey(
  invocation: EcsHookInvocation,
): Pick<EcsHookState, 'stage' | 'deployment' | 'targetServiceRevisionArn' | 'trafficStep'> {
  const deployment = invocation.resourceArn ?? invocation.serviceArn;
  const weights =
    invocation.lifecycleStage === 'TEST_TRAFFIC_SHIFT'
      ? invocation.testTrafficWeights
      : invocation.lifecycleStage === 'PRODUCTION_TRAFFIC_SHIFT'
        ? invocation.productionTrafficWeights
        : undefined;
  const trafficStep = weights
    ? Object.keys(weights)
        .sort()
        .map((arn) => `${arn}=${weights[arn]}`)
        .join(',')
    : undefined;
  return {
    stage: invocation.lifecycleStage,
    ...(deployment ? { deployment } : {}),
    ...(invocation.targetServiceRevisionArn
      ? { targetServiceRevisionArn: invocation.targetServiceRevisionArn }
      : {}),
    ...(trafficStep ? { trafficStep } : {}),
  };
}

/** The state a re-invocation passed back, when it belongs to the same wait; else undefined. */
export function readState(
  invocation: EcsHookInvocation,
  key: ReturnType<typeof waitKey>,
): EcsHookState | undefined {
  const raw = invocation.hookDetails[STATE_KEY];
  if (!raw || typeof raw !== 'object') return undefined;
  const state = raw as Partial<EcsHookState>;
  for (const field of ['stage', 'deployment', 'targetServiceRevisionArn', 'trafficStep'] as const)
    if (state[field] !== key[field]) return undefined;
  if (typeof state.firstAttemptAt !== 'number' || typeof state.attempts !== 'number') return undefined;
  return state as EcsHookState;
}
