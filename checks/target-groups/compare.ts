import type { MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { failureMessage, type CloudWatchProvider, type CloudWatchSender } from '../cloudwatch/client';
import { formatNumber } from '../cloudwatch/condition';
import { getMetricData, type MetricSeries } from '../cloudwatch/metric-data';
import type { Assertion, CheckContext, CheckReport, Outcome } from '../types';
import { worstOutcome } from '../verdict';
import type { PairSource, TargetGroupPair } from './pair';

export const COMPARISONS = ['errorRate', 'p95', 'p99'] as const;
export type Comparison = (typeof COMPARISONS)[number];

export interface CompareOptions {
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

/**
 * Green's and blue's 5xx ratio and response time percentiles over the window, from one
 * GetMetricData call, judged within the tolerances once both served `minRequests`.
 */
export async function compareTargetGroups(
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

function percent(ratio: number): string {
  return `${formatNumber(ratio * 100)}%`;
}

function ms(value: number): string {
  return `${formatNumber(Math.round(value * 10) / 10)} ms`;
}
