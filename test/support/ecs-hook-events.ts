const ARN = 'arn:aws:ecs:eu-west-1:123456789012';
export const ECS_SERVICE = `${ARN}:service/web-cluster/web`;
export const BLUE_REVISION = `${ARN}:service-revision/web-cluster/web/1111`;
export const GREEN_REVISION = `${ARN}:service-revision/web-cluster/web/2222`;

/** The ARN of one service deployment of the web service, as ECS names it in `resourceArn`. */
export function serviceDeploymentArn(id: string): string {
  return `${ARN}:service-deployment/web-cluster/web/${id}`;
}

/**
 * An ECS built-in blue/green lifecycle hook event for a deployment of the web service: the test
 * listener on green, production on blue unless `greenPercent` of it has moved already.
 */
export function ecsHookEvent(options: {
  stage: string;
  executionId: string;
  deploymentId: string;
  greenPercent?: number;
}) {
  const green = options.greenPercent ?? 0;
  return {
    executionId: options.executionId,
    lifecycleStage: options.stage,
    resourceArn: serviceDeploymentArn(options.deploymentId),
    executionDetails: {
      testTrafficWeights: { [GREEN_REVISION]: 100, [BLUE_REVISION]: 0 },
      productionTrafficWeights: { [BLUE_REVISION]: 100 - green, [GREEN_REVISION]: green },
      serviceArn: ECS_SERVICE,
      targetServiceRevisionArn: GREEN_REVISION,
    },
  };
}
