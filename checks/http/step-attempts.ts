import type { Logger } from '../../lib/log';
import { redactText } from '../../lib/redact';
import { capture } from './captures';
import type { PreparedRequest } from './client';
import type { StepContext, StepResult } from './flow-types';
import { formatMs } from './format-ms';
import { judge } from './judge';
import { displayPath, prepareRequest } from './prepare-request';
import { MIN_ATTEMPT_MS, TRANSIENT_STATUSES, backoffDelay, retryAfterMs, sleep } from './retry';
import type { RequestStep, RetryPolicy } from './step';

/**
 * One step until it passes or may not try again: a transient failure (refused or reset
 * connection, timeout, 408/429/502/503/504) is retried with backoff or after Retry-After, a
 * mismatch only with `retry.onMismatch`, and the first step of a flow with a readiness wait is
 * polled until it passes or the wait is over. No attempt starts that could not end by the deadline.
 */
export async function executeStep(step: RequestStep, index: number, sc: StepContext): Promise<StepResult> {
  const { options, client } = sc;
  const method = step.method;
  let prepared: PreparedRequest;
  try {
    prepared = prepareRequest(step, sc);
  } catch (err) {
    const label = step.name ?? `${method} ${step.path ?? step.url ?? '/'}`;
    const message = redactText(`${label}: ${(err as Error).message}`);
    return {
      index,
      label,
      method,
      url: step.url ?? step.path ?? '/',
      outcome: 'error',
      message,
      assertions: [],
      attempts: 0,
      durationMs: 0,
    };
  }
  const url = prepared.url.href;
  const label = step.name ?? `${method} ${displayPath(prepared.url)}`;
  const policy: RetryPolicy = step.retry ? { ...client.retry, ...step.retry } : client.retry;
  const started = Date.now();
  const readinessEnd = sc.readiness ? Math.min(options.deadline, started + sc.readiness.budgetMs) : undefined;
  const timeoutMs = prepared.timeoutMs;
  const sendOptions = { signal: sc.signal, jar: sc.jar };
  let attempts = 0;
  let last: StepResult | undefined;
  let note = '';
  const retriedAfter: string[] = [];

  for (;;) {
    attempts++;
    prepared.timeoutMs = Math.max(1, Math.min(timeoutMs, options.deadline - Date.now()));
    const sent = await sc.http.send(prepared, sendOptions);
    last = judge(step, index, label, method, url, sent, sc);
    if (options.log) logAttempt(options.log, last, attempts);
    if (last.outcome === 'passed' || sc.signal.aborted || last.error?.kind === 'aborted') break;

    const transient = last.error
      ? last.error.transient
      : last.status !== undefined && TRANSIENT_STATUSES.has(last.status);
    const retryable = readinessEnd !== undefined || transient || policy.onMismatch;
    if (!retryable) break;
    if (readinessEnd === undefined && attempts >= policy.attempts) break;

    const endBy = readinessEnd ?? options.deadline;
    const asked =
      last.status === 429 || last.status === 503
        ? retryAfterMs(last.response?.headers['retry-after'])
        : undefined;
    const delay =
      asked ??
      (readinessEnd !== undefined
        ? Math.round(sc.readiness!.intervalMs * (0.9 + Math.random() * 0.2))
        : backoffDelay(policy, attempts));
    if (Date.now() + delay + MIN_ATTEMPT_MS > endBy) {
      note =
        asked !== undefined
          ? `Retry-After asked for ${formatMs(asked)}, past the deadline`
          : readinessEnd !== undefined
            ? `not ready within ${formatMs(sc.readiness!.budgetMs)}`
            : 'no time left for another attempt';
      break;
    }
    options.log?.info('http retry', {
      request: label,
      url,
      attempt: attempts,
      delayMs: delay,
      reason: last.error?.message ?? `status ${last.status}`,
    });
    if (!(await sleep(delay, sc.signal))) break;
    // Polls while waiting for readiness are expected to fail: only real retries count against the budget.
    if (readinessEnd === undefined)
      retriedAfter.push(
        last.status !== undefined ? String(last.status) : (last.error?.code ?? last.error?.kind ?? 'failure'),
      );
  }

  const result = last!;
  result.attempts = attempts;
  if (retriedAfter.length) result.retriedAfter = retriedAfter;
  if (attempts > 1 || note) {
    const extras: string[] = [];
    if (attempts > 1)
      extras.push(
        `${attempts} attempts${readinessEnd !== undefined ? ` over ${formatMs(Date.now() - started)}` : ''}`,
      );
    if (note) extras.push(note);
    result.message += ` [${extras.join('; ')}]`;
  }
  if (result.outcome === 'passed' && step.captures) capture(step.captures, result, sc);
  // Bodies are up to maxBodyBytes each: most callers only need the facts judge() copied out.
  // (Assigned, not deleted: a delete would turn the result into a slow dictionary object.)
  if (options.keepResponses === false) result.response = undefined;
  return result;
}

function logAttempt(log: Logger, result: StepResult, attempt: number): void {
  const attributes: Record<string, unknown> = {
    request: result.label,
    method: result.method,
    url: result.url,
    attempt,
    outcome: result.outcome,
    durationMs: result.durationMs,
  };
  if (result.status !== undefined) attributes.status = result.status;
  if (result.error) attributes.error = result.error.message;
  log.debug('http request', attributes);
}
