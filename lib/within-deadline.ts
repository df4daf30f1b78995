/** How {@link withinDeadline} stops waiting: a signal, a timeout, or both. */
export interface DeadlineOptions {
  /** Stop waiting when it fires (at once if it already has). */
  signal?: AbortSignal | undefined;
  /** Stop waiting after this long; the timer is cleared as soon as the race is over. */
  timeoutMs?: number | undefined;
  /** What the promise rejects with when the signal fires; by default the signal's reason. */
  abortError?: (reason: unknown) => unknown;
  /** What the promise rejects with at the timeout (run then, so it may also cancel the work). */
  timeoutError?: () => unknown;
  /** Run when the signal fires, before the rejection: to drop a connection, say. */
  onAbort?: () => void;
  /** Let the process exit while only the timer is left (a best-effort close, say). */
  unref?: boolean;
}

/**
 * `work`'s outcome, unless the signal fires or the timeout passes first: then it rejects at once,
 * without waiting for `work` (whose later rejection is then ignored). Listener and timer are
 * removed when the race is over, so a long-lived signal collects none. Every wait that must not
 * outlive a deadline goes through here.
 */
export function withinDeadline<T>(work: Promise<T>, options: DeadlineOptions): Promise<T> {
  const { signal, timeoutMs } = options;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const over = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
    };
    const abort = () => {
      over();
      options.onAbort?.();
      const reason: unknown = signal?.reason;
      reject(options.abortError ? options.abortError(reason) : (reason ?? new Error('aborted')));
    };
    if (signal?.aborted) {
      work.catch(() => {});
      abort();
      return;
    }
    signal?.addEventListener('abort', abort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => {
          over();
          reject(
            options.timeoutError ? options.timeoutError() : new Error(`timed out after ${timeoutMs} ms`),
          );
        },
        Math.max(0, timeoutMs),
      );
      if (options.unref) timer.unref();
    }
    work.then(
      (value) => {
        over();
        resolve(value);
      },
      (err: unknown) => {
        over();
        reject(err);
      },
    );
  });
}
