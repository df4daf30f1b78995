import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export const AWS_MAX_ATTEMPTS = 5;
export const AWS_CONNECT_TIMEOUT_MS = 2_000;
export const AWS_REQUEST_TIMEOUT_MS = 4_000;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 2_000;

/** Exponential backoff with full jitter, capped so a few retries fit inside a hook's report reserve. */
export function backoffDelayMs(attempt: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Shared settings for every AWS SDK client greenlight creates: explicit connect and request
 * timeouts (the SDK has none by default, so a silent endpoint would hang a hook) and up to five
 * attempts for throttling, 5xx and network errors. Endpoints come from the SDK's own
 * configuration, including `AWS_ENDPOINT_URL_<SERVICE>`.
 */
export function awsClientConfig() {
  return {
    maxAttempts: AWS_MAX_ATTEMPTS,
    retryStrategy: new ConfiguredRetryStrategy(AWS_MAX_ATTEMPTS, backoffDelayMs),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: AWS_CONNECT_TIMEOUT_MS,
      requestTimeout: AWS_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    }),
  };
}

/** The AWS error name (`ThrottlingException`, `AccessDeniedException`, ...) of a thrown SDK error. */
export function awsErrorName(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'name' in err && typeof err.name === 'string'
    ? err.name
    : undefined;
}
