import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { redact, redactText } from './redact';

/**
 * Keys the Powertools logger fills itself and drops from the attributes it is given (with a
 * warning line of its own): an attribute under one of these names would never reach the log.
 */
export const RESERVED_LOG_KEYS = ['level', 'message', 'sampling_rate', 'service', 'timestamp'] as const;
export type ReservedLogKey = (typeof RESERVED_LOG_KEYS)[number];

/** Attributes of a log line: any key but the reserved ones, which the compiler refuses. */
export type Attributes = Record<string, unknown> & { [K in ReservedLogKey]?: never };

const RESERVED: ReadonlySet<string> = new Set(RESERVED_LOG_KEYS);

/**
 * What reaches Powertools: a reserved key that got past the types (an object built at run time)
 * is kept under `<key>Attribute` instead of being dropped.
 */
function renameReserved(attributes: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(attributes).some((key) => RESERVED.has(key))) return attributes;
  return Object.fromEntries(
    Object.entries(attributes).map(([key, value]) => [RESERVED.has(key) ? `${key}Attribute` : key, value]),
  );
}

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
    powertools()[level](redactText(message), redact(renameReserved({ ...base, ...attributes })));
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
