import { formatPath } from '../lib/config-issues';
import { ConfigError } from '../lib/errors';
import type { NotifySettings } from './notify-schema';
import { hostAllowed, type TenantRules } from './tenant-rules';

/**
 * Where a service's own `notify:` channels may send, when one platform hook serves many services.
 * A webhook is a POST from inside the VPC carrying the verdict's evidence, and an SNS topic or an
 * event bus may drive other systems: without these rules a service's config could aim the shared
 * hook at an internal host, or publish to another team's topic. The platform's own defaults
 * (`GREENLIGHT_NOTIFY`) are set by the platform team and not judged here.
 */
export const RULE_NOTIFY_ENDPOINTS = 'notification endpoints on the platform’s allow-list';
export const RULE_NOTIFY_DESTINATIONS = 'SNS topics and event buses the platform lists';

/** Slack's incoming webhooks live here; any other Slack-compatible host must be allow-listed. */
export const SLACK_WEBHOOK_HOST = 'hooks.slack.com';

function refused(source: string, path: PropertyKey[], rule: string, why: string): ConfigError {
  return new ConfigError(`${source}: ${formatPath(path)}: tenant rule "${rule}": ${why}`);
}

/** Whether `value` matches `pattern`, where `*` matches any characters (as IAM's resource patterns). */
function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(value);
}

/**
 * Whether a topic or bus given as a name or an ARN is on a list of names or ARNs: an ARN entry is
 * matched against the ARN, a name entry against the name (the stack's role then grants that name
 * in its own account and region only).
 */
function listed(value: string, entries: readonly string[], nameOf: (arn: string) => string): boolean {
  const isArn = value.startsWith('arn:');
  return entries.some((entry) =>
    entry.startsWith('arn:')
      ? isArn && globMatch(entry, value)
      : globMatch(entry, isArn ? nameOf(value) : value),
  );
}

const topicName = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);
const busName = (arn: string) => arn.slice(arn.indexOf(':event-bus/') + ':event-bus/'.length);

/**
 * Refuses a service's `notify:` channel that sends where the platform does not allow: Slack only to
 * `hooks.slack.com` or an allow-listed host, a webhook only to an allow-listed host, both over
 * https (plain http only to a host the allow-list names exactly, such as a local receiver), and
 * SNS topics and event buses only those the platform lists. Errors name the field and the rule,
 * and a URL by its host only: a webhook URL is a credential.
 */
export function checkTenantNotify(
  notify: NotifySettings | undefined,
  rules: TenantRules,
  source: string,
): void {
  if (!notify) return;
  const hosts = rules.notifyHosts ?? [];
  const hostList = `allowedNotifyHosts: ${hosts.length ? hosts.join(', ') : 'none'}`;
  const endpoint = (path: PropertyKey[], value: string, slack: boolean) => {
    const url = new URL(value);
    const host = url.hostname.toLowerCase();
    const onList = hostAllowed(host, hosts);
    if (!onList && !(slack && host === SLACK_WEBHOOK_HOST))
      throw refused(
        source,
        path,
        RULE_NOTIFY_ENDPOINTS,
        slack
          ? `a Slack webhook on ${host} is neither on ${SLACK_WEBHOOK_HOST} nor on the platform's notification allow-list (${hostList})`
          : `a webhook on ${host} is not on the platform's notification allow-list (${hostList})`,
      );
    const named = hosts.some((entry) => !entry.startsWith('*.') && hostAllowed(host, [entry]));
    if (url.protocol !== 'https:' && !named)
      throw refused(
        source,
        path,
        RULE_NOTIFY_ENDPOINTS,
        `plain ${url.protocol.replace(':', '')} to ${host} is allowed only to a host the platform's notification allow-list names exactly (${hostList}); use https`,
      );
  };
  notify.slack.forEach((channel, i) =>
    endpoint(['notify', 'slack', i, 'webhookUrl'], channel.webhookUrl, true),
  );
  notify.webhook.forEach((channel, i) => endpoint(['notify', 'webhook', i, 'url'], channel.url, false));

  const topics = rules.notifyTopics ?? [];
  notify.sns.forEach((channel, i) => {
    if (!listed(channel.topicArn, topics, topicName))
      throw refused(
        source,
        ['notify', 'sns', i, 'topicArn'],
        RULE_NOTIFY_DESTINATIONS,
        `topic ${channel.topicArn} is not one the platform lets ${rules.tenant} publish to (allowedNotifyTopics: ${topics.length ? topics.join(', ') : 'none'})`,
      );
  });
  const buses = rules.eventBuses ?? [];
  notify.eventbridge.forEach((channel, i) => {
    if (!listed(channel.eventBusName, buses, busName))
      throw refused(
        source,
        ['notify', 'eventbridge', i, 'eventBusName'],
        RULE_NOTIFY_DESTINATIONS,
        `event bus ${channel.eventBusName} is not one the platform lets ${rules.tenant} put events on (allowedEventBuses: ${buses.length ? buses.join(', ') : 'none'})`,
      );
  });
}
