import type { AwsCall, AwsJsonServer } from '../support/aws-json-server';

/** Datapoints as `[ISO timestamp, value]`. */
export type Points = Array<[string, number]>;

interface WireQuery {
  Id: string;
  ReturnData?: boolean;
  Expression?: string;
  MetricStat?: {
    Metric: { MetricName: string; Dimensions?: Array<{ Name: string; Value: string }> };
    Stat: string;
    Period: number;
  };
}

/**
 * A GetMetricData that answers from a table of series, keyed by `MetricName` or by
 * `MetricName|Stat|Dim=Value,...` for a more specific match. Metric math over query ids is
 * computed point by point (ids, numbers, + - * / and parentheses), as CloudWatch would; only
 * queries with ReturnData come back; `pageSize` datapoints per result per page, with NextToken.
 */
export function serveMetricData(
  server: AwsJsonServer,
  table: Record<string, Points>,
  options: { pageSize?: number } = {},
): void {
  server.on('GetMetricData', (call: AwsCall) => {
    const queries = call.body.MetricDataQueries as WireQuery[];
    const page = call.body.NextToken ? Number(call.body.NextToken) : 0;
    const values = new Map<string, Map<number, number>>();
    for (const q of queries.filter((q) => q.MetricStat)) {
      const stat = q.MetricStat!;
      const dims = (stat.Metric.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).join(',');
      const points =
        table[`${stat.Metric.MetricName}|${stat.Stat}|${dims}`] ?? table[stat.Metric.MetricName] ?? [];
      values.set(q.Id, new Map(points.map(([t, v]) => [Date.parse(t) / 1000, v])));
    }
    for (const q of queries.filter((q) => q.Expression)) {
      const ids = [...new Set(q.Expression!.match(/[a-z][A-Za-z0-9_]*/g) ?? [])];
      if (!/^[A-Za-z0-9_+\-*/(). ]+$/.test(q.Expression!))
        throw new Error(`unsupported expression ${q.Expression}`);
      const evaluate = new Function(...ids, `return ${q.Expression};`) as (...args: number[]) => number;
      const times = [...(values.get(ids[0]!)?.keys() ?? [])].filter((t) =>
        ids.every((id) => values.get(id)?.has(t)),
      );
      values.set(q.Id, new Map(times.map((t) => [t, evaluate(...ids.map((id) => values.get(id)!.get(t)!))])));
    }
    const size = options.pageSize ?? Number.MAX_SAFE_INTEGER;
    let more = false;
    const MetricDataResults = queries
      .filter((q) => q.ReturnData !== false)
      .map((q) => {
        const all = [...(values.get(q.Id) ?? new Map()).entries()].sort((a, b) => a[0] - b[0]);
        const slice = all.slice(page * size, (page + 1) * size);
        if ((page + 1) * size < all.length) more = true;
        return {
          Id: q.Id,
          Label: q.Id,
          Timestamps: slice.map(([t]) => t),
          Values: slice.map(([, v]) => v),
          StatusCode: 'Complete',
        };
      });
    if (more) for (const r of MetricDataResults) r.StatusCode = 'PartialData';
    return { body: { MetricDataResults, Messages: [], ...(more ? { NextToken: String(page + 1) } : {}) } };
  });
}

/** `count` datapoints a minute apart ending now, with these values (oldest first). */
export function recent(...values: number[]): Points {
  const now = Math.floor(Date.now() / 60_000) * 60_000;
  return values.map((v, i) => [new Date(now - (values.length - 1 - i) * 60_000).toISOString(), v]);
}
