import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { CheckType, FactoryContext, PreflightContext, PreflightLine } from '../checks/check-type';
import { builtinCheckTypes, omittedCheckTypeReasons, omittedCheckTypes } from '../checks/registry';
import type { PlannedCheck } from '../checks/runner';
import type { LifecycleEvent } from '../checks/types';
import { COMMON_CHECK_KEYS, configSchema, type GreenlightConfig, type RunnerSettings } from './config-schema';
import { formatIssue, formatPath, issueMessages } from '../lib/config-issues';
import { ConfigError, errorMessage } from '../lib/errors';
import { configDocument } from './config-text';
import { envResolver, interpolate, type Resolver } from './interpolate';
import { omittedCheckError, omittedChecks, withoutChecks } from './omitted-checks';
import { WINDOW_CHECK_TYPES } from '../checks/window';

export interface LoadOptions {
  /** Shown in errors, e.g. the file path. */
  source?: string;
  env?: NodeJS.ProcessEnv;
  checkTypes?: readonly CheckType[];
  /** Extra `${provider:...}` resolvers besides `env`. */
  resolvers?: Readonly<Record<string, Resolver>>;
}

/** A validated configuration with its checks built, ready to run any lifecycle event. */
export interface LoadedConfig {
  source: string;
  config: GreenlightConfig;
  targets: Readonly<Record<string, URL>>;
  runner: RunnerSettings;
  /**
   * The checks configured for a lifecycle event, in order (empty when none). Throws ConfigError
   * when one of them is of a type this bundle left out (see omitted-checks.ts).
   */
  plan(event: LifecycleEvent | string): PlannedCheck[];
  /** `greenlight validate`'s look at each check whose type has one, in config order. */
  preflights: Array<{
    name: string;
    run(ctx: Omit<PreflightContext, 'name'>): Promise<PreflightLine[]>;
  }>;
}

/** A check's name and the pre-flight its type brings, if any. */
type Preflight = LoadedConfig['preflights'][number];

/** Reads, interpolates, validates and builds `greenlight.yml` (or `.json`). Throws ConfigError. */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : errorMessage(err);
    throw new ConfigError(`cannot read config ${path}: ${why}`, { cause: err });
  }
  return parseConfig(text, { source: path, ...options });
}

/** Parses config text: YAML 1.2, of which JSON is a subset. */
export async function parseConfig(text: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const source = options.source ?? 'greenlight.yml';
  const raw = await configDocument(text, source);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(
      `${source}: expected a mapping at the top level, got ${Array.isArray(raw) ? 'a list' : typeof raw}`,
    );
  }
  const resolvers = { env: envResolver(options.env ?? process.env), ...options.resolvers };
  const interpolated = await interpolate(raw, resolvers);
  return buildConfig(interpolated, { ...options, source });
}

/** Validates an already-parsed document and builds its checks. */
export function buildConfig(document: unknown, options: LoadOptions = {}): LoadedConfig {
  const source = options.source ?? 'greenlight.yml';
  const checkTypes = options.checkTypes ?? builtinCheckTypes;
  // Checks of types this bundle left out run at other lifecycle events: set aside, not validated.
  const omitted = options.checkTypes ? new Map<string, string>() : omittedChecks(document, omittedCheckTypes);
  const parsed = configSchema(checkTypes).safeParse(withoutChecks(document, omitted), {
    reportInput: true,
    error: issueMessages,
    // Parsed once per process: compiling zod's fast path for each object would cost more than it saves.
    jitless: true,
  });
  if (!parsed.success) throw configErrorFrom(source, parsed.error);
  const config = parsed.data;

  const targets: Record<string, URL> = {};
  for (const [name, value] of Object.entries(config.targets))
    if (value !== undefined) targets[name] = new URL(value);
  const targetNames = Object.keys(targets);
  const byType = new Map(checkTypes.map((t) => [t.type, t]));

  const built = new Map<string, PlannedCheck>();
  const preflights: Preflight[] = [];
  for (const [name, entry] of Object.entries(config.checks)) {
    const path = formatPath(['checks', name]);
    const checkType = byType.get(entry.type as string)!;
    const optionValues = Object.fromEntries(
      Object.entries(entry).filter(([key]) => !(COMMON_CHECK_KEYS as readonly string[]).includes(key)),
    );
    const ctx: FactoryContext = {
      name,
      path,
      targets: targetNames,
      fail: (subpath, message) =>
        new ConfigError(
          `${source}: ${path}${subpath ? (subpath.startsWith('[') ? '' : '.') + subpath : ''}: ${message}`,
        ),
    };
    let check;
    try {
      check = checkType.create(optionValues as z.output<typeof checkType.options>, ctx);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`${source}: ${path}: ${errorMessage(err)}`, { cause: err });
    }
    const planned: PlannedCheck = { check, advisory: entry.advisory };
    if (entry.timeoutMs !== undefined) planned.timeoutMs = entry.timeoutMs;
    if (entry.window) {
      if (!WINDOW_CHECK_TYPES.includes(entry.type as string))
        throw ctx.fail(
          'window',
          `a check of type ${entry.type} has no window; windows are for ${WINDOW_CHECK_TYPES.join(', ')}`,
        );
      planned.window = entry.window;
    }
    built.set(name, planned);
    const { preflight } = checkType;
    if (preflight) {
      const options = optionValues as z.output<typeof checkType.options>;
      preflights.push({ name, run: (run) => preflight.call(checkType, options, { ...run, name }) });
    }
  }

  for (const [event, names] of Object.entries(config.hooks)) {
    const seen = new Set<string>();
    (names ?? []).forEach((name, i) => {
      const where = `${source}: ${formatPath(['hooks', event, i])}`;
      if (!built.has(name) && !omitted.has(name)) {
        const known = [...built.keys()].join(', ') || 'none';
        throw new ConfigError(`${where}: unknown check "${name}"; defined checks: ${known}`);
      }
      if (seen.has(name)) throw new ConfigError(`${where}: check "${name}" is listed twice`);
      seen.add(name);
    });
  }

  return {
    source,
    config,
    targets,
    runner: config.runner,
    plan: (event) =>
      ((config.hooks as Record<string, string[] | undefined>)[event] ?? []).map((n) => {
        const type = omitted.get(n);
        if (type !== undefined)
          throw omittedCheckError(source, n, type, event, omittedCheckTypeReasons[type]);
        return built.get(n)!;
      }),
    preflights,
  };
}

function configErrorFrom(source: string, error: z.ZodError): ConfigError {
  const lines = error.issues.map(formatIssue);
  const head = lines[0]!;
  const more =
    lines.length > 1
      ? `\n${lines
          .slice(1)
          .map((l) => `  ${l}`)
          .join('\n')}`
      : '';
  const err = new ConfigError(`${source}: ${head}${more}`, { cause: error });
  return Object.assign(err, { problems: lines });
}
