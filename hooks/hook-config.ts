import { resolve } from 'node:path';
import type { Verdict } from '../checks/runner';
import type { LoadedConfig, LoadOptions } from '../config/config';
import type { Resolver } from '../config/interpolate';
import type { Logger } from '../lib/log';

// What both hook adapters (CodeDeploy and ECS built-in) share around the config. The config
// machinery and the secret resolvers load on first use, so a cold start's module load pays
// only for the report path.

const configCache = new Map<string, Promise<LoadedConfig>>();

/**
 * `GREENLIGHT_CONFIG`, else `greenlight.yml`; a relative path is read from the working directory,
 * which Lambda sets to the task root (beside the bundle) and `serverless invoke local` to the
 * bundle's folder.
 */
export function defaultConfigPath(): string {
  return resolve(process.env.GREENLIGHT_CONFIG || 'greenlight.yml');
}

/**
 * The config at `path`, loaded once per container with `${secretsmanager:...}` and `${ssm:...}`
 * resolvers unless others are given. A failed load is not cached, so a later invocation tries again.
 */
export function cachedConfig(path: string, options: Omit<LoadOptions, 'source'> = {}): Promise<LoadedConfig> {
  let pending = configCache.get(path);
  if (!pending) {
    pending = (async () => {
      const { loadConfig } = await import('../config/config');
      return loadConfig(path, { ...options, resolvers: options.resolvers ?? awsSecretResolvers });
    })();
    configCache.set(path, pending);
    pending.catch(() => configCache.delete(path));
  }
  return pending;
}

let secretResolvers: Promise<Record<'secretsmanager' | 'ssm', Resolver>> | undefined;

/** Loads the Secrets Manager and SSM clients only when a config references one of them. */
function lazyResolver(provider: 'secretsmanager' | 'ssm'): Resolver {
  return async (argument) => {
    secretResolvers ??= import('../config/secret-resolvers').then((m) => m.secretResolvers());
    return (await secretResolvers)[provider](argument);
  };
}

/**
 * `${secretsmanager:...}` and `${ssm:...}` through config/secret-resolvers.ts, loaded on first use:
 * the hooks' resolvers, which the CLI uses too (with the caller's credentials).
 */
export const awsSecretResolvers = {
  secretsmanager: lazyResolver('secretsmanager'),
  ssm: lazyResolver('ssm'),
};

/** One structured line per check, with its evidence; anything but `passed` at WARN. */
export function logCheckResults(verdict: Verdict, log: Logger): void {
  for (const result of verdict.checks) {
    log[result.outcome === 'passed' ? 'info' : 'warn']('check result', { check: result });
  }
}
