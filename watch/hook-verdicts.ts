import type { FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { HookVerdictView } from '../checks/diagnosis/evidence';

/*
 * A greenlight hook logs one JSON line per decision: the CodeDeploy hook `verdict` with
 * `deploymentId`, `lifecycleEvent`, `status` and `reason`; the ECS built-in hook `hook status`
 * with `resourceArn` (the service deployment), `lifecycleStage`, `hookStatus` and `reason`. The
 * watch reads them from the hooks' log groups with CloudWatch Logs FilterLogEvents: unlike the
 * result metrics (dimensions service and lifecycle event, one-minute periods), the log line names
 * the deployment and carries the reason.
 */

const ECS_STATUS: Record<string, string> = {
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
  IN_PROGRESS: 'InProgress',
};

/** The JSON document in a log event's message (Lambda may prefix text-format lines). */
function jsonOf(message: string): Record<string, unknown> | undefined {
  const start = message.indexOf('{');
  if (start === -1) return undefined;
  try {
    const doc: unknown = JSON.parse(message.slice(start));
    return doc && typeof doc === 'object' && !Array.isArray(doc)
      ? (doc as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/**
 * The verdict in one log event, when it is a greenlight hook's decision about `deployment` (a
 * CodeDeploy deployment id, or an ECS service deployment ARN).
 */
export function hookVerdictOf(event: FilteredLogEvent, deployment: string): HookVerdictView | undefined {
  const doc = event.message ? jsonOf(event.message) : undefined;
  if (!doc) return undefined;
  const at = event.timestamp ?? 0;
  const reason = text(doc.reason);
  if (doc.message === 'verdict' && doc.deploymentId === deployment) {
    const hook = text(doc.lifecycleEvent);
    const status = text(doc.status);
    if (hook && status) return { hook, status, at, ...(reason ? { reason } : {}) };
  }
  if (doc.message === 'hook status' && doc.resourceArn === deployment) {
    const hook = text(doc.lifecycleStage);
    const status = ECS_STATUS[text(doc.hookStatus) ?? ''];
    if (hook && status) return { hook, status, at, ...(reason ? { reason } : {}) };
  }
  return undefined;
}

/** The term FilterLogEvents matches on: the deployment id, or the service deployment's id. */
export function filterTermOf(deployment: string): string {
  return `"${deployment.slice(deployment.lastIndexOf('/') + 1)}"`;
}

/** `/aws/lambda/<name>` for a Lambda function name or ARN; a log group name stays as it is. */
export function logGroupOf(nameOrArn: string): string {
  if (nameOrArn.startsWith('/')) return nameOrArn;
  const fn = /:function:([^:]+)/.exec(nameOrArn);
  return `/aws/lambda/${fn ? fn[1] : nameOrArn}`;
}

/** The latest verdict per hook, merged with the new ones (a hook retried or called again logs again). */
export function latestVerdicts(known: HookVerdictView[], fresh: HookVerdictView[]): HookVerdictView[] {
  const byHook = new Map(known.map((v) => [v.hook, v]));
  for (const v of fresh) {
    const had = byHook.get(v.hook);
    if (!had || v.at >= had.at) byHook.set(v.hook, v);
  }
  return [...byHook.values()].sort((a, b) => a.at - b.at);
}
