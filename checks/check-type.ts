import type { z } from 'zod';
import { ConfigError } from '../lib/errors';
import type { Check } from './types';

/** What a factory knows besides its options: where it sits in the config, what targets exist. */
export interface FactoryContext {
  /** The check's name (its key under `checks`). */
  name: string;
  /** Its config path, e.g. `checks.smoke`. */
  path: string;
  /** Names defined under `targets` (e.g. `test`, `prod`). */
  targets: readonly string[];
  /** A ConfigError for an option of this check: `fail('requests[1].target', 'unknown target "x"')`. */
  fail(subpath: string, message: string): ConfigError;
}

/**
 * A kind of check: its options schema (validated, with unknown keys rejected, when the config
 * loads) and the factory that builds a runnable check from valid options. Factories do only
 * cheap work (no I/O): they run at cold start and on every CLI start.
 */
export interface CheckType<S extends z.ZodObject = z.ZodObject> {
  type: string;
  /** One sentence for `greenlight` help and the JSON Schema description. */
  summary: string;
  options: S;
  create(options: z.output<S>, ctx: FactoryContext): Check;
}

export function defineCheckType<S extends z.ZodObject>(def: CheckType<S>): CheckType<S> {
  return def;
}
