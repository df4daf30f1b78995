import { z } from 'zod';
import { defineCheckType } from '../check-type';
import { defaultCloudWatchClient, type CloudWatchProvider } from '../cloudwatch/client';
import type { DiscoveryClients } from '../discovery/deployment';
import { COMPARISONS, compareTargetGroups } from './compare';
import {
  discoverPair,
  loadBalancerSchema,
  targetGroupSchema,
  type PairSource,
  type TargetGroupPair,
} from './pair';

/** Seams for callers that already hold a client. */
export interface TargetGroupsDependencies {
  cloudWatch?: CloudWatchProvider;
  /** The CodeDeploy, ECS and ELBv2 clients `discover: true` reads the deployment with. */
  discoveryClients?: () => DiscoveryClients;
}

/**
 * Green against blue on the same ALB: green's 5xx ratio and TargetResponseTime p95/p99 may be
 * worse than blue's only within a relative tolerance, once both served enough requests in the
 * window to judge. The target groups are given, or (`discover: true`) read from the deployment
 * at each run, since they swap roles every deployment.
 */
export function targetGroupsCheckTypeWith(deps: TargetGroupsDependencies = {}) {
  return defineCheckType({
    type: 'target-groups',
    summary: 'Green’s ALB target group must not be worse than blue’s: 5xx ratio and response time p95/p99.',
    options: z.strictObject({
      discover: z
        .boolean()
        .default(false)
        .describe(
          'Read the target groups and the ALB from the CodeDeploy deployment at each run: green is the replacement task set’s target group, blue the other one of the pair, the ALB the production listener’s. In place of loadBalancer, green and blue.',
        ),
      loadBalancer: loadBalancerSchema.optional().describe('The ALB, as app/NAME/ID or its ARN.'),
      green: targetGroupSchema
        .optional()
        .describe('Green’s target group (the replacement task set), as targetgroup/NAME/ID or its ARN.'),
      blue: targetGroupSchema
        .optional()
        .describe('Blue’s target group (the original task set), as targetgroup/NAME/ID or its ARN.'),
      compare: z
        .array(z.enum(COMPARISONS))
        .min(1)
        .default([...COMPARISONS])
        .describe('What to compare: errorRate (target 5xx / requests), p95, p99 (TargetResponseTime).'),
      tolerance: z
        .number()
        .min(0)
        .max(10, { error: 'expected a relative tolerance between 0 and 10 (0.2 = 20% worse than blue)' })
        .default(0.1)
        .describe('How much worse than blue green may be, relative: 0.1 = 10%.'),
      absoluteTolerance: z
        .strictObject({
          errorRate: z
            .number()
            .min(0)
            .max(1)
            .default(0.001)
            .describe(
              '5xx ratio green may exceed blue by whatever the relative tolerance says (0.001 = 0.1 point).',
            ),
          latencyMs: z
            .number()
            .min(0)
            .default(5)
            .describe('Milliseconds green may exceed blue by whatever the relative tolerance says.'),
        })
        .prefault({})
        .describe('Differences too small to matter when blue’s own figure is near zero.'),
      minRequests: z
        .int()
        .min(1)
        .default(100)
        .describe('Requests each target group must have served in the window; fewer is inconclusive.'),
      windowSeconds: z
        .int()
        .min(60)
        .max(86_400)
        .refine((s) => s % 60 === 0, { error: 'expected a multiple of 60 seconds' })
        .default(300)
        .describe('How far back to compare.'),
    }),
    create(options, factory) {
      const fixed = ['loadBalancer', 'green', 'blue'] as const;
      let source: PairSource;
      if (options.discover) {
        const given = fixed.filter((k) => options[k] !== undefined);
        if (given.length) {
          throw factory.fail(
            given[0]!,
            `remove ${given.join(', ')}: with discover: true the load balancer and both target groups come from the deployment`,
          );
        }
        source = (ctx) => discoverPair(ctx, deps.discoveryClients);
      } else {
        const missing = fixed.filter((k) => options[k] === undefined);
        if (missing.length) {
          throw factory.fail(
            missing[0]!,
            `missing ${missing.join(', ')}: set discover: true to read them from the deployment, or set loadBalancer, green and blue (the target groups swap roles every deployment, so pass them per deployment, e.g. \${env:GREEN_TG})`,
          );
        }
        if (options.green === options.blue)
          throw factory.fail('blue', `expected a different target group from green (${options.green})`);
        const pair: TargetGroupPair = {
          loadBalancer: options.loadBalancer!,
          green: options.green!,
          blue: options.blue!,
        };
        source = async () => ({ pair });
      }
      const compare = [...new Set(options.compare)];
      return {
        name: factory.name,
        type: 'target-groups',
        run: (ctx) =>
          compareTargetGroups(
            { ...options, compare },
            source,
            ctx,
            deps.cloudWatch ?? defaultCloudWatchClient,
          ),
      };
    },
  });
}

/** The `target-groups` check type, with the default CloudWatch client. */
export const targetGroupsCheckType = targetGroupsCheckTypeWith();
