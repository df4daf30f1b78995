import type { CheckType } from '../checks/check-type';
import { ConfigError } from '../lib/errors';
import { parseConfig, type LoadedConfig } from './config';
import type { Resolver } from './interpolate';
import { checkTenantNotify } from './tenant-notify';
import { checkTenantHosts, tenantResolvers, type TenantRules } from './tenant-rules';

export interface TenantConfigOptions {
  /** Shown in errors: the config's location or file. */
  source: string;
  /** No rules: the config is loaded as a service's own stack loads it. */
  rules: TenantRules | undefined;
  /** `${secretsmanager:...}` and `${ssm:...}` resolvers (held to the tenant's prefix when there are rules). */
  resolvers: Readonly<Record<'secretsmanager' | 'ssm', Resolver>>;
  checkTypes?: readonly CheckType[];
  /** `${env:...}` without rules (with rules it is refused). */
  env?: NodeJS.ProcessEnv;
}

/**
 * A service's config as a platform hook loads it: parsed with its secret references held to the
 * service's prefix, then its hosts and its `notify:` channels judged by the tenant rules. The
 * hooks (config/remote-config.ts), `greenlight publish` and `greenlight validate --location` all
 * load through here, so a config one of them accepts is one the others accept.
 */
export async function parseTenantConfig(text: string, options: TenantConfigOptions): Promise<LoadedConfig> {
  const { source, rules } = options;
  const loaded = await parseConfig(text, {
    source,
    resolvers: rules ? tenantResolvers(options.resolvers, rules) : options.resolvers,
    ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
    ...(options.env ? { env: options.env } : {}),
  }).catch((err: unknown) => {
    // A reference that cannot be resolved is reported by its field only; one hook reads many
    // services' configs, so the message names which one.
    if (err instanceof ConfigError && !err.message.startsWith(`${source}: `))
      throw new ConfigError(`${source}: ${err.message}`, { cause: err });
    throw err;
  });
  if (rules) {
    checkTenantHosts(loaded.config, rules, source);
    checkTenantNotify(loaded.config.notify, rules, source);
  }
  return loaded;
}
