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
  /**
   * `greenlight validate`'s look, before a deployment, at what this check will need: contracts
   * load, alarms exist. One line per thing looked at; a type with nothing to look at leaves it out.
   */
  preflight?(options: z.output<S>, ctx: PreflightContext): Promise<PreflightLine[]>;
}

/** One line of the pre-flight report; a `note` tells what validate cannot check itself. */
export interface PreflightLine {
  status: 'ok' | 'fail' | 'skip' | 'note';
  text: string;
}

/** What a pre-flight may use: the check's name, the targets as discovered, the caller's environment. */
export interface PreflightContext {
  /** The check's name (its key under `checks`). */
  name: string;
  targets: Readonly<Record<string, URL>>;
  env: NodeJS.ProcessEnv;
  /** A fresh signal and deadline for one step (a contract load, one CloudWatch question). */
  step(): { signal: AbortSignal; deadline: number };
}

export function defineCheckType<S extends z.ZodObject>(def: CheckType<S>): CheckType<S> {
  return def;
}
