import type { RetryPolicy } from './step';

/** Answers that say "try again later" rather than "this is wrong". */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

/** The least time worth starting another attempt with before the deadline. */
export const MIN_ATTEMPT_MS = 50;

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 3,
  backoffMs: 200,
  maxBackoffMs: 5_000,
  onMismatch: false,
};

/**
 * The delay before retry number `retry` (1 for the first retry): exponential from `backoffMs`,
 * capped at `maxBackoffMs`, with "equal jitter" (half fixed, half random) so a fleet of hooks
 * does not retry in step while keeping a floor.
 */
export function backoffDelay(
  policy: Pick<RetryPolicy, 'backoffMs' | 'maxBackoffMs'>,
  retry: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date), or undefined. */
export function retryAfterMs(
  header: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms`, or less if the signal fires (then resolves false). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** How many of a check's requests may need a retry before the check fails. */
export interface RetryBudget {
  /** Share of the requests, in percent. */
  percent: number;
  /** Requests that may need a retry whatever the share, so one blip in a short check passes. */
  minRetried: number;
}

/**
 * 20 % is the default of Envoy's and Finagle's retry budgets: enough for a flaky moment, while
 * a green that needs a retry for one request in five fails that often for its users too.
 */
export const DEFAULT_RETRY_BUDGET: RetryBudget = { percent: 20, minRetried: 1 };

/** The requests of one check and the retries they needed (readiness polls not counted). */
export class RetryTally {
  requests = 0;
  retried = 0;
  /** What came back before each retry, with how often: `503`, `ECONNRESET`, `timeout`. */
  readonly seen = new Map<string, number>();

  add(steps: ReadonlyArray<{ retriedAfter?: readonly string[] }>): void {
    for (const step of steps) {
      this.requests++;
      if (!step.retriedAfter?.length) continue;
      this.retried++;
      for (const cause of step.retriedAfter) this.seen.set(cause, (this.seen.get(cause) ?? 0) + 1);
    }
  }

  /** `503 ×4, ECONNRESET`: most frequent first. */
  describeSeen(): string {
    return [...this.seen]
      .sort((a, b) => b[1] - a[1])
      .map(([cause, n]) => (n > 1 ? `${cause} ×${n}` : cause))
      .join(', ');
  }
}

/** The most requests that may need a retry: the budget's share of them, and never fewer than its minimum. */
export function retryAllowance(budget: RetryBudget, requests: number): number {
  return Math.max(budget.minRetried, Math.floor((budget.percent / 100) * requests + 1e-9));
}
