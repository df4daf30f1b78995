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

/** A readable one-liner for any thrown value, following `cause` chains once. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const own = err.message || err.name;
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    return cause && !own.includes(cause) ? `${own}: ${cause}` : own;
  }
  return String(err);
}
