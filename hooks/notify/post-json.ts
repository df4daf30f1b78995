import type { Dispatcher } from 'undici';
import { Agent } from '../../checks/http/undici-parts';
import { redactBodyText } from '../../lib/redact';
import { errorMessage } from '../../lib/errors';
import { DeliveryError } from './channel';

/**
 * undici's `request` on its own: the raw Agent lacks the API methods undici's index adds, and the
 * index would load fetch and the rest (see checks/http/undici-parts.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const request = require('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/** Kept open between invocations of a warm container; TLS verification on, redirects not followed. */
let agent: InstanceType<typeof Agent> | undefined;
const MAX_ANSWER_CHARS = 200;

/**
 * POSTs a JSON body to a webhook and reads the answer; anything but 2xx is a DeliveryError
 * naming the status and the start of the answer. `label` names the destination in errors: the
 * URL itself is a secret (a Slack webhook's path is its credential) and never appears.
 */
export async function postJson(
  url: string,
  body: string,
  options: { label: string; headers?: Record<string, string>; signal: AbortSignal },
): Promise<void> {
  agent ??= new Agent({ keepAliveTimeout: 10_000 });
  const target = new URL(url);
  let answer;
  try {
    answer = await request.call(agent, {
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'greenlight',
        ...options.headers,
      },
      body,
      signal: options.signal,
    });
  } catch (err) {
    throw new DeliveryError(`POST to ${options.label} failed: ${errorMessage(err)}`, { cause: err });
  }
  let text = '';
  try {
    text = await answer.body.text();
  } catch {
    // The status decides; an answer cut short says nothing more.
  }
  if (answer.statusCode < 200 || answer.statusCode > 299) {
    const excerpt = redactBodyText(text.replace(/\s+/g, ' ').trim()).slice(0, MAX_ANSWER_CHARS);
    throw new DeliveryError(
      `${options.label} answered ${answer.statusCode}${excerpt ? `: ${excerpt}` : ''}, expected 2xx`,
    );
  }
}
