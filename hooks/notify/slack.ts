import type { SlackChannelSettings, NotifyTrigger } from '../../config/notify-schema';
import { registerSecret } from '../../lib/redact';
import type { Channel } from './channel';
import type { EventCheck, GreenlightEvent } from './greenlight-event';
import { postJson } from './post-json';

/** Slack shows at most 3,000 characters in a section's text. */
const MAX_SECTION_CHARS = 2_900;

const TRIGGER_MARK: Record<NotifyTrigger, string> = {
  failed: ':red_circle:',
  succeeded: ':large_green_circle:',
  skipped: ':warning:',
  rollback: ':leftwards_arrow_with_hook:',
  'approval-requested': ':raised_hand:',
};

const OUTCOME_MARK: Record<EventCheck['outcome'], string> = {
  passed: ':white_check_mark:',
  failed: ':x:',
  error: ':exclamation:',
  inconclusive: ':grey_question:',
};

/** Slack's mrkdwn reserves `&`, `<` and `>`. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function within(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function headline(event: GreenlightEvent): string {
  const what = event.kind === 'approval-requested' ? 'approval requested' : event.trigger;
  return `greenlight ${what}: ${event.service} ${event.deployment.lifecycleEvent}${
    event.deployment.id ? ` (${event.deployment.id})` : ''
  }`;
}

function checkLine(check: EventCheck): string {
  const failing = check.firstFailingAssertion;
  const evidence = failing ? ` — ${failing.what}: expected ${failing.expected}, got ${failing.actual}` : '';
  return `${OUTCOME_MARK[check.outcome]} *${escapeMrkdwn(check.name)}* (${check.type}${
    check.advisory ? ', advisory' : ''
  }) ${check.outcome}: ${escapeMrkdwn(check.message + evidence)}`;
}

/** The message an incoming webhook takes: `text` for notifications and fallbacks, `blocks` to show. */
export function slackMessage(event: GreenlightEvent): { text: string; blocks: unknown[] } {
  const title = headline(event);
  const summary = `${TRIGGER_MARK[event.trigger]} *${escapeMrkdwn(title)}*\n*${event.status}*: ${escapeMrkdwn(event.reason)}`;
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: within(summary, MAX_SECTION_CHARS) } },
  ];
  if (event.checks.length) {
    const lines = event.checks.map(checkLine);
    if (event.checksOmitted) lines.push(`…and ${event.checksOmitted} more`);
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: within(lines.join('\n'), MAX_SECTION_CHARS) },
    });
  }
  const links = [
    event.links.console ? `<${event.links.console}|Console>` : undefined,
    event.links.logsInsights ? `<${event.links.logsInsights.url}|Hook logs (Logs Insights)>` : undefined,
  ].filter((l): l is string => !!l);
  if (links.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: links.join(' · ') }] });
  return { text: `${title}: ${event.status}, ${event.reason}`, blocks };
}

/** A Slack incoming webhook. Its URL is the credential: registered as a secret, shown by host only. */
export function slackChannel(settings: SlackChannelSettings, on: readonly NotifyTrigger[]): Channel {
  registerSecret(settings.webhookUrl);
  const label = `slack ${new URL(settings.webhookUrl).host}`;
  return {
    type: 'slack',
    label,
    on,
    key: `slack ${settings.webhookUrl}`,
    send: (event, signal) =>
      postJson(settings.webhookUrl, JSON.stringify(slackMessage(event)), { label, signal }),
  };
}
