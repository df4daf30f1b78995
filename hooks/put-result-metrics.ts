import type { MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import type { Verdict } from '../checks/runner';
import {
  cloudWatchSdk,
  defaultCloudWatchClient,
  sendWithin,
  type CloudWatchSender,
} from '../checks/cloudwatch/client';
import {
  RESULT_METRICS_NAMESPACE,
  verdictMetricDocuments,
  type ResultMetricDimensions,
  type ResultMetricsOptions,
} from './result-metrics';

// Apart from result-metrics.ts, which the hooks load after every verdict: the CloudWatch client
// this needs then stays out of the bundles of hooks that never call CloudWatch.

/** PutMetricData takes at most 1,000 datapoints per call. */
const DATUMS_PER_CALL = 1_000;
const PUT_TIMEOUT_MS = 10_000;

/**
 * The same metrics through PutMetricData, for the CLI (which has no log group to extract EMF
 * from). Needs `cloudwatch:PutMetricData`; throws AwsCallError when the call fails.
 */
export async function putVerdictMetrics(
  verdict: Verdict,
  dimensions: ResultMetricDimensions,
  options: ResultMetricsOptions & {
    client?: CloudWatchSender;
    signal?: AbortSignal;
    timeoutMs?: number;
  } = {},
): Promise<void> {
  const { PutMetricDataCommand } = await cloudWatchSdk();
  const client = options.client ?? (await defaultCloudWatchClient());
  const data: MetricDatum[] = [];
  for (const doc of verdictMetricDocuments(verdict, dimensions, options)) {
    const [directive] = doc._aws.CloudWatchMetrics;
    const dims = directive!.Dimensions[0]!.map((name) => ({ Name: name, Value: String(doc[name]) }));
    for (const metric of directive!.Metrics) {
      data.push({
        MetricName: metric.Name,
        Dimensions: dims,
        Value: doc[metric.Name] as number,
        Unit: metric.Unit as StandardUnit,
        Timestamp: new Date(doc._aws.Timestamp),
      });
    }
  }
  const ctx = {
    signal: options.signal ?? new AbortController().signal,
    deadline: Date.now() + (options.timeoutMs ?? PUT_TIMEOUT_MS),
  };
  for (let i = 0; i < data.length; i += DATUMS_PER_CALL) {
    const batch = data.slice(i, i + DATUMS_PER_CALL);
    await sendWithin({ service: 'cloudwatch', operation: 'PutMetricData' }, ctx, (abortSignal) =>
      client.send(
        new PutMetricDataCommand({
          Namespace: options.namespace ?? RESULT_METRICS_NAMESPACE,
          MetricData: batch,
        }),
        { abortSignal },
      ),
    );
  }
}
