import {
  DEFAULT_NOTIFY_TIMEOUT_MS,
  type NotifySettings,
  type NotifyTrigger,
} from '../../config/notify-schema';
import type { Channel } from './channel';
import { eventBridgeChannel, type EventBridgeSender } from './eventbridge';
import { slackChannel } from './slack';
import { snsChannel, type SnsSender } from './sns';
import { webhookChannel } from './webhook';

/** Clients for tests and callers that hold their own; by default each is created on first use. */
export interface NotifyClients {
  sns?: SnsSender;
  eventbridge?: EventBridgeSender;
}

/** One section's channels, each sent the triggers of its own `on`, else the section's. */
export function sectionChannels(section: NotifySettings, clients: NotifyClients = {}): Channel[] {
  const on = (own: readonly NotifyTrigger[] | undefined) => own ?? section.on;
  return [
    ...section.sns.map((s) => snsChannel(s, on(s.on), clients.sns)),
    ...section.eventbridge.map((s) => eventBridgeChannel(s, on(s.on), clients.eventbridge)),
    ...section.slack.map((s) => slackChannel(s, on(s.on))),
    ...section.webhook.map((s) => webhookChannel(s, on(s.on))),
  ];
}

/**
 * The platform's defaults and the service's `notify:` together: every channel of both, a
 * destination named in both sent once (with the triggers of both), and the shorter timeout.
 */
export function mergedChannels(
  sections: ReadonlyArray<NotifySettings | undefined>,
  clients: NotifyClients = {},
): { channels: Channel[]; timeoutMs: number } {
  const byKey = new Map<string, Channel>();
  let timeoutMs: number | undefined;
  for (const section of sections) {
    if (!section) continue;
    timeoutMs = Math.min(timeoutMs ?? Infinity, section.timeoutMs);
    for (const channel of sectionChannels(section, clients)) {
      const seen = byKey.get(channel.key);
      byKey.set(channel.key, seen ? { ...seen, on: [...new Set([...seen.on, ...channel.on])] } : channel);
    }
  }
  return { channels: [...byKey.values()], timeoutMs: timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS };
}
