import { z } from 'zod';
import type { DiscoveryClients } from '../discovery/deployment';
import { LIFECYCLE_EVENTS, type CheckContext, type CheckReport } from '../types';

/** The CloudWatch dimension value of an ALB (`app/name/id`), from itself or from its ARN. */
export const loadBalancerSchema = z
  .string()
  .transform((v) => v.replace(/^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:loadbalancer\//, ''))
  .pipe(
    z.string().regex(/^app\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{1,32}$/, {
      error: 'expected an ALB as app/NAME/ID (or its ARN)',
    }),
  );

/** The CloudWatch dimension value of a target group (`targetgroup/name/id`), from itself or from its ARN. */
export const targetGroupSchema = z
  .string()
  .transform((v) => v.replace(/^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:/, ''))
  .pipe(
    z.string().regex(/^targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{1,32}$/, {
      error: 'expected a target group as targetgroup/NAME/ID (or its ARN)',
    }),
  );

/** Which target group is which, and the ALB they sit behind. */
export interface TargetGroupPair {
  loadBalancer: string;
  green: string;
  blue: string;
}

/** The pair to compare, or the reason there is none. */
export type PairSource = (
  ctx: CheckContext,
) => Promise<{ pair: TargetGroupPair; discovered?: Record<string, unknown> } | { report: CheckReport }>;

const NOT_DISCOVERABLE = 'set loadBalancer, green and blue instead of discover: true';

/**
 * `discover: true`: green is the replacement task set's target group, blue the other one of the
 * deployment group's pair, the ALB the production listener's, read at each run (checks/discovery/target-groups.ts).
 */
export async function discoverPair(
  ctx: CheckContext,
  clients: (() => DiscoveryClients) | undefined,
): ReturnType<PairSource> {
  const { deploymentId, lifecycleEvent } = ctx.deployment;
  const error = (message: string, details?: Record<string, unknown>) => ({
    report: { outcome: 'error' as const, message, ...(details ? { details } : {}) },
  });
  if (!deploymentId) {
    return error(
      `discover: true reads the target groups from a CodeDeploy deployment, and there is none here (no deployment id: not run from a CodeDeploy hook); ${NOT_DISCOVERABLE}`,
    );
  }
  if (!LIFECYCLE_EVENTS.includes(lifecycleEvent as (typeof LIFECYCLE_EVENTS)[number])) {
    return error(
      `discover: true reads the target groups from a CodeDeploy deployment, and ${lifecycleEvent} is not a CodeDeploy lifecycle event (an ECS built-in blue/green hook has no CodeDeploy deployment); ${NOT_DISCOVERABLE}`,
    );
  }
  if (lifecycleEvent === 'BeforeInstall') {
    return error(
      `discover: true cannot tell green at BeforeInstall: CodeDeploy creates the replacement task set of deployment ${deploymentId} after this event; run the check at AfterInstall or later`,
    );
  }
  const [{ defaultDiscoveryClients }, { discoverTargetGroups }] = await Promise.all([
    import('../discovery/deployment'),
    import('../discovery/target-groups'),
  ]);
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, ctx.deadline - Date.now()))]);
  const found = await discoverTargetGroups(deploymentId, clients?.() ?? defaultDiscoveryClients(), {
    signal,
  });
  const facts = found.facts
    ? {
        deploymentId,
        deploymentGroup: `${found.facts.applicationName}/${found.facts.deploymentGroupName}`,
        service: `${found.facts.cluster}/${found.facts.service}`,
      }
    : { deploymentId };
  const tgs = found.targetGroups;
  if (!tgs) return error(`could not tell which target group is green: ${found.report.message}`, facts);
  const loadBalancer = loadBalancerSchema.safeParse(tgs.loadBalancerArn);
  if (!loadBalancer.success) {
    return error(
      `the production listener of deployment ${deploymentId} is on ${tgs.loadBalancerArn}, not an Application Load Balancer; target-groups compares ALB metrics`,
      facts,
    );
  }
  const green = targetGroupSchema.safeParse(tgs.green);
  const blue = targetGroupSchema.safeParse(tgs.blue);
  if (!green.success || !blue.success) {
    return error(
      `deployment ${deploymentId}: cannot name ${green.success ? tgs.blue : tgs.green} as a CloudWatch TargetGroup dimension (targetgroup/NAME/ID)`,
      facts,
    );
  }
  return {
    pair: { loadBalancer: loadBalancer.data, green: green.data, blue: blue.data },
    discovered: { ...facts, greenTaskSet: tgs.greenTaskSet, blueTaskSet: tgs.blueTaskSet },
  };
}
