import { EventError } from '../lib/errors';
import type { HookExecution } from './codedeploy-report';

/** What a CodeDeploy lifecycle hook invocation carries: exactly these two PascalCase fields. */
export interface CodeDeployHookEvent {
  DeploymentId: string;
  LifecycleEventHookExecutionId: string;
}

function describeShape(event: unknown): string {
  if (event === null) return 'null';
  if (Array.isArray(event)) return 'a list';
  if (typeof event !== 'object') return typeof event;
  const keys = Object.keys(event);
  return keys.length ? `an object with keys ${keys.join(', ')}` : 'an empty object';
}

/** Validates the payload; an EventError says what is wrong (nothing can be reported for it). */
export function parseHookEvent(event: unknown): HookExecution {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new EventError(`expected a CodeDeploy lifecycle event object, got ${describeShape(event)}`);
  }
  const record = event as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['DeploymentId', 'LifecycleEventHookExecutionId'] as const) {
    const value = record[field];
    if (typeof value === 'string' && value.trim() !== '') continue;
    const camel = field[0]!.toLowerCase() + field.slice(1);
    if (value === undefined && camel in record)
      problems.push(`${field} is missing (found camelCase ${camel}; CodeDeploy sends ${field})`);
    else if (value === undefined) problems.push(`${field} is missing`);
    else
      problems.push(
        `${field} must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}`,
      );
  }
  if (problems.length)
    throw new EventError(`malformed lifecycle event (${describeShape(event)}): ${problems.join('; ')}`);
  return {
    deploymentId: record.DeploymentId as string,
    lifecycleEventHookExecutionId: record.LifecycleEventHookExecutionId as string,
  };
}
