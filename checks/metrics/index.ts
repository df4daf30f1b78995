import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { abortReasonText } from '../../lib/errors';
import { defineCheckType } from '../check-type';
import {
  defaultCloudWatchClient,
  failureMessage,
  type CloudWatchProvider,
  type CloudWatchSender,
} from '../cloudwatch/client';
import {
  aggregate,
  conditionSchema,
  formatNumber,
  meets,
  thresholdOf,
  type Condition,
} from '../cloudwatch/condition';
import {
  DEFAULT_PERIOD_SECONDS,
  getMetricData,
  metricQuerySchema,
  toMetricDataQuery,
  type MetricQuery,
} from '../cloudwatch/metric-data';
import type { Assertion, CheckContext, CheckReport, Outcome } from '../types';

/** Lambda's 15-minute ceiling: a repeat schedule longer than this can never finish inside a hook. */
const MAX_SCHEDULE_MS = 900_000;
/** GetMetricData rejects data older than 15 months; a window this long is a mistake anyway. */
const MAX_WINDOW_SECONDS = 86_400 * 14;
const MAX_DETAIL_POINTS = 100;

const POLICY = ['inconclusive', 'pass', 'fail'] as const;

/** Seams for callers that already hold a client. */
export interface MetricsDependencies {
  cloudWatch?: CloudWatchProvider;
}

/**
 * A CloudWatch metric condition: GetMetricData queries (metrics and metric math) over a window,
 * one query judged by an aggregate against a threshold, with a minimum number of datapoints and
 * an optional schedule of repeated measurements inside the hook's deadline.
 */
export function metricsCheckTypeWith(deps: MetricsDependencies = {}) {
  return defineCheckType({
    type: 'metrics',
    summary: 'A CloudWatch metric (or metric math over several) must meet a threshold over a time window.',
    options: z.strictObject({
      queries: z
        .array(metricQuerySchema)
        .min(1)
        .max(500, { error: 'expected at most 500 queries (GetMetricData limit)' })
        .describe('GetMetricData queries: metrics with a statistic, and metric math over their ids.'),
      evaluate: z
        .string()
        .optional()
        .describe('The id of the query the condition judges (default: the only query).'),
      windowSeconds: z
        .int()
        .min(60)
        .max(MAX_WINDOW_SECONDS, {
          error: `expected a window of at most ${MAX_WINDOW_SECONDS} seconds (14 days)`,
        })
        .default(300)
        .describe('How far back each measurement looks.'),
      condition: conditionSchema.describe(
        'When the judged series is good, e.g. { aggregate: max, below: 5 }.',
      ),
      minDatapoints: z
        .int()
        .min(1)
        .default(1)
        .describe('Fewer datapoints than this in the window means no data.'),
      noData: z
        .enum(POLICY)
        .default('inconclusive')
        .describe('What too few datapoints make a measurement: inconclusive (default), pass or fail.'),
      repeat: z
        .strictObject({
          count: z.int().min(2).max(100).describe('How many measurements.'),
          intervalMs: z.int().min(1_000).describe('Time between the starts of two measurements.'),
          failureLimit: z
            .int()
            .min(0)
            .default(0)
            .describe('Measurements that may end other than passed before the check gives up.'),
        })
        .optional()
        .describe('Measure repeatedly, e.g. every 30 s, 5 times, tolerating 1 bad measurement.'),
    }),
    create(options, factory) {
      const ids = options.queries.map((q) => q.id);
      const dup = ids.find((id, i) => ids.indexOf(id) !== i);
      if (dup !== undefined) throw factory.fail('queries', `id "${dup}" is used by two queries`);
      let evaluate = options.evaluate;
      if (evaluate === undefined) {
        if (ids.length > 1)
          throw factory.fail('evaluate', `expected the id of the query to judge, one of ${ids.join(', ')}`);
        evaluate = ids[0]!;
      } else if (!ids.includes(evaluate)) {
        throw factory.fail('evaluate', `unknown query id "${evaluate}"; queries: ${ids.join(', ')}`);
      }
      if (options.repeat) {
        const { count, intervalMs, failureLimit } = options.repeat;
        if (failureLimit >= count)
          throw factory.fail(
            'repeat.failureLimit',
            `expected fewer than count (${count}), got ${failureLimit}`,
          );
        if ((count - 1) * intervalMs > MAX_SCHEDULE_MS) {
          throw factory.fail(
            'repeat',
            `${count} measurements ${intervalMs} ms apart take longer than a Lambda can run (15 minutes)`,
          );
        }
      }
      const plan: MetricsPlan = {
        ...options,
        evaluate,
        judged: options.queries.find((q) => q.id === evaluate)!,
      };
      return {
        name: factory.name,
        type: 'metrics',
        run: (ctx) => runMetrics(plan, ctx, deps.cloudWatch ?? defaultCloudWatchClient),
      };
    },
  });
}

/** The `metrics` check type, with the default CloudWatch client. */
export const metricsCheckType = metricsCheckTypeWith();

interface MetricsPlan {
  queries: MetricQuery[];
  evaluate: string;
  judged: MetricQuery;
  windowSeconds: number;
  condition: Condition;
  minDatapoints: number;
  noData: (typeof POLICY)[number];
  repeat?: { count: number; intervalMs: number; failureLimit: number } | undefined;
}

interface Measurement {
  outcome: Outcome;
  message: string;
  value?: number;
  datapoints: number;
  durationMs: number;
  details?: Record<string, unknown>;
}

async function runMetrics(
  plan: MetricsPlan,
  ctx: CheckContext,
  provider: CloudWatchProvider,
): Promise<CheckReport> {
  let client: CloudWatchSender;
  try {
    client = await provider();
  } catch (err) {
    return { outcome: 'error', message: `could not create a CloudWatch client: ${failureMessage(err)}` };
  }
  const threshold = thresholdOf(plan.condition);
  const what = `${plan.condition.aggregate} of ${describeQuery(plan.judged)}`;
  if (!plan.repeat) {
    const m = await measure(plan, ctx, client);
    return {
      outcome: m.outcome,
      message: m.message,
      assertions: [assertionOf(`${what} over the last ${plan.windowSeconds} s`, threshold.text, m)],
      details: { ...m.details, threshold: threshold.text },
    };
  }

  const { count, intervalMs, failureLimit } = plan.repeat;
  const measurements: Measurement[] = [];
  const assertions: Assertion[] = [];
  let notPassed = 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      const lastMs = measurements[measurements.length - 1]!.durationMs;
      if (Date.now() + intervalMs + lastMs > ctx.deadline) {
        return {
          outcome: 'inconclusive',
          message: `only ${i} of ${count} measurements fit before the check deadline (every ${intervalMs} ms); last: ${measurements[i - 1]!.message}`,
          assertions,
          details: { measurements: summary(measurements), threshold: threshold.text },
        };
      }
      try {
        await sleep(Math.max(0, intervalMs - lastMs), undefined, { signal: ctx.signal });
      } catch {
        return {
          outcome: 'error',
          message: `stopped after ${i} of ${count} measurements: ${abortReasonText(ctx.signal, 'the check was stopped')}`,
          assertions,
          details: { measurements: summary(measurements) },
        };
      }
    }
    const m = await measure(plan, ctx, client);
    measurements.push(m);
    assertions.push(assertionOf(`${what}, measurement ${i + 1} of ${count}`, threshold.text, m));
    if (m.outcome !== 'passed') notPassed++;
    if (notPassed > failureLimit) {
      return {
        outcome: m.outcome,
        message: `measurement ${i + 1} of ${count}: ${m.message} (${notPassed} not passed, failureLimit ${failureLimit})`,
        assertions,
        details: { measurements: summary(measurements), threshold: threshold.text },
      };
    }
  }
  const tolerated = notPassed ? `, ${notPassed} tolerated by failureLimit ${failureLimit}` : '';
  return {
    outcome: 'passed',
    message: `${count - notPassed} of ${count} measurements passed${tolerated}; last: ${measurements[count - 1]!.message}`,
    assertions,
    details: { measurements: summary(measurements), threshold: threshold.text },
  };
}

async function measure(plan: MetricsPlan, ctx: CheckContext, client: CloudWatchSender): Promise<Measurement> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const threshold = thresholdOf(plan.condition);
  const endTime = new Date();
  const startTime = new Date(endTime.getTime() - plan.windowSeconds * 1000);
  const subject = describeQuery(plan.judged);
  const window = `over the last ${plan.windowSeconds} s`;
  let result;
  try {
    result = await getMetricData(
      client,
      { queries: plan.queries.map((q) => toMetricDataQuery(q, q.id === plan.evaluate)), startTime, endTime },
      ctx,
    );
  } catch (err) {
    return { outcome: 'error', message: failureMessage(err), datapoints: 0, durationMs: elapsed() };
  }
  const series = result.series.get(plan.evaluate);
  const base = {
    startTime: startTime.toISOString(),
    endTime: endTime.toISOString(),
    pages: result.pages,
    ...(result.messages.length ? { messages: result.messages } : {}),
  };
  if (!series) {
    const why = result.messages.length ? `: ${result.messages.join('; ')}` : '';
    return {
      outcome: 'error',
      message: `GetMetricData returned no result for ${subject}${why}`,
      datapoints: 0,
      durationMs: elapsed(),
      details: base,
    };
  }
  if (series.statusCode === 'InternalError' || series.statusCode === 'Forbidden') {
    const why = series.messages.length ? `: ${series.messages.join('; ')}` : '';
    return {
      outcome: 'error',
      message: `GetMetricData could not evaluate ${subject} (${series.statusCode})${why}`,
      datapoints: series.points.length,
      durationMs: elapsed(),
      details: base,
    };
  }
  const points = series.points;
  const details = {
    ...base,
    datapoints: points
      .slice(-MAX_DETAIL_POINTS)
      .map((p) => ({ timestamp: p.timestamp.toISOString(), value: p.value })),
    ...(series.messages.length ? { seriesMessages: series.messages } : {}),
  };
  if (points.length < plan.minDatapoints) {
    const outcome: Outcome =
      plan.noData === 'pass' ? 'passed' : plan.noData === 'fail' ? 'failed' : 'inconclusive';
    const got = `${points.length} datapoint${points.length === 1 ? '' : 's'}`;
    return {
      outcome,
      message: `${subject} had ${got} ${window}, expected at least ${plan.minDatapoints} (noData: ${plan.noData})`,
      datapoints: points.length,
      durationMs: elapsed(),
      details,
    };
  }
  const value = aggregate(points, plan.condition.aggregate);
  const ok = meets(value, plan.condition);
  const message = `${plan.condition.aggregate} of ${subject} ${window} was ${formatNumber(value)}, expected ${threshold.text} (${points.length} datapoint${points.length === 1 ? '' : 's'})`;
  return {
    outcome: ok ? 'passed' : 'failed',
    message,
    value,
    datapoints: points.length,
    durationMs: elapsed(),
    details: { ...details, value },
  };
}

function describeQuery(query: MetricQuery): string {
  const name = query.label ? `${query.id} "${query.label}"` : query.id;
  if (query.expression) return `${name} (${query.expression})`;
  const m = query.metric!;
  const dims = Object.entries(m.dimensions ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${name} (${m.namespace} ${m.name}${dims ? ` {${dims}}` : ''} ${query.stat} per ${query.periodSeconds ?? DEFAULT_PERIOD_SECONDS} s)`;
}

function assertionOf(what: string, expected: string, m: Measurement): Assertion {
  const actual =
    m.value !== undefined ? m.value : m.outcome === 'error' ? m.message : `${m.datapoints} datapoints`;
  return { what, expected, actual, ok: m.outcome === 'passed' };
}

function summary(measurements: Measurement[]) {
  return measurements.map((m) => ({
    outcome: m.outcome,
    value: m.value,
    datapoints: m.datapoints,
    message: m.message,
  }));
}
