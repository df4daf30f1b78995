import { AsyncLocalStorage } from 'node:async_hooks';
import type { FinalizeHandler } from '@smithy/types';
import { awsErrorName } from './aws';

/** The failed attempts of the call in progress, which the SDK retries out of sight. */
export interface AttemptErrors {
  count: number;
  last?: unknown;
}

const attemptErrors = new AsyncLocalStorage<AttemptErrors>();

/** Any SDK v3 client: what the recorder needs of it. */
type ClientStack = {
  middlewareStack: {
    addRelativeTo(
      middleware: never,
      options: { relation: 'after'; toMiddleware: string; name: string },
    ): void;
  };
};

/**
 * Notes every failed attempt inside the client's retries, so a call cut short by the deadline
 * can still say what AWS answered (`Throttling`, a 5xx) instead of only that time ran out.
 */
export function recordAttemptErrors(client: ClientStack): void {
  const middleware =
    <Output extends object>(next: FinalizeHandler<object, Output>): FinalizeHandler<object, Output> =>
    async (args) => {
      try {
        return await next(args);
      } catch (err) {
        const seen = attemptErrors.getStore();
        if (seen && awsErrorName(err) !== 'AbortError') {
          seen.count++;
          seen.last = err;
        }
        throw err;
      }
    };
  client.middlewareStack.addRelativeTo(middleware as never, {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: 'greenlightAttemptErrors',
  });
}

/** Runs `call` so that the attempts a recording client makes inside it are noted in `seen`. */
export function withAttemptErrors<T>(seen: AttemptErrors, call: () => Promise<T>): Promise<T> {
  return attemptErrors.run(seen, call);
}
