import { registerObservedSecret, type SecretNames } from '../../lib/redact';
import type { Outcome } from '../types';
import type { HttpResponse, SendResult } from './client';
import { evaluateExpect } from './expect';
import { ParsedBody, clip } from './parsed-body';
import type { StepContext, StepResult } from './flow-types';
import { formatMs } from './format-ms';
import type { RequestStep } from './step';

/** One attempt's answer (or transport error) against the step's `expect`: the step's outcome, message and evidence. */
export function judge(
  step: RequestStep,
  index: number,
  label: string,
  method: string,
  url: string,
  sent: SendResult,
  sc: StepContext,
): StepResult {
  if (sent.error) {
    const error = sent.error;
    // A certificate the client does not trust, or an endless redirect, is how green answers: failed.
    const outcome: Outcome = error.kind === 'tls' || error.kind === 'redirects' ? 'failed' : 'error';
    const verb = error.kind === 'timeout' ? '' : 'failed: ';
    return {
      index,
      label,
      method,
      url,
      outcome,
      message: `${method} ${url} ${verb}${error.message}`,
      assertions: [
        { what: `${label} response`, expected: 'an HTTP response', actual: error.message, ok: false },
      ],
      attempts: 0,
      durationMs: sent.durationMs,
      error,
    };
  }
  const response = sent.response;
  registerSecretHeaderValues(response, sc.secretHeaders);
  const assertions = evaluateExpect(step.expect, new ParsedBody(response), sc.expectCtx);
  let message = `${method} ${url} returned ${response.status}`;
  let failures = 0;
  for (const a of assertions) {
    if (a.ok) continue;
    if (++failures === 1)
      message +=
        a.what === 'status'
          ? `, expected ${describeStatus(a.expected)}`
          : `, but ${a.what}: expected ${show(a.expected)}, got ${show(a.actual)}`;
  }
  // The assertions are fresh objects: label them in place.
  for (const a of assertions) a.what = `${label} ${a.what}`;
  let facts = formatMs(response.durationMs);
  if (response.redirects.length)
    facts += `, after ${response.redirects.length} redirect${response.redirects.length === 1 ? '' : 's'}`;
  if (response.truncated) facts += `, body truncated at ${sc.client.maxBodyBytes} bytes`;
  message += ` (${facts})`;
  if (failures > 1) message += `; +${failures - 1} more failed assertion${failures === 2 ? '' : 's'}`;
  return {
    index,
    label,
    method,
    url,
    outcome: failures ? 'failed' : 'passed',
    message,
    assertions,
    attempts: 0,
    durationMs: response.durationMs,
    status: response.status,
    truncated: response.truncated,
    bytesReceived: response.bodyBytes,
    redirects: response.redirects.length ? response.redirects : undefined,
    certificate: response.certificate,
    response,
  };
}

/**
 * An answer's secret headers (`x-debug-token`, `x-session-secret`) are redacted by name where
 * they are shown, and their values wherever else they turn up: in an excerpt of a body that
 * echoes them, or in a URL built from a capture. (The client registers cookie values itself.)
 */
function registerSecretHeaderValues(response: HttpResponse, secret: SecretNames): void {
  for (const name in response.headers) {
    if (name === 'set-cookie' || !secret.has(name)) continue;
    const value = response.headers[name]!;
    if (Array.isArray(value)) for (const each of value) registerObservedSecret(each);
    else registerObservedSecret(value);
  }
}

function describeStatus(expected: unknown): string {
  return Array.isArray(expected) ? `one of ${expected.join(', ')}` : String(expected);
}

function show(value: unknown): string {
  return clip(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)), 160);
}
