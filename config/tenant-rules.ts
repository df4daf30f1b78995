import { ConfigError } from '../lib/errors';
import { formatPath } from '../lib/config-issues';
import { AUTO_TARGET_URL } from '../lib/auto-target';
import { fillTemplate, type DeploymentSubject } from './config-location';
import type { Resolver } from './interpolate';

/**
 * What a service's config may reach when one platform hook serves many services: secrets and
 * parameters under the service's own prefix only, and hosts the platform allows only. A shared
 * hook inside the VPC could otherwise be pointed at another service's secrets or turned into a
 * probe of internal hosts. Every violation is a ConfigError naming the rule.
 */
export interface TenantRules {
  /** Who the config belongs to, for messages: `application web-app`, `service web`. */
  tenant: string;
  /**
   * The prefix every secret name and parameter name (without its leading `/`) must start with,
   * e.g. `greenlight/web-app/`.
   */
  prefix: string;
  /**
   * Hosts besides the deployment's own load balancers (`targets: auto`): exact names or IP
   * addresses, or `*.example.internal` for any name under a domain.
   */
  allowedHosts: readonly string[];
  /**
   * Hosts the service's own Slack and webhook channels may post to (Slack also to
   * `hooks.slack.com`): exact names or `*.domain`. Plain `http` only to a host named exactly.
   */
  notifyHosts?: readonly string[];
  /** SNS topics the service's own `sns` channels may publish to: names or ARNs, `*` matching anything. */
  notifyTopics?: readonly string[];
  /** Event buses the service's own `eventbridge` channels may put events on: names or ARNs, `*` matching anything. */
  eventBuses?: readonly string[];
}

/** The platform's settings a tenant's rules are made from (the platform stack's params). */
export interface TenantRuleSettings {
  /** e.g. `greenlight/{application}/`, filled like the config location. */
  tenantPrefix: string;
  allowedHosts: readonly string[];
  allowedNotifyHosts?: readonly string[];
  /** May hold placeholders, e.g. `deployments-{application}`: filled per service. */
  allowedNotifyTopics?: readonly string[];
  allowedEventBuses?: readonly string[];
}

/** A list entry with its placeholders filled for this service; an entry it cannot fill is not the service's. */
function filledEntries(entries: readonly string[] | undefined, subject: DeploymentSubject): string[] {
  return (entries ?? []).flatMap((entry) => {
    try {
      return [fillTemplate(entry, subject)];
    } catch {
      return [];
    }
  });
}

/** The rules one service's config is held to, from the platform's settings. */
export function tenantRulesFor(subject: DeploymentSubject, settings: TenantRuleSettings): TenantRules {
  return {
    tenant: subject.cluster
      ? `service ${subject.cluster}/${subject.service}`
      : `application ${subject.application}`,
    prefix: fillTemplate(settings.tenantPrefix, subject).replace(/^\//, ''),
    allowedHosts: settings.allowedHosts,
    notifyHosts: settings.allowedNotifyHosts ?? [],
    notifyTopics: filledEntries(settings.allowedNotifyTopics, subject),
    eventBuses: filledEntries(settings.allowedEventBuses, subject),
  };
}

export const RULE_OWN_PREFIX = 'secrets and parameters under the service’s own prefix';
export const RULE_NO_ENV = 'no ${env:...} in a platform config';
export const RULE_ALLOWED_HOSTS = 'hosts on the platform’s allow-list';

/** The part of a secret ARN or parameter ARN that IAM matches, else the name as given. */
function nameOf(reference: string, kind: 'secret' | 'parameter'): string {
  if (!reference.startsWith('arn:')) return reference.replace(/^\//, '');
  const marker = kind === 'secret' ? ':secret:' : ':parameter/';
  const at = reference.indexOf(marker);
  return at === -1 ? reference : reference.slice(at + marker.length);
}

function outside(rules: TenantRules, what: string): Error {
  return new Error(
    `tenant rule "${RULE_OWN_PREFIX}": ${what} is outside ${rules.prefix} (the prefix of ${rules.tenant})`,
  );
}

/**
 * The `${secretsmanager:...}`, `${ssm:...}` and `${env:...}` resolvers for a tenant's config: a
 * reference outside the prefix throws before anything is fetched, and `${env:...}` always throws
 * (the platform function's environment is not the service's). config/interpolate.ts turns the
 * throw into a ConfigError naming the field.
 */
export function tenantResolvers(
  base: Readonly<Record<'secretsmanager' | 'ssm', Resolver>>,
  rules: TenantRules,
): Record<'secretsmanager' | 'ssm' | 'env', Resolver> {
  const within = (name: string) => !name.includes('..') && name.startsWith(rules.prefix);
  return {
    secretsmanager: (argument) => {
      // `ID#jsonKey`: secret names cannot contain `#` (as in config/secret-resolvers.ts).
      const secretId = argument
        .slice(0, argument.includes('#') ? argument.lastIndexOf('#') : undefined)
        .trim();
      if (!within(nameOf(secretId, 'secret'))) throw outside(rules, `secret ${secretId}`);
      return base.secretsmanager(argument);
    },
    ssm: (argument) => {
      const name = argument.trim();
      if (!within(nameOf(name, 'parameter'))) throw outside(rules, `SSM parameter ${name}`);
      return base.ssm(argument);
    },
    env: (argument) => {
      throw new Error(
        `tenant rule "${RULE_NO_ENV}": \${env:${argument}} would read the platform function's environment; put the value in the config or under ${rules.prefix}`,
      );
    },
  };
}

/** Whether `host` is on the allow-list (exact, or under a `*.domain` entry). */
export function hostAllowed(host: string, allowedHosts: readonly string[]): boolean {
  const name = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  return allowedHosts.some((entry) => {
    const allowed = entry.toLowerCase().trim();
    if (allowed.startsWith('*.')) return name.endsWith(allowed.slice(1)) && name.length > allowed.length - 1;
    return name === allowed.replace(/^\[|\]$/g, '');
  });
}

const URL_KEYS = new Set(['url']);
const HOST_KEYS = new Set(['host', 'hostname']);
const AUTO_HOST = new URL(AUTO_TARGET_URL).hostname;

/** A host a config connects to, or a URL field whose host cannot be known before the run. */
export type NamedHost = { path: PropertyKey[]; host: string } | { path: PropertyKey[]; unknown: string };

function urlHost(path: PropertyKey[], value: string): NamedHost {
  try {
    const { hostname } = new URL(value);
    if (hostname) return { path, host: hostname };
  } catch {
    // not an absolute URL: judged below
  }
  return { path, unknown: value };
}

/**
 * Every host the config's checks connect to: its `targets`, and every `url`, `host` and `hostname`
 * field of its checks (database URLs, contract URLs, absolute request URLs, session stores). The
 * `notify:` section is judged by its own rule (config/tenant-notify.ts).
 */
export function hostsIn(doc: unknown, path: PropertyKey[] = []): NamedHost[] {
  const key = String(path[path.length - 1] ?? '');
  const isTarget = path.length === 2 && path[0] === 'targets';
  if (doc instanceof URL) return [{ path, host: doc.hostname }];
  // A redirect is followed to wherever the answer points, which no rule can check beforehand.
  if (key === 'followRedirects' && doc !== false && doc !== 0)
    return [{ path, unknown: 'followRedirects: a redirect may lead to any host; leave redirects off' }];
  if (typeof doc === 'string') {
    if (HOST_KEYS.has(key)) return [{ path, host: doc }];
    if (URL_KEYS.has(key) || isTarget) return [urlHost(path, doc)];
    // A request path is joined to its target: `//host/...` would leave it for another host.
    if (key === 'path' && (doc.startsWith('//') || doc.startsWith('\\'))) return [{ path, unknown: doc }];
    return [];
  }
  if (Array.isArray(doc)) return doc.flatMap((item, i) => hostsIn(item, [...path, i]));
  if (doc !== null && typeof doc === 'object')
    return (
      Object.entries(doc)
        // Notification endpoints have their own rule and allow-list (config/tenant-notify.ts).
        .filter(([k]) => path.length > 0 || k !== 'notify')
        .flatMap(([k, value]) => hostsIn(value, [...path, k]))
    );
  return [];
}

/**
 * Refuses a config that names a host neither `auto` (the deployment's own load balancer, found
 * from the deployment) nor on the platform's allow-list. Run on the validated config, after
 * `${...}` references are resolved, so a host read from a parameter is judged too.
 */
export function checkTenantHosts(config: unknown, rules: TenantRules, source: string): void {
  const allowed = rules.allowedHosts.length ? rules.allowedHosts.join(', ') : 'none';
  for (const named of hostsIn(config)) {
    const { path } = named;
    if ('unknown' in named) {
      throw new ConfigError(
        named.unknown.startsWith('followRedirects')
          ? `${source}: ${formatPath(path)}: tenant rule "${RULE_ALLOWED_HOSTS}": ${named.unknown}`
          : `${source}: ${formatPath(path)}: tenant rule "${RULE_ALLOWED_HOSTS}": ${JSON.stringify(named.unknown)} is not an absolute URL, so its host cannot be checked before the run; write the URL out`,
      );
    }
    const { host } = named;
    if (host === AUTO_HOST || hostAllowed(host, rules.allowedHosts)) continue;
    throw new ConfigError(
      `${source}: ${formatPath(path)}: tenant rule "${RULE_ALLOWED_HOSTS}": host ${host} is not the deployment's load balancer (use "auto") and not on the platform's allow-list (${allowed})`,
    );
  }
}
