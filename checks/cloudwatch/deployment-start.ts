import { GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { defaultCodeDeployClient, type CodeDeploySender } from '../../lib/codedeploy-client';
import { AwsCallError, sendWithin } from './client';
import type { CheckContext } from '../types';

const known = new Map<string, Date>();

/**
 * When the deployment began (GetDeployment `deploymentInfo.createTime`), to tell an alarm that
 * was already firing from one the deployment set off. Remembered per deployment id for the
 * container's life: the time never changes.
 */
export async function deploymentStartTime(
  deploymentId: string,
  ctx: Pick<CheckContext, 'signal' | 'deadline'>,
  client: CodeDeploySender = defaultCodeDeployClient(),
): Promise<Date> {
  const cached = known.get(deploymentId);
  if (cached) return cached;
  const output = await sendWithin({ service: 'codedeploy', operation: 'GetDeployment' }, ctx, (abortSignal) =>
    client.send(new GetDeploymentCommand({ deploymentId }), { abortSignal }),
  );
  const created = output.deploymentInfo?.createTime;
  if (!(created instanceof Date) || Number.isNaN(created.getTime())) {
    throw new AwsCallError(`GetDeployment ${deploymentId} returned no deploymentInfo.createTime`);
  }
  known.set(deploymentId, created);
  return created;
}
