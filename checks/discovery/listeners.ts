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
 * (target-groups.ts finds green's and blue's target groups for the target-groups check.)
 *
 * `resolveAutoTargets(targets, deployment, clients, { signal })` is the adapter for a hook: it
 * does nothing when no target is `auto`, verifies the test listener at the events where it must
 * serve green, and returns the targets with `auto` replaced.
 *
 * IAM: codedeploy:GetDeployment and GetDeploymentGroup on the deployment group ARN,
 * ecs:DescribeServices, elasticloadbalancing:DescribeListeners / DescribeLoadBalancers /
 * DescribeRules (ELBv2 Describe* actions cannot be scoped to a resource).
 */
import { DescribeRulesCommand, type Action, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { autoTargetNames } from '../../lib/auto-target';
import { errorMessage } from '../../lib/errors';
import type { Assertion, CheckReport } from '../types';
import {
  DiscoveryError,
  call,
  defaultDiscoveryClients,
  describeListeners,
  readDeploymentGroup,
  replacementTaskSet,
  targetGroupName,
  taskSetFacts,
  type DeploymentFacts,
  type DiscoveryClients,
} from './deployment';

/** The CodeDeploy events at which the test listener serves the replacement (green). */
export const TEST_LISTENER_ON_GREEN_EVENTS: readonly string[] = [
  'AfterAllowTestTraffic',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
];

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

/** Target group ARNs an action sends traffic to: a plain forward, or a weighted forward's non-zero members. */
function forwardedTargetGroups(action: Action): string[] {
  if (action.Type !== 'forward') return [];
  const weighted = action.ForwardConfig?.TargetGroups;
  if (weighted?.length)
    return weighted.filter((tg) => (tg.Weight ?? 1) > 0 && tg.TargetGroupArn).map((tg) => tg.TargetGroupArn!);
  return action.TargetGroupArn ? [action.TargetGroupArn] : [];
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
