import type { SNSClient } from '@aws-sdk/client-sns';
import type { NotifyTrigger, SnsChannelSettings } from '../../config/notify-schema';
import { errorMessage } from '../../lib/errors';
import { DeliveryError, type Channel } from './channel';
import type { GreenlightEvent } from './greenlight-event';

export type SnsSender = Pick<SNSClient, 'send'>;
let defaultClient: Promise<SnsSender> | undefined;

/** Created on first use, once per container; the endpoint follows `AWS_ENDPOINT_URL_SNS`. */
function defaultSnsClient(): Promise<SnsSender> {
  defaultClient ??= Promise.all([import('@aws-sdk/client-sns'), import('../../lib/aws')]).then(
    ([{ SNSClient }, { awsClientConfig }]) => new SNSClient(awsClientConfig()),
  );
  return defaultClient;
}

/** SNS subjects are ASCII without line breaks, under 100 characters (email subscribers see them). */
export function snsSubject(event: GreenlightEvent): string {
  const what = event.kind === 'approval-requested' ? 'approval requested' : event.status;
  const text = `greenlight ${what}: ${event.service} ${event.deployment.lifecycleEvent}`;
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 99);
}

/**
 * An SNS topic: the event as the JSON message, with `trigger`, `status`, `kind` and `service`
 * as message attributes for subscription filter policies. A FIFO topic gets the service as the
 * message group and the event id for de-duplication.
 */
export function snsChannel(
  settings: SnsChannelSettings,
  on: readonly NotifyTrigger[],
  client?: SnsSender,
): Channel {
  const label = `sns ${settings.topicArn}`;
  const fifo = settings.topicArn.endsWith('.fifo');
  return {
    type: 'sns',
    label,
    on,
    key: label,
    async send(event, signal) {
      const [{ PublishCommand }, sns] = await Promise.all([
        import('@aws-sdk/client-sns'),
        client ?? defaultSnsClient(),
      ]);
      const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
      try {
        await sns.send(
          new PublishCommand({
            TopicArn: settings.topicArn,
            Subject: snsSubject(event),
            Message: JSON.stringify(event),
            MessageAttributes: {
              kind: attribute(event.kind),
              trigger: attribute(event.trigger),
              status: attribute(event.status),
              service: attribute(event.service),
            },
            ...(fifo ? { MessageGroupId: event.service, MessageDeduplicationId: event.id } : {}),
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw new DeliveryError(`SNS Publish to ${settings.topicArn} failed: ${errorMessage(err)}`, {
          cause: err,
        });
      }
    },
  };
}
