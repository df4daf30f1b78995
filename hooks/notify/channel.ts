import type { NotifyTrigger } from '../../config/notify-schema';
import type { GreenlightEvent } from './greenlight-event';

export type ChannelType = 'sns' | 'eventbridge' | 'slack' | 'webhook';

/**
 * One configured destination. `send` delivers the event once or throws, and stops when `signal`
 * fires; the dispatcher bounds it by the notification deadline whatever it does.
 */
export interface Channel {
  type: ChannelType;
  /** Names the destination in logs and metrics without its secret parts: `slack hooks.slack.com`. */
  label: string;
  /** The triggers this channel is sent. */
  on: readonly NotifyTrigger[];
  /** What makes two channels the same destination (holds secrets: never logged). */
  key: string;
  send(event: GreenlightEvent, signal: AbortSignal): Promise<void>;
}

/** A delivery the destination refused or that did not arrive; the message never holds a secret. */
export class DeliveryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeliveryError';
  }
}
