/**
 * Green's and blue's target groups, found from the deployment, for the target-groups check
 * (`discover: true`): green is the replacement task set's, blue the other of the deployment
 * group's pair, and the load balancer the production listener's.
 */
import type { TaskSet } from '@aws-sdk/client-ecs';
import { errorMessage } from '../../lib/errors';
import type { CheckReport } from '../types';
import {
  DiscoveryError,
  defaultDiscoveryClients,
  describeListeners,
  readDeploymentGroup,
  replacementTaskSet,
  targetGroupName,
  taskSetFacts,
  type DeploymentFacts,
  type DiscoveryClients,
} from './deployment';

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
