import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NotifyTrigger, WebhookChannelSettings } from '../../config/notify-schema';
import { registerSecret } from '../../lib/redact';
import type { Channel } from './channel';
import { postJson } from './post-json';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` */
export const SIGNATURE_HEADER = 'x-greenlight-signature';
/** How old a signature a receiver should accept, by default. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

/** The signature header's value for a body sent at `timestampSeconds`. */
export function webhookSignature(body: string, secret: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/**
 * What a receiver does with a delivery: recompute the HMAC over `<t>.<raw body>` with the shared
 * secret, compare in constant time, and refuse a timestamp further than `toleranceSeconds` from
 * now (a replayed delivery). Returns why it refuses, or undefined when the delivery is genuine.
 */
export function verifyWebhookSignature(
  body: string,
  header: string | undefined,
  secret: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): string | undefined {
  const parts = Object.fromEntries(
    (header ?? '').split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()];
    }),
  );
  const t = Number(parts.t);
  if (!Number.isInteger(t) || typeof parts.v1 !== 'string') return `no t=...,v1=... in ${SIGNATURE_HEADER}`;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs(now - t) > tolerance) return `signed ${now - t} s ago, more than the ${tolerance} s allowed`;
  const expected = Buffer.from(webhookSignature(body, secret, t).split('v1=')[1]!, 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return 'the signature does not match';
  return undefined;
}

/**
 * A generic webhook: the event as the JSON body, signed with HMAC-SHA256 in
 * `X-Greenlight-Signature`. URL and secret are registered as secrets; the label shows the host only.
 */
export function webhookChannel(
  settings: WebhookChannelSettings,
  on: readonly NotifyTrigger[],
  now: () => number = Date.now,
): Channel {
  registerSecret(settings.url);
  registerSecret(settings.secret);
  const label = `webhook ${new URL(settings.url).host}`;
  return {
    type: 'webhook',
    label,
    on,
    key: `webhook ${settings.url}`,
    send: (event, signal) => {
      const body = JSON.stringify(event);
      const headers = {
        [SIGNATURE_HEADER]: webhookSignature(body, settings.secret, Math.floor(now() / 1000)),
        'x-greenlight-event': event.kind,
        'x-greenlight-delivery': event.id,
      };
      return postJson(settings.url, body, { label, headers, signal });
    },
  };
}
