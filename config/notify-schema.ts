import { z } from 'zod';

/**
 * When a notification is sent: a verdict that failed or succeeded, a deployment let through
 * without checks (`skipped`), a rollback the ECS hook recognised, or a manual approval that waits
 * for an answer (`approval-requested`).
 */
export const NOTIFY_TRIGGERS = ['failed', 'succeeded', 'skipped', 'rollback', 'approval-requested'] as const;
export type NotifyTrigger = (typeof NOTIFY_TRIGGERS)[number];

/** Only failures by default; an approval request is sent only where a manual approval is configured. */
export const DEFAULT_NOTIFY_ON: readonly NotifyTrigger[] = ['failed', 'approval-requested'];
/** How long every channel together may take, inside the report reserve. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 5_000;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** An https URL (plain http only to a loopback address, for a local receiver). */
function webhookUrl(what: string) {
  return z.string().refine(
    (value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
      } catch {
        return false;
      }
    },
    { error: `expected the ${what} as an https URL (http only to a loopback address)` },
  );
}

const on = z
  .array(z.enum(NOTIFY_TRIGGERS))
  .min(1)
  .optional()
  .describe(
    `When this channel is sent to (default: the section's \`on\`): any of ${NOTIFY_TRIGGERS.join(', ')}.`,
  );

const snsChannel = z.strictObject({
  topicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, {
      error: 'expected an SNS topic ARN, e.g. arn:aws:sns:eu-west-1:123456789012:deployments',
    })
    .describe('The topic published to (needs sns:Publish on it).'),
  on,
});

const eventBridgeChannel = z.strictObject({
  eventBusName: z
    .string()
    .regex(/^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[A-Za-z0-9._\-/]{1,256}$/, {
      error: 'expected an event bus name or ARN',
    })
    .default('default')
    .describe('The event bus, by name or ARN (default: the account’s default bus).'),
  source: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,256}$/, { error: 'expected a source of letters, digits, ".", "_" and "-"' })
    .refine((value) => !value.startsWith('aws.'), { error: 'a source may not start with "aws."' })
    .default('greenlight')
    .describe('The event’s `source` (default `greenlight`).'),
  on,
});

const slackChannel = z.strictObject({
  webhookUrl: webhookUrl('Slack incoming webhook URL').describe(
    'The incoming webhook URL: a secret, best given as ${secretsmanager:...}; never logged.',
  ),
  on,
});

const webhookChannel = z.strictObject({
  url: webhookUrl('webhook URL').describe(
    'Where the event is POSTed as JSON; treated as a secret and never logged.',
  ),
  secret: z
    .string()
    .min(16, { error: 'expected a signing secret of at least 16 characters' })
    .describe(
      'The HMAC-SHA256 key of the X-Greenlight-Signature header, best given as ${secretsmanager:...}.',
    ),
  on,
});

/** The `notify:` section of greenlight.yml (and of the platform defaults in `GREENLIGHT_NOTIFY`). */
export const notifySchema = z
  .strictObject({
    on: z
      .array(z.enum(NOTIFY_TRIGGERS))
      .min(1)
      .default([...DEFAULT_NOTIFY_ON])
      .describe(
        `When to notify: any of ${NOTIFY_TRIGGERS.join(', ')} (default: failed, approval-requested).`,
      ),
    timeoutMs: z
      .int()
      .min(100)
      .max(60_000)
      .default(DEFAULT_NOTIFY_TIMEOUT_MS)
      .describe('How long all deliveries together may take; never more than the report reserve.'),
    sns: z.array(snsChannel).default([]).describe('SNS topics to publish the event to.'),
    eventbridge: z.array(eventBridgeChannel).default([]).describe('Event buses to put the event on.'),
    slack: z.array(slackChannel).default([]).describe('Slack incoming webhooks.'),
    webhook: z.array(webhookChannel).default([]).describe('Generic webhooks, signed with HMAC-SHA256.'),
  })
  .describe('Where verdicts are sent besides CodeDeploy or ECS.');

export type NotifySettings = z.output<typeof notifySchema>;
export type SnsChannelSettings = z.output<typeof snsChannel>;
export type EventBridgeChannelSettings = z.output<typeof eventBridgeChannel>;
export type SlackChannelSettings = z.output<typeof slackChannel>;
export type WebhookChannelSettings = z.output<typeof webhookChannel>;
