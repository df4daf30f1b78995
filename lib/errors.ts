/** The configuration (file, options, contract) is wrong; the message names the path and what was expected. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** The lifecycle event payload is not one CodeDeploy sends; nothing can be reported for it. */
export class EventError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EventError';
  }
}

/** The verdict could not be delivered to CodeDeploy. */
export class ReportError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ReportError';
  }
}

/**
 * A readable one-liner for any thrown value, following `cause` once (unless `cause: false`).
 * Errors from another realm (Node internals seen from a VM context fail `instanceof Error`) and
 * other objects with a `message` read the same as errors.
 */
export function errorMessage(err: unknown, options: { cause?: boolean } = {}): string {
  if (!isErrorLike(err)) return String(err);
  const own = String(err.message ?? '') || String(err.name ?? 'error');
  if (options.cause === false) return own;
  const cause = isErrorLike(err.cause) ? String(err.cause.message ?? '') : undefined;
  return cause && !own.includes(cause) ? `${own}: ${cause}` : own;
}

/** Why `signal` fired, in words: its reason's message, else `fallback` (an abort without one). */
export function abortReasonText(signal: AbortSignal, fallback: string): string {
  return isErrorLike(signal.reason) ? String(signal.reason.message) : fallback;
}

function isErrorLike(value: unknown): value is { message?: unknown; name?: unknown; cause?: unknown } {
  return value !== null && typeof value === 'object' && 'message' in value;
}
