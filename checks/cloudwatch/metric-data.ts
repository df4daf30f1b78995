import type { MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { AwsCallError, cloudWatchSdk, sendWithin, type CloudWatchSender } from './client';
import type { CheckContext } from '../types';

/** GetMetricData stops a deployment check from paging forever on a server that never stops answering NextToken. */
export const MAX_METRIC_DATA_PAGES = 50;

const STATISTIC =
  /^(SampleCount|Average|Sum|Minimum|Maximum|IQM|p(\d{1,2}(\.\d{1,10})?|100)|(tm|tc|ts|wm)\d{1,2}(\.\d{1,10})?|(TM|TC|TS|WM|PR)\([^()]*\))$/;

/** A CloudWatch statistic: `Average`, `Sum`, `Maximum`, `p99`, `p99.9`, `tm90`, `TM(10%:90%)`, ... */
export const statisticSchema = z.string().regex(STATISTIC, {
  error:
    'expected a CloudWatch statistic: SampleCount, Average, Sum, Minimum, Maximum, IQM, pNN (e.g. p99), tmNN, tcNN, tsNN, wmNN or TM(a:b)',
});

/** CloudWatch periods: 1, 5, 10, 20 or 30 seconds (high resolution) or a multiple of 60. */
export const periodSchema = z
  .int()
  .min(1)
  .refine((p) => [1, 5, 10, 20, 30].includes(p) || p % 60 === 0, {
    error: 'expected 1, 5, 10, 20, 30 or a multiple of 60 seconds',
  });

/** One GetMetricData query: a metric with a statistic, or a metric math expression over other queries' ids. */
export const metricQuerySchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z][A-Za-z0-9_]{0,254}$/, {
        error: 'expected an id that starts with a lowercase letter, then letters, digits or _',
      })
      .describe('Names the query; metric math expressions refer to it.'),
    metric: z
      .strictObject({
        namespace: z.string().min(1).describe('e.g. AWS/ApplicationELB, AWS/ECS'),
        name: z.string().min(1).describe('e.g. HTTPCode_Target_5XX_Count, CPUUtilization'),
        dimensions: z
          .record(z.string().min(1), z.string().min(1))
          .refine((d) => Object.keys(d).length <= 30, { error: 'expected at most 30 dimensions' })
          .optional()
          .describe('Dimension name → value, e.g. { ServiceName: web, ClusterName: prod }.'),
      })
      .optional(),
    stat: statisticSchema
      .optional()
      .describe('The statistic of `metric` (required with it), e.g. Average, Sum, p99.'),
    periodSeconds: periodSchema.optional().describe('Datapoint period (default 60).'),
    unit: z.string().min(1).optional().describe('Only datapoints in this unit (rarely needed).'),
    expression: z
      .string()
      .min(1)
      .max(2048)
      .optional()
      .describe('Metric math over other query ids, e.g. `errors / requests * 100`.'),
    label: z.string().optional(),
  })
  .superRefine((query, issues) => {
    if ((query.metric === undefined) === (query.expression === undefined)) {
      issues.addIssue({
        code: 'custom',
        path: ['metric'],
        message: 'expected exactly one of metric or expression',
        input: query,
      });
    }
    if (query.metric && !query.stat)
      issues.addIssue({
        code: 'custom',
        path: ['stat'],
        message: 'expected a statistic for metric (e.g. Average, Sum, p99)',
        input: query.stat,
      });
    if (query.expression && query.stat)
      issues.addIssue({
        code: 'custom',
        path: ['stat'],
        message: 'a statistic applies to metric, not to expression',
        input: query.stat,
      });
    if (query.expression && query.unit)
      issues.addIssue({
        code: 'custom',
        path: ['unit'],
        message: 'a unit applies to metric, not to expression',
        input: query.unit,
      });
  });

/** A validated query from the config. */
export type MetricQuery = z.output<typeof metricQuerySchema>;

export const DEFAULT_PERIOD_SECONDS = 60;

/** The wire form of a configured query; only the queries the check judges return data. */
export function toMetricDataQuery(query: MetricQuery, returnData: boolean): MetricDataQuery {
  const out: MetricDataQuery = { Id: query.id, ReturnData: returnData };
  if (query.label !== undefined) out.Label = query.label;
  if (query.metric) {
    out.MetricStat = {
      Metric: {
        Namespace: query.metric.namespace,
        MetricName: query.metric.name,
        Dimensions: Object.entries(query.metric.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: query.periodSeconds ?? DEFAULT_PERIOD_SECONDS,
      Stat: query.stat!,
    };
    if (query.unit) out.MetricStat.Unit = query.unit as NonNullable<MetricDataQuery['MetricStat']>['Unit'];
  } else {
    out.Expression = query.expression!;
    if (query.periodSeconds !== undefined) out.Period = query.periodSeconds;
  }
  return out;
}

/** One datapoint. */
export interface MetricPoint {
  timestamp: Date;
  value: number;
}

/** A query's datapoints over every page, oldest first. */
export interface MetricSeries {
  id: string;
  label?: string;
  points: MetricPoint[];
  /** The last page's StatusCode: Complete, PartialData, InternalError or Forbidden. */
  statusCode?: string;
  messages: string[];
}

/** Every judged query's series, and what CloudWatch said about the request as a whole. */
export interface MetricDataResult {
  series: Map<string, MetricSeries>;
  pages: number;
  /** Top-level messages (e.g. a query that could not be evaluated). */
  messages: string[];
}

/**
 * GetMetricData over every page (a query's datapoints can span pages), merged per query id and
 * sorted oldest first. A bad status code is left for the caller to judge; a failed call throws
 * AwsCallError.
 */
export async function getMetricData(
  client: CloudWatchSender,
  request: { queries: MetricDataQuery[]; startTime: Date; endTime: Date },
  ctx: Pick<CheckContext, 'signal' | 'deadline'>,
): Promise<MetricDataResult> {
  const { GetMetricDataCommand } = await cloudWatchSdk();
  const series = new Map<string, MetricSeries>();
  const messages: string[] = [];
  const seenTokens = new Set<string>();
  let nextToken: string | undefined;
  let pages = 0;
  do {
    if (pages >= MAX_METRIC_DATA_PAGES) {
      throw new AwsCallError(
        `GetMetricData still had more pages after ${MAX_METRIC_DATA_PAGES}; narrow the window or the queries`,
      );
    }
    const token = nextToken;
    const output = await sendWithin(
      { service: 'cloudwatch', operation: 'GetMetricData' },
      ctx,
      (abortSignal) =>
        client.send(
          new GetMetricDataCommand({
            MetricDataQueries: request.queries,
            StartTime: request.startTime,
            EndTime: request.endTime,
            ScanBy: 'TimestampAscending',
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal },
        ),
    );
    pages++;
    for (const m of output.Messages ?? []) messages.push(`${m.Code ?? 'message'}: ${m.Value ?? ''}`.trim());
    for (const result of output.MetricDataResults ?? []) {
      const id = result.Id ?? '';
      let entry = series.get(id);
      if (!entry) {
        entry = { id, points: [], messages: [] };
        if (result.Label !== undefined) entry.label = result.Label;
        series.set(id, entry);
      }
      const timestamps = result.Timestamps ?? [];
      const values = result.Values ?? [];
      for (let i = 0; i < Math.min(timestamps.length, values.length); i++) {
        const value = values[i]!;
        if (Number.isFinite(value)) entry.points.push({ timestamp: timestamps[i]!, value });
      }
      if (result.StatusCode) entry.statusCode = result.StatusCode;
      for (const m of result.Messages ?? [])
        entry.messages.push(`${m.Code ?? 'message'}: ${m.Value ?? ''}`.trim());
    }
    nextToken = output.NextToken || undefined;
    if (nextToken) {
      if (seenTokens.has(nextToken))
        throw new AwsCallError('GetMetricData returned a NextToken it had already returned; stopped paging');
      seenTokens.add(nextToken);
    }
  } while (nextToken);
  for (const entry of series.values())
    entry.points.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
  return { series, pages, messages };
}
