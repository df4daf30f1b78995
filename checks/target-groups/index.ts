import type { MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { defineCheckType } from '../check-type';
import {
  defaultCloudWatchClient,
  failureMessage,
  type CloudWatchProvider,
  type CloudWatchSender,
} from '../cloudwatch/client';
import { formatNumber } from '../cloudwatch/condition';
import { getMetricData, type MetricSeries } from '../cloudwatch/metric-data';
import type { DiscoveryClients } from '../discovery/deployment';
import {
  LIFECYCLE_EVENTS,
  type Assertion,
  type CheckContext,
  type CheckReport,
  type Outcome,
} from '../types';
import { worstOutcome } from '../verdict';

const COMPARISONS = ['errorRate', 'p95', 'p99'] as const;
type Comparison = (typeof COMPARISONS)[number];

/** The CloudWatch dimension value of an ALB (`app/name/id`), from itself or from its ARN. */
const loadBalancerSchema = z
  .string()
  .transform((v) => v.replace(/^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:loadbalancer\//, ''))
  .pipe(
    z.string().regex(/^app\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{1,32}$/, {
      error: 'expected an ALB as app/NAME/ID (or its ARN)',
    }),
  );

/** The CloudWatch dimension value of a target group (`targetgroup/name/id`), from itself or from its ARN. */
const targetGroupSchema = z
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

/** Seams for callers that already hold a client. */
export interface TargetGroupsDependencies {
  cloudWatch?: CloudWatchProvider;
  /** The CodeDeploy, ECS and ELBv2 clients `discover: true` reads the deployment with. */
  discoveryClients?: () => DiscoveryClients;
}

/** The pair to compare, or the reason there is none. */
type PairSource = (
  ctx: CheckContext,
) => Promise<{ pair: TargetGroupPair; discovered?: Record<string, unknown> } | { report: CheckReport }>;

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

interface CompareOptions {
  compare: Comparison[];
  tolerance: number;
  absoluteTolerance: { errorRate: number; latencyMs: number };
  minRequests: number;
  windowSeconds: number;
}

interface Side {
  requests: number;
  errors5xx: number;
  p95Ms?: number;
  p99Ms?: number;
}

const SIDES = { g: 'green', b: 'blue' } as const;

async function compareTargetGroups(
  options: CompareOptions,
  resolvePair: PairSource,
  ctx: CheckContext,
  provider: CloudWatchProvider,
): Promise<CheckReport> {
  let pair: TargetGroupPair;
  let discovered: Record<string, unknown> | undefined;
  let client: CloudWatchSender;
  try {
    client = await provider();
  } catch (err) {
    return { outcome: 'error', message: `could not create a CloudWatch client: ${failureMessage(err)}` };
  }
  try {
    const resolved = await resolvePair(ctx);
    if ('report' in resolved) return resolved.report;
    ({ pair, discovered } = resolved);
  } catch (err) {
    return {
      outcome: 'error',
      message: `could not tell which target group is green: ${failureMessage(err)}`,
    };
  }
  const about = discovered ? { ...pair, discovered } : { ...pair };
  const endTime = new Date();
  const startTime = new Date(endTime.getTime() - options.windowSeconds * 1000);
  const window = `over the last ${options.windowSeconds} s`;
  const queries: MetricDataQuery[] = [];
  for (const [key, role] of Object.entries(SIDES)) {
    const dims = [
      { Name: 'LoadBalancer', Value: pair.loadBalancer },
      { Name: 'TargetGroup', Value: pair[role] },
    ];
    const q = (id: string, name: string, stat: string): MetricDataQuery => ({
      Id: `${key}_${id}`,
      ReturnData: true,
      MetricStat: {
        Metric: { Namespace: 'AWS/ApplicationELB', MetricName: name, Dimensions: dims },
        Period: options.windowSeconds,
        Stat: stat,
      },
    });
    queries.push(q('req', 'RequestCount', 'Sum'));
    if (options.compare.includes('errorRate')) queries.push(q('5xx', 'HTTPCode_Target_5XX_Count', 'Sum'));
    if (options.compare.includes('p95')) queries.push(q('p95', 'TargetResponseTime', 'p95'));
    if (options.compare.includes('p99')) queries.push(q('p99', 'TargetResponseTime', 'p99'));
  }

  let series: Map<string, MetricSeries>;
  try {
    series = (await getMetricData(client, { queries, startTime, endTime }, ctx)).series;
  } catch (err) {
    return { outcome: 'error', message: failureMessage(err), details: about };
  }
  const bad = [...series.values()].find(
    (s) => s.statusCode === 'InternalError' || s.statusCode === 'Forbidden',
  );
  if (bad) {
    return {
      outcome: 'error',
      message: `GetMetricData could not read ${bad.id} (${bad.statusCode})${bad.messages.length ? `: ${bad.messages.join('; ')}` : ''}`,
      details: about,
    };
  }
  const side = (key: 'g' | 'b'): Side => {
    const sum = (id: string) => (series.get(`${key}_${id}`)?.points ?? []).reduce((a, p) => a + p.value, 0);
    // Percentiles of several periods cannot be merged exactly; the worst period stands for the window.
    const worst = (id: string) => {
      const points = series.get(`${key}_${id}`)?.points ?? [];
      return points.length ? Math.max(...points.map((p) => p.value)) * 1000 : undefined;
    };
    const out: Side = { requests: sum('req'), errors5xx: sum('5xx') };
    const p95 = worst('p95');
    const p99 = worst('p99');
    if (p95 !== undefined) out.p95Ms = p95;
    if (p99 !== undefined) out.p99Ms = p99;
    return out;
  };
  const green = side('g');
  const blue = side('b');
  const details = { ...about, windowSeconds: options.windowSeconds, measured: { green, blue } };

  const thin = (['green', 'blue'] as const).filter(
    (role) => (role === 'green' ? green : blue).requests < options.minRequests,
  );
  if (thin.length) {
    const text = thin
      .map((role) => `${role} ${pair[role]} served ${(role === 'green' ? green : blue).requests} requests`)
      .join(' and ');
    return {
      outcome: 'inconclusive',
      message: `${text} ${window}, below minRequests ${options.minRequests}: too little traffic to compare`,
      assertions: thin.map((role) => ({
        what: `${role} requests ${window}`,
        expected: `at least ${options.minRequests}`,
        actual: (role === 'green' ? green : blue).requests,
        ok: false,
      })),
      details,
    };
  }

  const results: Array<{ outcome: Outcome; text: string; assertion: Assertion }> = [];
  for (const comparison of options.compare) {
    if (comparison === 'errorRate') {
      const g = green.errors5xx / green.requests;
      const b = blue.errors5xx / blue.requests;
      const allowed = Math.max(b * (1 + options.tolerance), b + options.absoluteTolerance.errorRate);
      const ok = g <= allowed;
      const figures = `green ${percent(g)} (${green.errors5xx}/${green.requests}) vs blue ${percent(b)} (${blue.errors5xx}/${blue.requests})`;
      results.push({
        outcome: ok ? 'passed' : 'failed',
        text: ok
          ? `5xx ratio ${figures}`
          : `green's 5xx ratio is above blue's by more than the tolerance: ${figures}, allowed up to ${percent(allowed)}`,
        assertion: {
          what: `green 5xx ratio ${window}`,
          expected: `at most ${percent(allowed)} (blue ${percent(b)} + tolerance)`,
          actual: percent(g),
          ok,
        },
      });
    } else {
      const key = comparison === 'p95' ? 'p95Ms' : 'p99Ms';
      const g = green[key];
      const b = blue[key];
      if (g === undefined || b === undefined) {
        const which = [g === undefined ? 'green' : '', b === undefined ? 'blue' : '']
          .filter(Boolean)
          .join(' and ');
        results.push({
          outcome: 'inconclusive',
          text: `no TargetResponseTime ${comparison} datapoint for ${which}`,
          assertion: {
            what: `green TargetResponseTime ${comparison}`,
            expected: 'a datapoint for both',
            actual: `none for ${which}`,
            ok: false,
          },
        });
        continue;
      }
      const allowed = Math.max(b * (1 + options.tolerance), b + options.absoluteTolerance.latencyMs);
      const ok = g <= allowed;
      const figures = `green ${ms(g)} vs blue ${ms(b)}`;
      results.push({
        outcome: ok ? 'passed' : 'failed',
        text: ok
          ? `${comparison} ${figures}`
          : `green's TargetResponseTime ${comparison} is above blue's by more than the tolerance: ${figures}, allowed up to ${ms(allowed)}`,
        assertion: {
          what: `green TargetResponseTime ${comparison} ${window}`,
          expected: `at most ${ms(allowed)} (blue ${ms(b)} + tolerance)`,
          actual: ms(g),
          ok,
        },
      });
    }
  }
  const outcome = worstOutcome(results.map((r) => r.outcome));
  const assertions = results.map((r) => r.assertion);
  if (outcome === 'passed') {
    return {
      outcome,
      message: `green ${pair.green} within ${formatNumber(options.tolerance * 100)}% of blue ${pair.blue} ${window}: ${results.map((r) => r.text).join(', ')}`,
      assertions,
      details,
    };
  }
  const worst = results.filter((r) => r.outcome === outcome).map((r) => r.text);
  return {
    outcome,
    message: `${worst.join('; ')} (${window}, tolerance ${formatNumber(options.tolerance * 100)}%)`,
    assertions,
    details,
  };
}

const NOT_DISCOVERABLE = 'set loadBalancer, green and blue instead of discover: true';

/**
 * `discover: true`: green is the replacement task set's target group, blue the other one of the
 * deployment group's pair, the ALB the production listener's, read at each run (checks/discovery/target-groups.ts).
 */
async function discoverPair(
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

function percent(ratio: number): string {
  return `${formatNumber(ratio * 100)}%`;
}

function ms(value: number): string {
  return `${formatNumber(Math.round(value * 10) / 10)} ms`;
}
