/**
 * What the deployment discovery modules share: the narrow AWS clients, and reads of a CodeDeploy
 * ECS deployment (GetDeployment → GetDeploymentGroup: listener ARNs, target group pair, ECS
 * service; ELBv2 DescribeListeners / DescribeLoadBalancers; ECS DescribeServices for the task
 * sets). listeners.ts finds the URLs a hook tests; target-groups.ts finds green's and blue's
 * target groups for the target-groups check.
 *
 * IAM: codedeploy:GetDeployment and GetDeploymentGroup on the deployment group ARN,
 * ecs:DescribeServices, elasticloadbalancing:DescribeListeners / DescribeLoadBalancers /
 * DescribeRules (ELBv2 Describe* actions cannot be scoped to a resource).
 */
import {
  CodeDeployClient,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import { DescribeServicesCommand, ECSClient, type TaskSet } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsClientConfig, awsErrorName } from '../../lib/aws';
import { withConnectionHint } from '../../lib/connection-hint';
import { defaultCodeDeployClient } from '../../lib/codedeploy-client';
import { errorMessage } from '../../lib/errors';

/** The narrow seams: anything with each client's `send`. */
export interface DiscoveryClients {
  codedeploy: Pick<CodeDeployClient, 'send'>;
  ecs: Pick<ECSClient, 'send'>;
  elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>;
}

let defaultClients: DiscoveryClients | undefined;

/** One set of clients per container, created on first use (so `AWS_ENDPOINT_URL_*` is read then). */
export function defaultDiscoveryClients(): DiscoveryClients {
  defaultClients ??= {
    codedeploy: defaultCodeDeployClient(),
    ecs: new ECSClient(awsClientConfig()),
    elbv2: new ElasticLoadBalancingV2Client(awsClientConfig()),
  };
  return defaultClients;
}

export interface DiscoveredListener {
  arn: string;
  protocol: string;
  port: number;
  url: URL;
  loadBalancerArn: string;
  loadBalancerDnsName: string;
  scheme?: string;
}

/** What discovery learnt, for logs and for the verdict's evidence. */
export interface DeploymentFacts {
  deploymentId: string;
  applicationName: string;
  deploymentGroupName: string;
  cluster: string;
  service: string;
  targetGroupNames: string[];
  prodListener?: DiscoveredListener;
  testListener?: DiscoveredListener;
  replacementTaskSet?: { id: string; status?: string; targetGroupArn?: string; taskDefinition?: string };
  /** Target groups the test listener sends traffic to (weight > 0), by name. */
  testListenerForwardsTo?: string[];
}

export class DiscoveryError extends Error {
  /** For a denied call: the same failure, naming the IAM action the role lacks. */
  denial?: string;

  constructor(
    message: string,
    readonly outcome: 'error' | 'failed' = 'error',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DiscoveryError';
  }
}

const DENIED = /AccessDenied|NotAuthorized|Unauthorized|Forbidden/i;

export async function call<T>(what: string, permission: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const name = awsErrorName(err);
    const message = errorMessage(err);
    const detail = name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
    const service = permission.slice(0, permission.indexOf(':'));
    const failure = new DiscoveryError(
      withConnectionHint(`${what} failed: ${detail}`, err, { kind: 'aws', service }),
      'error',
      { cause: err },
    );
    if (name && DENIED.test(name))
      failure.denial = `${what} was denied (${name}): the role needs ${permission}; AWS said: ${message}`;
    throw failure;
  }
}

/** `arn:...:targetgroup/green-tg/73e2d6bc24d8a067` → `green-tg`. */
export function targetGroupName(arn: string): string {
  const match = /:targetgroup\/([^/]+)\//.exec(arn);
  return match ? match[1]! : arn;
}

export function listenerUrl(protocol: string, dnsName: string, port: number): URL {
  const secure = protocol === 'HTTPS' || protocol === 'TLS';
  const scheme = secure ? 'https' : 'http';
  const defaultPort = secure ? 443 : 80;
  return new URL(`${scheme}://${dnsName}${port === defaultPort ? '' : `:${port}`}/`);
}

export async function describeListeners(
  clients: DiscoveryClients,
  arns: string[],
  signal: AbortSignal | undefined,
): Promise<Map<string, DiscoveredListener>> {
  const out = new Map<string, DiscoveredListener>();
  if (arns.length === 0) return out;
  const { Listeners = [] } = await call(
    `ELBv2 DescribeListeners ${arns.join(', ')}`,
    'elasticloadbalancing:DescribeListeners',
    () => clients.elbv2.send(new DescribeListenersCommand({ ListenerArns: arns }), { abortSignal: signal }),
  );
  const lbArns = [...new Set(Listeners.map((l) => l.LoadBalancerArn).filter((a): a is string => !!a))];
  const { LoadBalancers = [] } = lbArns.length
    ? await call(
        `ELBv2 DescribeLoadBalancers ${lbArns.join(', ')}`,
        'elasticloadbalancing:DescribeLoadBalancers',
        () =>
          clients.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: lbArns }), {
            abortSignal: signal,
          }),
      )
    : { LoadBalancers: [] };
  for (const arn of arns) {
    const listener = Listeners.find((l) => l.ListenerArn === arn);
    if (!listener) throw new DiscoveryError(`ELBv2 DescribeListeners did not return listener ${arn}`);
    const lb = LoadBalancers.find((b) => b.LoadBalancerArn === listener.LoadBalancerArn);
    if (!lb?.DNSName)
      throw new DiscoveryError(
        `ELBv2 DescribeLoadBalancers did not return the load balancer of listener ${arn}`,
      );
    if (listener.Port === undefined || !listener.Protocol)
      throw new DiscoveryError(`listener ${arn} has no port or protocol`);
    const found: DiscoveredListener = {
      arn,
      protocol: listener.Protocol,
      port: listener.Port,
      url: listenerUrl(listener.Protocol, lb.DNSName, listener.Port),
      loadBalancerArn: lb.LoadBalancerArn!,
      loadBalancerDnsName: lb.DNSName,
    };
    if (lb.Scheme) found.scheme = lb.Scheme;
    out.set(arn, found);
  }
  return out;
}

/** What the evidence says of the replacement task set: only the fields ECS gave. */
export function taskSetFacts(taskSet: TaskSet): NonNullable<DeploymentFacts['replacementTaskSet']> {
  const targetGroupArn = taskSet.loadBalancers?.[0]?.targetGroupArn;
  return {
    id: taskSet.id ?? 'unknown',
    ...(taskSet.status ? { status: taskSet.status } : {}),
    ...(targetGroupArn ? { targetGroupArn } : {}),
    ...(taskSet.taskDefinition ? { taskDefinition: taskSet.taskDefinition } : {}),
  };
}

export async function replacementTaskSet(
  clients: DiscoveryClients,
  cluster: string,
  service: string,
  deploymentId: string,
  signal: AbortSignal | undefined,
): Promise<{ taskSet?: TaskSet; all: TaskSet[] }> {
  const out = await call(
    `ECS DescribeServices ${service} in cluster ${cluster}`,
    'ecs:DescribeServices',
    () =>
      clients.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }), {
        abortSignal: signal,
      }),
  );
  const svc = out.services?.find((s) => s.serviceName === service || s.serviceArn?.endsWith(`/${service}`));
  if (!svc) {
    const failure = out.failures?.[0];
    throw new DiscoveryError(
      `ECS DescribeServices found no service ${service} in cluster ${cluster}${failure?.reason ? ` (${failure.reason})` : ''}`,
    );
  }
  const all = svc.taskSets ?? [];
  const found = all.find((t) => t.externalId === deploymentId);
  return found ? { taskSet: found, all } : { all };
}

interface DeploymentGroupRoute {
  facts: DeploymentFacts;
  /** `deployment group APP/GROUP`, for messages. */
  groupWhat: string;
  prodArn: string;
  testArn?: string;
}

/** GetDeployment, then GetDeploymentGroup: the ECS service, the target group pair and its listeners. */
export async function readDeploymentGroup(
  deploymentId: string,
  clients: DiscoveryClients,
  signal: AbortSignal | undefined,
): Promise<DeploymentGroupRoute> {
  const { deploymentInfo: deployment } = await call(
    `CodeDeploy GetDeployment ${deploymentId}`,
    'codedeploy:GetDeployment',
    () => clients.codedeploy.send(new GetDeploymentCommand({ deploymentId }), { abortSignal: signal }),
  );
  if (!deployment?.applicationName || !deployment.deploymentGroupName) {
    throw new DiscoveryError(
      `CodeDeploy GetDeployment ${deploymentId} returned no application or deployment group`,
    );
  }
  if (deployment.computePlatform && deployment.computePlatform !== 'ECS') {
    throw new DiscoveryError(
      `deployment ${deploymentId} is for compute platform ${deployment.computePlatform}, not ECS`,
    );
  }
  const { applicationName, deploymentGroupName } = deployment;
  const groupWhat = `deployment group ${applicationName}/${deploymentGroupName}`;
  const { deploymentGroupInfo: group } = await call(
    `CodeDeploy GetDeploymentGroup ${applicationName}/${deploymentGroupName}`,
    'codedeploy:GetDeploymentGroup',
    () =>
      clients.codedeploy.send(new GetDeploymentGroupCommand({ applicationName, deploymentGroupName }), {
        abortSignal: signal,
      }),
  );
  const ecsService = group?.ecsServices?.[0];
  if (!ecsService?.serviceName || !ecsService.clusterName)
    throw new DiscoveryError(`${groupWhat} names no ECS service`);
  const pair = group?.loadBalancerInfo?.targetGroupPairInfoList?.[0];
  const prodArn = pair?.prodTrafficRoute?.listenerArns?.[0];
  if (!pair || !prodArn)
    throw new DiscoveryError(`${groupWhat} has no target group pair with a production listener`);
  const route: DeploymentGroupRoute = {
    facts: {
      deploymentId,
      applicationName,
      deploymentGroupName,
      cluster: ecsService.clusterName,
      service: ecsService.serviceName,
      targetGroupNames: (pair.targetGroups ?? []).map((tg) => tg.name ?? '').filter(Boolean),
    },
    groupWhat,
    prodArn,
  };
  const testArn = pair.testTrafficRoute?.listenerArns?.[0];
  if (testArn) route.testArn = testArn;
  return route;
}
