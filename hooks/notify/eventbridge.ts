import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { EventBridgeChannelSettings, NotifyTrigger } from '../../config/notify-schema';
import { errorMessage } from '../../lib/errors';
import { DeliveryError, type Channel } from './channel';
import type { GreenlightEventKind } from './greenlight-event';

export type EventBridgeSender = Pick<EventBridgeClient, 'send'>;
let defaultClient: Promise<EventBridgeSender> | undefined;

/** The `detail-type` of each kind of event; rules match on it (and on `source`). */
export const DETAIL_TYPES: Record<GreenlightEventKind, string> = {
  verdict: 'greenlight verdict',
  'approval-requested': 'greenlight approval requested',
};

/** Created on first use, once per container; the endpoint follows `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
function defaultEventBridgeClient(): Promise<EventBridgeSender> {
  defaultClient ??= Promise.all([import('@aws-sdk/client-eventbridge'), import('../../lib/aws')]).then(
    ([{ EventBridgeClient }, { awsClientConfig }]) => new EventBridgeClient(awsClientConfig()),
  );
  return defaultClient;
}

/**
 * An event bus: one PutEvents entry whose `detail` is the event (greenlight-event.schema.json).
 * PutEvents answers 200 with a failed entry when the bus refuses it: that is a failed delivery too.
 */
export function eventBridgeChannel(
  settings: EventBridgeChannelSettings,
  on: readonly NotifyTrigger[],
  client?: EventBridgeSender,
): Channel {
  const label = `eventbridge ${settings.eventBusName}`;
  return {
    type: 'eventbridge',
    label,
    on,
    key: `${label} ${settings.source}`,
    async send(event, signal) {
      const [{ PutEventsCommand }, events] = await Promise.all([
        import('@aws-sdk/client-eventbridge'),
        client ?? defaultEventBridgeClient(),
      ]);
      let out;
      try {
        out = await events.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: settings.eventBusName,
                Source: settings.source,
                DetailType: DETAIL_TYPES[event.kind],
                Detail: JSON.stringify(event),
                Time: new Date(event.time),
              },
            ],
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw new DeliveryError(
          `EventBridge PutEvents to ${settings.eventBusName} failed: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      const entry = out.Entries?.[0];
      if ((out.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) {
        throw new DeliveryError(
          `EventBridge refused the event on ${settings.eventBusName}: ${entry?.ErrorCode ?? 'failed entry'}${
            entry?.ErrorMessage ? ` (${entry.ErrorMessage})` : ''
          }`,
        );
      }
    },
  };
}
