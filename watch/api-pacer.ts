import { awsErrorName } from '../lib/aws';
import { errorMessage } from '../lib/errors';
import type { WatchClock } from './watch-clock';

/** Error names AWS services use when a caller goes too fast. */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
]);
/** After repeated throttling an API is asked at most every 8 intervals. */
export const MAX_BACKOFF_INTERVALS = 8;

export function isThrottling(err: unknown): boolean {
  return THROTTLING.has(awsErrorName(err) ?? '');
}

export type Paced<T> =
  | { ok: true; value: T }
  | { ok: false; skipped: true }
  | { ok: false; skipped: false; error: unknown; message: string; throttled: boolean };

interface ApiState {
  notBefore: number;
  backoff: number;
}

/**
 * Keeps the watch polite: each API (by name, e.g. `ecs:DescribeServices`) is called at most once
 * per interval, and an API that answers with throttling waits 2, 4, then 8 intervals before it is
 * asked again; one answer that is not throttling brings it back to every interval. The SDK
 * clients make one attempt per call, so this is the only retry loop.
 */
export class ApiPacer {
  private readonly apis = new Map<string, ApiState>();

  constructor(
    private readonly clock: WatchClock,
    private readonly intervalMs: number,
  ) {}

  /** Calls `fn` unless `api` was called less than an interval ago or is backing off. */
  async call<T>(api: string, fn: () => Promise<T>): Promise<Paced<T>> {
    const state = this.apis.get(api) ?? { notBefore: 0, backoff: 1 };
    this.apis.set(api, state);
    const now = this.clock.now();
    if (now < state.notBefore) return { ok: false, skipped: true };
    try {
      const value = await fn();
      state.backoff = 1;
      state.notBefore = now + this.intervalMs;
      return { ok: true, value };
    } catch (error) {
      const throttled = isThrottling(error);
      state.backoff = throttled ? Math.min(state.backoff * 2, MAX_BACKOFF_INTERVALS) : 1;
      state.notBefore = now + this.intervalMs * state.backoff;
      const name = awsErrorName(error);
      const message = errorMessage(error);
      return {
        ok: false,
        skipped: false,
        error,
        throttled,
        message: name && !message.includes(name) ? `${name}: ${message}` : message,
      };
    }
  }
}
