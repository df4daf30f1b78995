export const AWS_MAX_ATTEMPTS = 5;
export const AWS_CONNECT_TIMEOUT_MS = 2_000;
export const AWS_REQUEST_TIMEOUT_MS = 4_000;

/**
 * Shared settings for every AWS SDK client greenlight creates: explicit connect and request
 * timeouts (the SDK has none by default, so a silent endpoint would hang a hook) and up to five
 * attempts, with the SDK's standard backoff, for throttling, 5xx and network errors. Callers
 * still bound each call by their own deadline. The handler is given as options, so the client
 * builds it from the SDK it runs with (the Lambda runtime's). Endpoints come from the SDK's own
 * configuration, including `AWS_ENDPOINT_URL_<SERVICE>`.
 */
export function awsClientConfig() {
  return {
    maxAttempts: AWS_MAX_ATTEMPTS,
    retryMode: 'standard' as const,
    requestHandler: {
      connectionTimeout: AWS_CONNECT_TIMEOUT_MS,
      requestTimeout: AWS_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
}

/** The AWS error name (`ThrottlingException`, `AccessDeniedException`, ...) of a thrown SDK error. */
export function awsErrorName(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'name' in err && typeof err.name === 'string'
    ? err.name
    : undefined;
}

/** Environment variables from which the SDK's default chain can take credentials without a file lookup of its own. */
export const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
] as const;

/** Whether the SDK will find credentials in this environment (a variable, a profile, web identity or the container endpoint). */
export function hasAwsCredentials(env: NodeJS.ProcessEnv): boolean {
  return CREDENTIAL_VARIABLES.some((name) => !!env[name]);
}
