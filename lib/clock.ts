import { setTimeout as sleepReal } from 'node:timers/promises';

/**
 * The time a bake window and an approval wait are scheduled in. The system clock in production;
 * a fake one in tests; a faster one (`GREENLIGHT_CLOCK_SCALE`) for rehearsals, so that a
 * 30-minute window runs in 30 seconds. Check deadlines and the Lambda's remaining time stay real.
 */
export interface Clock {
  /** Epoch milliseconds, in this clock's time. */
  now(): number;
  /** Waits `ms` of this clock's time; rejects when `signal` fires. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Real milliseconds that `ms` of this clock's time take. */
  toRealMs(ms: number): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepReal(Math.max(0, ms), undefined, signal ? { signal } : {}),
  toRealMs: (ms) => ms,
};

/**
 * A clock running `scale` times faster than real time from `anchorMs` (a real epoch time every
 * process of one rehearsal shares, so that separate invocations agree on the time).
 */
export function scaledClock(scale: number, anchorMs: number): Clock {
  return {
    now: () => anchorMs + (Date.now() - anchorMs) * scale,
    sleep: (ms, signal) => sleepReal(Math.max(0, ms / scale), undefined, signal ? { signal } : {}),
    toRealMs: (ms) => ms / scale,
  };
}

/**
 * `GREENLIGHT_CLOCK_SCALE` (a factor above 1) with `GREENLIGHT_CLOCK_ANCHOR_MS` (default 0), else
 * the system clock. Meant for rehearsals and tests of long windows, never for a real deployment.
 */
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): Clock {
  const scale = Number(env.GREENLIGHT_CLOCK_SCALE);
  if (!Number.isFinite(scale) || scale <= 1) return systemClock;
  const anchor = Number(env.GREENLIGHT_CLOCK_ANCHOR_MS ?? 0);
  return scaledClock(scale, Number.isFinite(anchor) ? anchor : 0);
}
