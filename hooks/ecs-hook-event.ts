import { EventError } from '../lib/errors';
import {
  ECS_LIFECYCLE_STAGES,
  isEcsLifecycleStage,
  type EcsLifecycleStage,
} from '../config/ecs-lifecycle-stages';

/**
 * An ECS built-in blue/green lifecycle hook invocation, whichever of the two documented shapes
 * it came in: the current one (`executionId`, `lifecycleStage`, `resourceArn`,
 * `executionDetails: {...}`, `hookDetails`) or the earlier one with the deployment fields at the
 * top level and no stage (the stage then comes from the function's configuration).
 */
export interface EcsHookInvocation {
  shape: 'nested' | 'flat';
  lifecycleStage: EcsLifecycleStage;
  executionId?: string;
  /** Usually the service deployment ARN. */
  resourceArn?: string;
  serviceArn?: string;
  targetServiceRevisionArn?: string;
  testTrafficWeights: Record<string, number>;
  productionTrafficWeights: Record<string, number>;
  /** What ECS passed: the hook's configured details, plus what an IN_PROGRESS answer returned. */
  hookDetails: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function weights(value: unknown, field: string, problems: string[]): Record<string, number> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) {
    problems.push(`${field} must be a map of service revision ARN to percent`);
    return {};
  }
  const out: Record<string, number> = {};
  for (const [arn, weight] of Object.entries(value)) {
    const n = typeof weight === 'string' ? Number(weight) : weight;
    if (typeof n !== 'number' || !Number.isFinite(n))
      problems.push(`${field}["${arn}"] must be a number, got ${JSON.stringify(weight)}`);
    else out[arn] = n;
  }
  return out;
}

function optionalString(
  record: Record<string, unknown>,
  field: string,
  problems: string[],
): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  problems.push(`${field} must be a non-empty string`);
  return undefined;
}

/**
 * Validates an ECS lifecycle hook payload. `fallbackStage` (the function's configured stage) is
 * used when the payload names none. Throws EventError saying what is wrong.
 */
export function parseEcsHookEvent(event: unknown, fallbackStage?: string): EcsHookInvocation {
  if (!isRecord(event)) {
    throw new EventError(
      `expected an ECS lifecycle hook event object, got ${event === null ? 'null' : Array.isArray(event) ? 'a list' : typeof event}`,
    );
  }
  const problems: string[] = [];
  const nested = isRecord(event.executionDetails);
  if (event.executionDetails !== undefined && !nested) problems.push('executionDetails must be an object');
  const details = nested ? (event.executionDetails as Record<string, unknown>) : event;

  const stageValue = event.lifecycleStage ?? fallbackStage;
  let lifecycleStage: EcsLifecycleStage | undefined;
  if (stageValue === undefined || stageValue === '') {
    problems.push(
      'lifecycleStage is missing and the function has no configured stage (GREENLIGHT_ECS_STAGE)',
    );
  } else if (!isEcsLifecycleStage(stageValue)) {
    problems.push(
      `lifecycleStage must be one of ${ECS_LIFECYCLE_STAGES.join(', ')}, got ${JSON.stringify(stageValue)}`,
    );
  } else {
    lifecycleStage = stageValue;
  }
  if (event.hookDetails !== undefined && event.hookDetails !== null && !isRecord(event.hookDetails)) {
    problems.push('hookDetails must be an object');
  }

  const invocation: Partial<EcsHookInvocation> = {
    shape: nested ? 'nested' : 'flat',
    testTrafficWeights: weights(details.testTrafficWeights, 'testTrafficWeights', problems),
    productionTrafficWeights: weights(details.productionTrafficWeights, 'productionTrafficWeights', problems),
    hookDetails: isRecord(event.hookDetails) ? event.hookDetails : {},
  };
  const executionId = optionalString(event, 'executionId', problems);
  const resourceArn = optionalString(event, 'resourceArn', problems);
  const serviceArn = optionalString(details, 'serviceArn', problems);
  const targetServiceRevisionArn = optionalString(details, 'targetServiceRevisionArn', problems);
  if (!serviceArn && !resourceArn) problems.push('neither serviceArn nor resourceArn is present');
  if (problems.length) throw new EventError(`malformed ECS lifecycle hook event: ${problems.join('; ')}`);

  if (executionId) invocation.executionId = executionId;
  if (resourceArn) invocation.resourceArn = resourceArn;
  if (serviceArn) invocation.serviceArn = serviceArn;
  if (targetServiceRevisionArn) invocation.targetServiceRevisionArn = targetServiceRevisionArn;
  invocation.lifecycleStage = lifecycleStage!;
  return invocation as EcsHookInvocation;
}

/**
 * Reads a rollback from the traffic weights: at a traffic-shift stage, the map for that traffic
 * gives the target revision nothing while another revision holds it. Used when the service
 * deployment's own status cannot be read.
 */
export function rollbackFromWeights(invocation: EcsHookInvocation): string | undefined {
  const field =
    invocation.lifecycleStage === 'TEST_TRAFFIC_SHIFT'
      ? 'testTrafficWeights'
      : invocation.lifecycleStage === 'PRODUCTION_TRAFFIC_SHIFT'
        ? 'productionTrafficWeights'
        : undefined;
  if (!field || !invocation.targetServiceRevisionArn) return undefined;
  const map = invocation[field];
  const target = map[invocation.targetServiceRevisionArn] ?? 0;
  const others = Object.entries(map).filter(
    ([arn, weight]) => arn !== invocation.targetServiceRevisionArn && weight > 0,
  );
  if (target > 0 || others.length === 0) return undefined;
  return `${field} give the target revision 0% and ${others.map(([arn, w]) => `${arn.split('/').pop()} ${w}%`).join(', ')}`;
}
