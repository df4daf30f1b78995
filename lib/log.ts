import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { redact, redactText } from './redact';

type Attributes = Record<string, unknown>;

/**
 * Structured JSON-line logging. Every message and attribute passes through `redact`, so header
 * values, passwords, tokens and cookies never reach the log, whichever code logs them.
 */
export interface Logger {
  debug(message: string, attributes?: Attributes): void;
  info(message: string, attributes?: Attributes): void;
  warn(message: string, attributes?: Attributes): void;
  error(message: string, attributes?: Attributes): void;
  /** A logger that adds these attributes to every line. */
  child(attributes: Attributes): Logger;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

let shared: PowertoolsLogger | undefined;

function powertools(): PowertoolsLogger {
  shared ??= new PowertoolsLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'greenlight' });
  return shared;
}

/** The Lambda logger: JSON lines on stdout/stderr (level from POWERTOOLS_LOG_LEVEL, default INFO). */
export function createLogger(base: Attributes = {}): Logger {
  const emit = (level: Level) => (message: string, attributes?: Attributes) => {
    powertools()[level](redactText(message), redact({ ...base, ...attributes }));
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (attributes) => createLogger({ ...base, ...attributes }),
  };
}

/** A logger that drops everything (for the CLI's quiet mode and for callers that log elsewhere). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
