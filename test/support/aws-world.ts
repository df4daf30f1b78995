import {
  CloudWatchClient,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CodeDeployClient,
  CreateApplicationCommand,
  CreateDeploymentCommand,
  CreateDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  CreateTaskSetCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

export const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** The real SDK clients, pointed at moto's server, that set up what a deployment looks like in AWS. */
export function worldClients(endpoint: string) {
  const config = { endpoint, region: REGION, credentials };
  return {
    cloudwatch: new CloudWatchClient(config),
    codedeploy: new CodeDeployClient(config),
    ec2: new EC2Client(config),
    ecs: new ECSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    secrets: new SecretsManagerClient(config),
    ssm: new SSMClient(config),
  };
}

export interface BlueGreenWorld {
  deploymentId: string;
  application: string;
  deploymentGroup: string;
  loadBalancerArn: string;
  /** The load balancer's DNS name, as discovery builds the listener URLs from it. */
  dnsName: string;
  /** `app/<name>/<id>`: the CloudWatch dimension. */
  loadBalancerDimension: string;
  blueTargetGroupArn: string;
  greenTargetGroupArn: string;
  /** `targetgroup/<name>/<id>`. */
  blueDimension: string;
  greenDimension: string;
  prodListenerArn: string;
  testListenerArn: string;
}

const dimensionOf = (arn: string) => arn.slice(arn.indexOf(':loadbalancer/') + 14);
const targetGroupDimensionOf = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);

/**
 * A CodeDeploy ECS blue/green deployment in progress, in moto: an ALB with a production and a test
 * listener, two target groups, an ECS service (CODE_DEPLOY controller) whose replacement task set
 * carries the deployment id as `externalId` and sits behind the green target group, and the
 * deployment group that ties them together. The test listener forwards to green.
 */
export async function blueGreenDeployment(endpoint: string, name: string): Promise<BlueGreenWorld> {
  const aws = worldClients(endpoint);
  const subnets = (await aws.ec2.send(new DescribeSubnetsCommand({}))).Subnets!;
  const vpcId = subnets[0]!.VpcId!;
  const lb = (
    await aws.elbv2.send(
      new CreateLoadBalancerCommand({
        Name: `${name}-alb`,
        Subnets: subnets.slice(0, 2).map((s) => s.SubnetId!),
      }),
    )
  ).LoadBalancers![0]!;
  const targetGroup = async (suffix: string) =>
    (
      await aws.elbv2.send(
        new CreateTargetGroupCommand({
          Name: `${name}-${suffix}`,
          Protocol: 'HTTP',
          Port: 8080,
          VpcId: vpcId,
          TargetType: 'ip',
        }),
      )
    ).TargetGroups![0]!.TargetGroupArn!;
  const blueTg = await targetGroup('blue');
  const greenTg = await targetGroup('green');
  const listener = async (port: number, tg: string) =>
    (
      await aws.elbv2.send(
        new CreateListenerCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          Protocol: 'HTTP',
          Port: port,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }],
        }),
      )
    ).Listeners![0]!.ListenerArn!;
  const prodListener = await listener(80, blueTg);
  const testListener = await listener(8080, greenTg);

  const cluster = `${name}-cluster`;
  await aws.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const taskDefinition = (
    await aws.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: name,
        containerDefinitions: [
          { name: 'web', image: 'web:1', memory: 256, portMappings: [{ containerPort: 8080 }] },
        ],
      }),
    )
  ).taskDefinition!.taskDefinitionArn!;
  await aws.ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: name,
      desiredCount: 1,
      deploymentController: { type: 'CODE_DEPLOY' },
      taskDefinition,
      loadBalancers: [{ targetGroupArn: blueTg, containerName: 'web', containerPort: 8080 }],
    }),
  );

  const application = `${name}-app`;
  const deploymentGroup = `${name}-dg`;
  await aws.codedeploy.send(
    new CreateApplicationCommand({ applicationName: application, computePlatform: 'ECS' }),
  );
  await aws.codedeploy.send(
    new CreateDeploymentGroupCommand({
      applicationName: application,
      deploymentGroupName: deploymentGroup,
      serviceRoleArn: 'arn:aws:iam::123456789012:role/codedeploy',
      deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
      ecsServices: [{ serviceName: name, clusterName: cluster }],
      loadBalancerInfo: {
        targetGroupPairInfoList: [
          {
            targetGroups: [{ name: `${name}-blue` }, { name: `${name}-green` }],
            prodTrafficRoute: { listenerArns: [prodListener] },
            testTrafficRoute: { listenerArns: [testListener] },
          },
        ],
      },
    }),
  );
  const deploymentId = (
    await aws.codedeploy.send(
      new CreateDeploymentCommand({
        applicationName: application,
        deploymentGroupName: deploymentGroup,
        revision: { revisionType: 'AppSpecContent', appSpecContent: { content: '{}' } },
      }),
    )
  ).deploymentId!;
  const taskSet = async (tg: string, externalId: string) =>
    aws.ecs.send(
      new CreateTaskSetCommand({
        cluster,
        service: name,
        taskDefinition,
        externalId,
        loadBalancers: [{ targetGroupArn: tg, containerName: 'web', containerPort: 8080 }],
      }),
    );
  await taskSet(blueTg, 'd-PREVIOUS0');
  await taskSet(greenTg, deploymentId);

  return {
    deploymentId,
    application,
    deploymentGroup,
    loadBalancerArn: lb.LoadBalancerArn!,
    dnsName: lb.DNSName!,
    loadBalancerDimension: dimensionOf(lb.LoadBalancerArn!),
    blueTargetGroupArn: blueTg,
    greenTargetGroupArn: greenTg,
    blueDimension: targetGroupDimensionOf(blueTg),
    greenDimension: targetGroupDimensionOf(greenTg),
    prodListenerArn: prodListener,
    testListenerArn: testListener,
  };
}

/** Points the test listener at `targetGroupArn` (e.g. the wrong one, as a broken deployment would). */
export async function forwardTestListener(endpoint: string, world: BlueGreenWorld, targetGroupArn: string) {
  await worldClients(endpoint).elbv2.send(
    new ModifyListenerCommand({
      ListenerArn: world.testListenerArn,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    }),
  );
}

/** A metric alarm in moto, set to `state`. */
export async function alarm(endpoint: string, name: string, state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA') {
  const { cloudwatch } = worldClients(endpoint);
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: 'Web',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
    }),
  );
  await cloudwatch.send(
    new SetAlarmStateCommand({
      AlarmName: name,
      StateValue: state,
      StateReason: `set to ${state} by the test`,
    }),
  );
}

/**
 * Datapoints of one metric, a minute apart and ending a minute ago: a check's window ends at a
 * period boundary at or before now, and a datapoint after it is not read.
 */
export async function datapoints(
  endpoint: string,
  metric: { namespace: string; name: string; dimensions: Record<string, string> },
  values: number[],
) {
  const now = Date.now();
  await worldClients(endpoint).cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: metric.namespace,
      MetricData: values.map((value, i) => ({
        MetricName: metric.name,
        Dimensions: Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
        Timestamp: new Date(now - (values.length - i) * 60_000),
        Value: value,
        Unit: 'Count',
      })),
    }),
  );
}

export async function secret(endpoint: string, name: string, value: Record<string, string>) {
  return (
    await worldClients(endpoint).secrets.send(
      new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }),
    )
  ).ARN!;
}

export async function parameter(endpoint: string, name: string, value: string) {
  await worldClients(endpoint).ssm.send(
    new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString' }),
  );
}
