import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as the watch sees it. The real one sleeps; tests give one whose `sleep` moves time on at
 * once (and lets the test change the world in between), so an hour of polling runs in milliseconds.
 */
export interface WatchClock {
  /** epoch ms */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: WatchClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined),
};
