import type { Logger } from '../../lib/log';
import { errorMessage } from '../../lib/errors';
import type { DeliveryResult } from './delivery-metrics';
import type { EventDeployment, GreenlightEvent, VerdictNotice } from './greenlight-event';
import type { SendOptions } from './send-event';
import { clusterAndService } from './console-links';
import { PLATFORM_NOTIFY_VARIABLE } from './platform-variable';

// The hooks' entry to notifications. Nothing heavier than this file loads until a `notify:`
// section or the platform defaults ask for a delivery.

export type { DeliveryResult } from './delivery-metrics';
export type { GreenlightEvent, VerdictNotice, EventDeployment } from './greenlight-event';
export type { SendOptions } from './send-event';

/** The deployment as a CodeDeploy lifecycle hook knows it. */
export function codeDeployDeployment(
  execution: { deploymentId: string; lifecycleEventHookExecutionId: string },
  lifecycleEvent: string,
): EventDeployment {
  return {
    platform: 'codedeploy',
    id: execution.deploymentId,
    lifecycleEvent,
    lifecycleEventHookExecutionId: execution.lifecycleEventHookExecutionId,
  };
}

/** The deployment as the ECS built-in hook knows it: the execution and the service deployment. */
export function ecsDeployment(invocation: {
  lifecycleStage: string;
  executionId?: string | undefined;
  resourceArn?: string | undefined;
  serviceArn?: string | undefined;
}): EventDeployment {
  const arn = invocation.resourceArn ?? invocation.serviceArn;
  const named = clusterAndService(arn);
  return {
    platform: 'ecs',
    lifecycleEvent: invocation.lifecycleStage,
    ...(invocation.executionId ? { id: invocation.executionId } : {}),
    ...(arn ? { resourceArn: arn } : {}),
    ...named,
  };
}

function wanted(options: SendOptions): boolean {
  return (
    !!options.settings ||
    !!options.platform ||
    !!(options.env ?? process.env)[PLATFORM_NOTIFY_VARIABLE]?.trim()
  );
}

async function guarded(log: Logger, send: () => Promise<DeliveryResult[]>): Promise<DeliveryResult[]> {
  try {
    return await send();
  } catch (err) {
    log.error('notifications could not be sent', { reason: errorMessage(err) });
    return [];
  }
}

/**
 * Sends any greenlight event (built with `greenlightEvent` from ./greenlight-event) through the
 * configured channels: the platform defaults and the service's `notify:` section, each channel
 * filtered by its `on:`. Resolves with one result per delivery by `options.deadline`; never throws.
 */
export function sendGreenlightEvent(event: GreenlightEvent, options: SendOptions): Promise<DeliveryResult[]> {
  if (!wanted(options)) return Promise.resolve([]);
  return guarded(options.log, async () => (await import('./send-event')).sendEvent(event, options));
}

/** Notifies a hook's final answer (a verdict, a skipped deployment, a rollback); never throws. */
export function notifyVerdict(notice: VerdictNotice, options: SendOptions): Promise<DeliveryResult[]> {
  if (!wanted(options)) return Promise.resolve([]);
  return guarded(options.log, async () => {
    const [{ verdictEvent }, { sendEvent }] = await Promise.all([
      import('./greenlight-event'),
      import('./send-event'),
    ]);
    return sendEvent(verdictEvent(notice, options.env ? { env: options.env } : {}), options);
  });
}
