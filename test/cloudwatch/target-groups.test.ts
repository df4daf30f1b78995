import { targetGroupsCheckType } from '../../checks/target-groups';
import { cloudWatchServer } from '../support/aws-json-server';
import { checkFrom, configErrorOf, contextFor } from './cloudwatch-test-kit';
import { recent, serveMetricData, type Points } from './metric-store';

const cloudWatch = cloudWatchServer();
beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = await cloudWatch.start();
});
afterAll(() => cloudWatch.stop());
beforeEach(() => cloudWatch.reset());

const LB = 'app/web-alb/50dc6c495c0c9188';
const GREEN = 'targetgroup/web-tg-2/6d0ecf831eec9f09';
const BLUE = 'targetgroup/web-tg-1/9ea1e3c9b02a8f7b';
const pair = { loadBalancer: LB, green: GREEN, blue: BLUE };

interface Traffic {
  requests?: number;
  errors?: number;
  p95?: number;
  p99?: number;
}

/** CloudWatch's AWS/ApplicationELB figures per target group over the window (latency in seconds). */
function traffic(green: Traffic, blue: Traffic): void {
  const table: Record<string, Points> = {};
  for (const [tg, t] of [
    [GREEN, green],
    [BLUE, blue],
  ] as const) {
    const key = (metric: string, stat: string) => `${metric}|${stat}|LoadBalancer=${LB},TargetGroup=${tg}`;
    if (t.requests !== undefined) table[key('RequestCount', 'Sum')] = recent(t.requests);
    if (t.errors !== undefined) table[key('HTTPCode_Target_5XX_Count', 'Sum')] = recent(t.errors);
    if (t.p95 !== undefined) table[key('TargetResponseTime', 'p95')] = recent(t.p95);
    if (t.p99 !== undefined) table[key('TargetResponseTime', 'p99')] = recent(t.p99);
  }
  serveMetricData(cloudWatch, table);
}

const healthyLatency = { p95: 0.12, p99: 0.3 };

describe('target-groups check', () => {
  it("fails when green's 5xx ratio is above blue's by more than the tolerance", async () => {
    traffic(
      { requests: 1000, errors: 50, ...healthyLatency },
      { requests: 1000, errors: 5, ...healthyLatency },
    );
    const report = await checkFrom(targetGroupsCheckType, { ...pair, tolerance: 0.2 }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toBe(
      "green's 5xx ratio is above blue's by more than the tolerance: green 5% (50/1000) vs blue 0.5% (5/1000), allowed up to 0.6% (over the last 300 s, tolerance 20%)",
    );
    expect(report.assertions).toContainEqual({
      what: 'green 5xx ratio over the last 300 s',
      expected: 'at most 0.6% (blue 0.5% + tolerance)',
      actual: '5%',
      ok: false,
    });
  });

  it('passes when green is within the tolerance of blue on every figure', async () => {
    traffic(
      { requests: 800, errors: 4, p95: 0.125, p99: 0.31 },
      { requests: 1200, errors: 6, ...healthyLatency },
    );
    const report = await checkFrom(targetGroupsCheckType, pair).run(contextFor());
    expect(report.outcome).toBe('passed');
    expect(report.message).toBe(
      `green ${GREEN} within 10% of blue ${BLUE} over the last 300 s: 5xx ratio green 0.5% (4/800) vs blue 0.5% (6/1200), p95 green 125 ms vs blue 120 ms, p99 green 310 ms vs blue 300 ms`,
    );
  });

  it.each([
    ['passes', 1, 'passed'],
    ['fails', 5, 'failed'],
  ] as const)(
    '%s when blue has no 5xx at all and green has %d in 1000 (absolute tolerance 0.1 point)',
    async (_, greenErrors, outcome) => {
      traffic(
        { requests: 1000, errors: greenErrors, ...healthyLatency },
        { requests: 1000, ...healthyLatency },
      );
      const report = await checkFrom(targetGroupsCheckType, { ...pair, compare: ['errorRate'] }).run(
        contextFor(),
      );
      expect(report.outcome).toBe(outcome);
    },
  );

  it("fails when green's p99 response time is far above blue's", async () => {
    traffic(
      { requests: 1000, errors: 0, p95: 0.12, p99: 0.9 },
      { requests: 1000, errors: 0, ...healthyLatency },
    );
    const report = await checkFrom(targetGroupsCheckType, pair).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toBe(
      "green's TargetResponseTime p99 is above blue's by more than the tolerance: green 900 ms vs blue 300 ms, allowed up to 330 ms (over the last 300 s, tolerance 10%)",
    );
  });

  it('is inconclusive when a target group served fewer requests than minRequests', async () => {
    traffic(
      { requests: 40, errors: 20, ...healthyLatency },
      { requests: 5000, errors: 1, ...healthyLatency },
    );
    const report = await checkFrom(targetGroupsCheckType, { ...pair, minRequests: 100 }).run(contextFor());
    expect(report.outcome).toBe('inconclusive');
    expect(report.message).toBe(
      `green ${GREEN} served 40 requests over the last 300 s, below minRequests 100: too little traffic to compare`,
    );
  });

  it('is inconclusive when a target group has no RequestCount datapoint at all', async () => {
    traffic({}, { requests: 5000, ...healthyLatency });
    const report = await checkFrom(targetGroupsCheckType, pair).run(contextFor());
    expect(report.outcome).toBe('inconclusive');
    expect(report.message).toContain(`green ${GREEN} served 0 requests`);
  });

  it('is inconclusive when a latency percentile has no datapoint', async () => {
    traffic({ requests: 1000, errors: 0, p95: 0.1 }, { requests: 1000, errors: 0, ...healthyLatency });
    const report = await checkFrom(targetGroupsCheckType, pair).run(contextFor());
    expect(report.outcome).toBe('inconclusive');
    expect(report.message).toBe(
      'no TargetResponseTime p99 datapoint for green (over the last 300 s, tolerance 10%)',
    );
  });

  it('asks CloudWatch for both target groups on the ALB in one call, one period per window, from ARNs too', async () => {
    traffic(
      { requests: 1000, errors: 0, ...healthyLatency },
      { requests: 1000, errors: 0, ...healthyLatency },
    );
    const report = await checkFrom(targetGroupsCheckType, {
      loadBalancer: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/${LB}`,
      green: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:${GREEN}`,
      blue: BLUE,
      windowSeconds: 600,
    }).run(contextFor());
    expect(report.outcome).toBe('passed');
    const calls = cloudWatch.callsOf('GetMetricData');
    expect(calls).toHaveLength(1);
    const queries = calls[0]!.body.MetricDataQueries as Array<{
      Id: string;
      MetricStat: { Period: number; Stat: string; Metric: { Dimensions: unknown } };
    }>;
    expect(queries.map((q) => `${q.Id}:${q.MetricStat.Stat}`)).toEqual([
      'g_req:Sum',
      'g_5xx:Sum',
      'g_p95:p95',
      'g_p99:p99',
      'b_req:Sum',
      'b_5xx:Sum',
      'b_p95:p95',
      'b_p99:p99',
    ]);
    expect(queries.every((q) => q.MetricStat.Period === 600)).toBe(true);
    expect(queries[0]!.MetricStat.Metric.Dimensions).toEqual([
      { Name: 'LoadBalancer', Value: LB },
      { Name: 'TargetGroup', Value: GREEN },
    ]);
  });

  it('is an error naming cloudwatch:GetMetricData on AccessDenied', async () => {
    cloudWatch.script('GetMetricData', { error: 'AccessDeniedException', message: 'not authorized' });
    const report = await checkFrom(targetGroupsCheckType, pair).run(contextFor());
    expect(report.outcome).toBe('error');
    expect(report.message).toBe(
      'GetMetricData was denied (AccessDeniedException): the role needs cloudwatch:GetMetricData; AWS said: not authorized',
    );
  });

  describe('options', () => {
    it.each([
      [
        'no target groups',
        { loadBalancer: LB },
        /checks\.cw\.green: missing green, blue: set discover: true to read them from the deployment, or set loadBalancer, green and blue \(the target groups swap roles every deployment/,
      ],
      [
        'the same group twice',
        { ...pair, blue: GREEN },
        /checks\.cw\.blue: expected a different target group from green/,
      ],
      [
        'a target group name instead of its id',
        { ...pair, green: 'web-tg-2' },
        /checks\.cw\.green: expected a target group as targetgroup\/NAME\/ID \(or its ARN\)/,
      ],
      [
        'a network load balancer',
        { ...pair, loadBalancer: 'net/nlb/50dc6c495c0c9188' },
        /checks\.cw\.loadBalancer: expected an ALB as app\/NAME\/ID/,
      ],
      ['a negative tolerance', { ...pair, tolerance: -0.1 }, /checks\.cw\.tolerance: expected a number ≥ 0/],
      [
        'a window that is not whole minutes',
        { ...pair, windowSeconds: 90 },
        /checks\.cw\.windowSeconds: expected a multiple of 60 seconds/,
      ],
      [
        'an unknown comparison',
        { ...pair, compare: ['p50'] },
        /checks\.cw\.compare\[0\]: expected one of "errorRate", "p95", "p99"/,
      ],
    ])('rejects %s when the config loads', (_, options, error) => {
      expect(configErrorOf(targetGroupsCheckType, options)).toMatch(error);
    });
  });
});
