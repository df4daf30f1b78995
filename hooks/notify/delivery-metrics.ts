import { redactText } from '../../lib/redact';
import { RESULT_METRICS_NAMESPACE } from '../result-metrics';
import type { ChannelType } from './channel';

/** How one delivery went. */
export interface DeliveryResult {
  /** The destination without its secret parts (`slack hooks.slack.com`, `sns arn:...`). */
  channel: string;
  type: ChannelType;
  outcome: 'sent' | 'failed';
  /** Why it failed. */
  reason?: string;
  durationMs: number;
}

/**
 * One embedded-metric-format document per delivery, dimensions [service, channel]:
 * `NotificationSent` and `NotificationFailed` (0 or 1, Count) and `NotificationDurationMs`.
 * An alarm on `Sum(NotificationFailed) > 0` shows a destination that stopped taking messages.
 */
export function deliveryMetricLines(
  results: readonly DeliveryResult[],
  context: { service: string; deploymentId?: string; trigger: string; timestamp?: number },
): string[] {
  const timestamp = context.timestamp ?? Date.now();
  return results.map((result) =>
    JSON.stringify({
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: RESULT_METRICS_NAMESPACE,
            Dimensions: [['service', 'channel']],
            Metrics: [
              { Name: 'NotificationSent', Unit: 'Count' },
              { Name: 'NotificationFailed', Unit: 'Count' },
              { Name: 'NotificationDurationMs', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      service: redactText(context.service),
      channel: result.type,
      destination: result.channel,
      trigger: context.trigger,
      ...(context.deploymentId ? { deploymentId: context.deploymentId } : {}),
      NotificationSent: result.outcome === 'sent' ? 1 : 0,
      NotificationFailed: result.outcome === 'failed' ? 1 : 0,
      NotificationDurationMs: result.durationMs,
    }),
  );
}
