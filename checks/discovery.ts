/**
 * Deployment discovery: which URLs a hook should test, found from the deployment itself rather
 * than typed into greenlight.yml (`targets.test: auto`, `targets.prod: auto`).
 *
 * `discoverTargets(deploymentId, clients, { signal, verifyTestListener })` follows
 * GetDeployment → GetDeploymentGroup (listener ARNs, target group pair, ECS service) →
 * ELBv2 DescribeListeners / DescribeLoadBalancers (protocol, port, DNS name) and, to verify,
 * ECS DescribeServices (the task set whose `externalId` is the deployment id is the replacement)
 * and ELBv2 DescribeRules on the test listener. It never throws: it resolves to
 * `{ report, targets, facts }`, where `report` is a CheckReport — `passed` when the test listener
 * forwards to the replacement task set's target group, `failed` (with the reason) when it
 * forwards elsewhere, `error` when the deployment could not be read.
 *
 * `discoverTargetGroups(deploymentId, clients, { signal })` is for checks that compare green with
 * blue: green's and blue's target groups (from the task sets) and the production listener's ALB.
 *
 * `resolveAutoTargets(targets, deployment, clients, { signal })` is the adapter for a hook: it
 * does nothing when no target is `auto`, verifies the test listener at the events where it must
 * serve green, and returns the targets with `auto` replaced.
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
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  type Action,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Assertion, CheckReport } from './types';
import { awsClientConfig, awsErrorName } from '../lib/aws';
import { withConnectionHint } from '../lib/connection-hint';
import { defaultCodeDeployClient } from '../lib/codedeploy-client';
import { autoTargetNames } from '../lib/auto-target';
import { errorMessage } from '../lib/errors';

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

/** The CodeDeploy events at which the test listener serves the replacement (green). */
export const TEST_LISTENER_ON_GREEN_EVENTS: readonly string[] = [
  'AfterAllowTestTraffic',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
];

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

export interface Discovery {
  report: CheckReport;
  targets: { test?: URL; prod?: URL };
  facts?: DeploymentFacts;
}

export interface DiscoverOptions {
  signal?: AbortSignal;
  /** Check that the test listener forwards to the replacement task set (default true). */
  verifyTestListener?: boolean;
}

class DiscoveryError extends Error {
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

async function call<T>(what: string, permission: string, send: () => Promise<T>): Promise<T> {
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

function listenerUrl(protocol: string, dnsName: string, port: number): URL {
  const secure = protocol === 'HTTPS' || protocol === 'TLS';
  const scheme = secure ? 'https' : 'http';
  const defaultPort = secure ? 443 : 80;
  return new URL(`${scheme}://${dnsName}${port === defaultPort ? '' : `:${port}`}/`);
}

/** Target group ARNs an action sends traffic to: a plain forward, or a weighted forward's non-zero members. */
function forwardedTargetGroups(action: Action): string[] {
  if (action.Type !== 'forward') return [];
  const weighted = action.ForwardConfig?.TargetGroups;
  if (weighted?.length)
    return weighted.filter((tg) => (tg.Weight ?? 1) > 0 && tg.TargetGroupArn).map((tg) => tg.TargetGroupArn!);
  return action.TargetGroupArn ? [action.TargetGroupArn] : [];
}

async function describeListeners(
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

async function describeRules(
  clients: DiscoveryClients,
  listenerArn: string,
  signal: AbortSignal | undefined,
): Promise<Rule[]> {
  const rules: Rule[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 10; page++) {
    const out = await call(`ELBv2 DescribeRules ${listenerArn}`, 'elasticloadbalancing:DescribeRules', () =>
      clients.elbv2.send(
        new DescribeRulesCommand({ ListenerArn: listenerArn, PageSize: 400, Marker: marker }),
        { abortSignal: signal },
      ),
    );
    rules.push(...(out.Rules ?? []));
    marker = out.NextMarker;
    if (!marker) break;
  }
  return rules;
}

/** What the evidence says of the replacement task set: only the fields ECS gave. */
function taskSetFacts(taskSet: TaskSet): NonNullable<DeploymentFacts['replacementTaskSet']> {
  const targetGroupArn = taskSet.loadBalancers?.[0]?.targetGroupArn;
  return {
    id: taskSet.id ?? 'unknown',
    ...(taskSet.status ? { status: taskSet.status } : {}),
    ...(targetGroupArn ? { targetGroupArn } : {}),
    ...(taskSet.taskDefinition ? { taskDefinition: taskSet.taskDefinition } : {}),
  };
}

async function replacementTaskSet(
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
async function readDeploymentGroup(
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

/**
 * Finds the listeners of a CodeDeploy ECS deployment and, unless told not to, verifies that the
 * test listener forwards to the replacement task set's target group. Never throws.
 */
export async function discoverTargets(
  deploymentId: string,
  clients: DiscoveryClients = defaultDiscoveryClients(),
  options: DiscoverOptions = {},
): Promise<Discovery> {
  const { signal } = options;
  const verify = options.verifyTestListener ?? true;
  let facts: DeploymentFacts | undefined;
  const targets: Discovery['targets'] = {};
  try {
    const route = await readDeploymentGroup(deploymentId, clients, signal);
    const { groupWhat, prodArn, testArn } = route;
    facts = route.facts;
    if (!testArn && verify) {
      throw new DiscoveryError(
        `${groupWhat} has no test listener, so green cannot be tested apart from production; add a test listener or set targets.test to a URL`,
      );
    }

    const [listeners, rules, taskSets] = await Promise.all([
      describeListeners(clients, testArn ? [prodArn, testArn] : [prodArn], signal),
      verify && testArn ? describeRules(clients, testArn, signal) : Promise.resolve(undefined),
      verify
        ? replacementTaskSet(clients, facts.cluster, facts.service, deploymentId, signal)
        : Promise.resolve(undefined),
    ]);
    facts.prodListener = listeners.get(prodArn)!;
    targets.prod = facts.prodListener.url;
    if (testArn) {
      facts.testListener = listeners.get(testArn)!;
      targets.test = facts.testListener.url;
    }
    if (!verify || !rules || !taskSets || !facts.testListener) {
      return {
        report: {
          outcome: 'passed',
          message: `found the listeners of ${groupWhat} (not verified at this event)`,
        },
        targets,
        facts,
      };
    }

    const taskSet = taskSets.taskSet;
    const taskSetAssertion: Assertion = {
      what: 'replacement task set',
      expected: `externalId ${deploymentId}`,
      actual: taskSet ? `${taskSet.id} (${taskSet.status ?? 'unknown status'})` : 'none',
      ok: !!taskSet,
    };
    if (!taskSet) {
      const seen =
        taskSets.all.map((t) => `${t.id} (${t.status}, externalId ${t.externalId ?? 'none'})`).join(', ') ||
        'none';
      return {
        report: {
          outcome: 'error',
          message: `service ${facts.service} in cluster ${facts.cluster} has no task set with externalId ${deploymentId}; task sets: ${seen}`,
          assertions: [taskSetAssertion],
        },
        targets,
        facts,
      };
    }
    const replacement = taskSetFacts(taskSet);
    facts.replacementTaskSet = replacement;
    const replacementTg = replacement.targetGroupArn;
    if (!replacementTg) {
      return {
        report: {
          outcome: 'error',
          message: `replacement task set ${taskSet.id} has no load balancer target group`,
          assertions: [taskSetAssertion],
        },
        targets,
        facts,
      };
    }

    const forwarded = [
      ...new Set(rules.flatMap((rule) => (rule.Actions ?? []).flatMap(forwardedTargetGroups))),
    ];
    facts.testListenerForwardsTo = forwarded.map(targetGroupName);
    const pairNames = new Set(facts.targetGroupNames);
    const wantedName = targetGroupName(replacementTg);
    const strays = forwarded.filter(
      (arn) => arn !== replacementTg && (pairNames.size === 0 || pairNames.has(targetGroupName(arn))),
    );
    const ok = forwarded.includes(replacementTg) && strays.length === 0;
    const listenerWhat = `test listener ${facts.testListener.url.href} (${facts.testListener.protocol}:${facts.testListener.port})`;
    const forwardAssertion: Assertion = {
      what: 'test listener forwards to',
      expected: wantedName,
      actual: facts.testListenerForwardsTo.join(', ') || 'nothing',
      ok,
    };
    const assertions = [taskSetAssertion, forwardAssertion];
    const message = ok
      ? `${listenerWhat} forwards to ${wantedName}, the target group of replacement task set ${taskSet.id} (deployment ${deploymentId})`
      : `${listenerWhat} forwards to ${forwardAssertion.actual}, expected ${wantedName}, the target group of replacement task set ${taskSet.id} (deployment ${deploymentId})`;
    return { report: { outcome: ok ? 'passed' : 'failed', message, assertions }, targets, facts };
  } catch (err) {
    const outcome = err instanceof DiscoveryError ? err.outcome : 'error';
    const aborted = signal?.aborted ? ` (stopped: ${errorMessage(signal.reason)})` : '';
    const discovery: Discovery = {
      report: { outcome, message: `discovery of deployment ${deploymentId}: ${errorMessage(err)}${aborted}` },
      targets,
    };
    if (facts) discovery.facts = facts;
    return discovery;
  }
}

/** Green's and blue's target groups and the ALB in front of them, as ARNs. */
export interface DiscoveredTargetGroups {
  loadBalancerArn: string;
  green: string;
  blue: string;
  /** The replacement task set (green) and the task set blue's target group came from. */
  greenTaskSet: string;
  blueTaskSet: string;
}

export interface TargetGroupDiscovery {
  /** `passed` with `targetGroups` set, or `error` saying which call or which fact was missing. */
  report: CheckReport;
  targetGroups?: DiscoveredTargetGroups;
  facts?: DeploymentFacts;
}

/**
 * For a check that compares green with blue: green is the target group of the replacement task
 * set (its `externalId` is the deployment id), blue the other target group of the deployment
 * group's pair, as served by another task set of the service, and the ALB is the production
 * listener's. Reads GetDeployment, GetDeploymentGroup, ECS DescribeServices and ELBv2
 * DescribeListeners / DescribeLoadBalancers (no DescribeRules, no test listener needed).
 * Never throws; a denied call names the IAM action the role lacks.
 */
export async function discoverTargetGroups(
  deploymentId: string,
  clients: DiscoveryClients = defaultDiscoveryClients(),
  options: { signal?: AbortSignal } = {},
): Promise<TargetGroupDiscovery> {
  const { signal } = options;
  const failed = (reason: string, facts?: DeploymentFacts): TargetGroupDiscovery => {
    const aborted = signal?.aborted ? ` (stopped: ${errorMessage(signal.reason)})` : '';
    const out: TargetGroupDiscovery = {
      report: { outcome: 'error', message: `discovery of deployment ${deploymentId}: ${reason}${aborted}` },
    };
    if (facts) out.facts = facts;
    return out;
  };
  let facts: DeploymentFacts | undefined;
  try {
    const route = await readDeploymentGroup(deploymentId, clients, signal);
    facts = route.facts;
    const [listeners, taskSets] = await Promise.all([
      describeListeners(clients, [route.prodArn], signal),
      replacementTaskSet(clients, facts.cluster, facts.service, deploymentId, signal),
    ]);
    facts.prodListener = listeners.get(route.prodArn)!;
    const serviceWhat = `service ${facts.service} in cluster ${facts.cluster}`;
    const listing = (sets: TaskSet[]) =>
      sets
        .map(
          (t) =>
            `${t.id} (${t.status}, externalId ${t.externalId ?? 'none'}, target group ${
              t.loadBalancers?.[0]?.targetGroupArn
                ? targetGroupName(t.loadBalancers[0].targetGroupArn)
                : 'none'
            })`,
        )
        .join(', ') || 'none';
    const taskSet = taskSets.taskSet;
    if (!taskSet) {
      return failed(
        `${serviceWhat} has no task set with externalId ${deploymentId} (the replacement); task sets: ${listing(taskSets.all)}`,
        facts,
      );
    }
    const replacement = taskSetFacts(taskSet);
    facts.replacementTaskSet = replacement;
    const green = replacement.targetGroupArn;
    if (!green) return failed(`replacement task set ${taskSet.id} has no load balancer target group`, facts);

    const greenName = targetGroupName(green);
    const pairNames = facts.targetGroupNames;
    if (pairNames.length && !pairNames.includes(greenName)) {
      return failed(
        `replacement task set ${taskSet.id} serves ${greenName}, which is not in ${route.groupWhat}'s target group pair (${pairNames.join(', ')})`,
        facts,
      );
    }
    const blueNames = pairNames.filter((name) => name !== greenName);
    // Blue's task set is normally PRIMARY until traffic shifts; prefer a PRIMARY one over leftovers.
    const others = taskSets.all
      .filter((t) => t !== taskSet)
      .sort((a, b) => Number(b.status === 'PRIMARY') - Number(a.status === 'PRIMARY'));
    const blueSet = others.find((t) => {
      const arn = t.loadBalancers?.[0]?.targetGroupArn;
      return !!arn && arn !== green && (blueNames.length === 0 || blueNames.includes(targetGroupName(arn)));
    });
    if (!blueSet) {
      const wanted = blueNames.length ? blueNames.join(' or ') : `a target group other than ${greenName}`;
      return failed(
        `${serviceWhat} has no task set besides the replacement ${taskSet.id} serving ${wanted}, so blue cannot be told; task sets: ${listing(taskSets.all)}`,
        facts,
      );
    }
    return {
      report: {
        outcome: 'passed',
        message: `deployment ${deploymentId}: green ${greenName} (replacement task set ${taskSet.id}), blue ${targetGroupName(blueSet.loadBalancers![0]!.targetGroupArn!)} (task set ${blueSet.id}) behind the production listener's load balancer`,
      },
      targetGroups: {
        loadBalancerArn: facts.prodListener.loadBalancerArn,
        green,
        blue: blueSet.loadBalancers![0]!.targetGroupArn!,
        greenTaskSet: taskSet.id ?? 'unknown',
        blueTaskSet: blueSet.id ?? 'unknown',
      },
      facts,
    };
  } catch (err) {
    const reason = err instanceof DiscoveryError ? (err.denial ?? err.message) : errorMessage(err);
    return failed(reason, facts);
  }
}

export interface ResolvedTargets {
  targets: Record<string, URL>;
  /** Undefined when no target was `auto`; otherwise the discovery verdict (only `passed` may go on). */
  discovery?: Discovery;
}

/**
 * For a hook: replaces `auto` targets with the discovered listener URLs. Verification runs at the
 * events where the test listener must serve green (TEST_LISTENER_ON_GREEN_EVENTS). A discovery
 * that is not `passed` should decide the hook as Failed with `discovery.report.message`.
 */
export async function resolveAutoTargets(
  targets: Readonly<Record<string, URL>>,
  deployment: { deploymentId: string; lifecycleEvent: string },
  clients: DiscoveryClients = defaultDiscoveryClients(),
  options: { signal?: AbortSignal } = {},
): Promise<ResolvedTargets> {
  const wanted = autoTargetNames(targets);
  if (wanted.length === 0) return { targets: { ...targets } };
  const discovery = await discoverTargets(deployment.deploymentId, clients, {
    ...options,
    verifyTestListener: TEST_LISTENER_ON_GREEN_EVENTS.includes(deployment.lifecycleEvent),
  });
  const resolved: Record<string, URL> = { ...targets };
  const missing: string[] = [];
  for (const name of wanted) {
    const url = discovery.targets[name as 'test' | 'prod'];
    if (url) resolved[name] = url;
    else missing.push(name);
  }
  if (discovery.report.outcome === 'passed' && missing.length > 0) {
    discovery.report = {
      outcome: 'error',
      message: `discovery found no listener for targets.${missing.join(', targets.')}`,
    };
  }
  return { targets: resolved, discovery };
}
