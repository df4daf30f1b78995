// Recognises the re-invocations ECS makes while it rolls a service deployment back.
import type { ECSClient } from '@aws-sdk/client-ecs';
import { ECS_TRAFFIC_SHIFT_STAGES } from '../config/ecs-lifecycle-stages';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { rollbackFromWeights, type EcsHookInvocation } from './ecs-hook-event';

export type EcsSender = Pick<ECSClient, 'send'>;
let defaultEcs: Promise<EcsSender> | undefined;

/** The ECS client, created on first use: a cold start loads it only when a rollback is looked up. */
export function defaultEcsClient(): Promise<EcsSender> {
  defaultEcs ??= Promise.all([import('@aws-sdk/client-ecs'), import('../lib/aws')]).then(
    ([{ ECSClient }, { awsClientConfig }]) => new ECSClient(awsClientConfig()),
  );
  return defaultEcs;
}

/**
 * Recognises the re-invocations ECS makes while it rolls back: the service deployment's own
 * status when it can be read, else the traffic weights. Only the traffic-shift stages run again.
 */
export async function detectRollback(
  invocation: EcsHookInvocation,
  ecsClient: () => Promise<EcsSender>,
  log: Logger,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (!ECS_TRAFFIC_SHIFT_STAGES.includes(invocation.lifecycleStage)) return undefined;
  const arn = invocation.resourceArn;
  if (arn?.includes(':service-deployment/')) {
    try {
      const [{ DescribeServiceDeploymentsCommand }, ecs] = await Promise.all([
        import('@aws-sdk/client-ecs'),
        ecsClient(),
      ]);
      const out = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }), {
        abortSignal: signal,
      });
      const status = out.serviceDeployments?.[0]?.status;
      if (status?.startsWith('ROLLBACK')) return `service deployment ${arn} is ${status}`;
      if (status) return undefined;
      log.warn(
        'ECS DescribeServiceDeployments returned no status; judging a rollback from the traffic weights',
        { resourceArn: arn },
      );
    } catch (err) {
      log.warn('could not read the service deployment; judging a rollback from the traffic weights', {
        resourceArn: arn,
        awsError: `${err instanceof Error ? err.name : 'error'}: ${errorMessage(err)}`,
      });
    }
  }
  return rollbackFromWeights(invocation);
}
