// The baseline for the bundle benchmark: a hook that only reports, as the public samples do.
import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';

const client = new CodeDeployClient({});

export const handler = async (event: { DeploymentId: string; LifecycleEventHookExecutionId: string }) => {
  await client.send(
    new PutLifecycleEventHookExecutionStatusCommand({
      deploymentId: event.DeploymentId,
      lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
      status: 'Succeeded',
    }),
  );
};
