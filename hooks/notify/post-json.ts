import { redactBodyText } from '../../lib/redact';
import { errorMessage } from '../../lib/errors';
import { DeliveryError } from './channel';

const MAX_ANSWER_CHARS = 200;
/** The most of an answer read: enough for its start in an error, never a hostile endpoint's whole stream. */
const MAX_ANSWER_BYTES = 4_096;

/** The first bytes of an answer as text; the rest is not read. */
async function answerStart(answer: Response): Promise<string> {
  if (!answer.body) return '';
  const reader = answer.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // The status decides; an answer cut short says nothing more.
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8');
}

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
  let answer;
  try {
    // Node's own fetch (undici inside Node): TLS verified, connections kept for a warm container,
    // and nothing of undici in the bundle for a hook whose checks make no HTTP request.
    answer = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
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
  const text = await answerStart(answer);
  if (answer.status < 200 || answer.status > 299) {
    const excerpt = redactBodyText(text.replace(/\s+/g, ' ').trim()).slice(0, MAX_ANSWER_CHARS);
    throw new DeliveryError(
      `${options.label} answered ${answer.status}${excerpt ? `: ${excerpt}` : ''}, expected 2xx`,
    );
  }
}
