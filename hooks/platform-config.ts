import { resolve } from 'node:path';
import type { CheckType } from '../checks/check-type';
import type { LoadedConfig, LoadOptions } from '../config/config';
import { fillConfigLocation, isRemoteConfig, type DeploymentSubject } from '../config/config-location';
import type { ConfigReader } from '../config/config-reader';
import type { RemoteConfigCache } from '../config/remote-config';
import { awsErrorName } from '../lib/aws';
import type { CodeDeploySender } from '../lib/codedeploy-client';
import { ConfigError, errorMessage } from '../lib/errors';
import { awsSecretResolvers, cachedConfig } from './hook-config';

// Platform mode: one set of hooks for many services. `GREENLIGHT_CONFIG` names a template over the
// deployment (s3://... or ssm:/...), and each service's config is read, checked against the
// tenant rules and cached per container. With a packaged file, nothing here runs but the path.

/** Deployments whose application and group are known, so a deployment's five hooks ask once each at most. */
const MAX_KNOWN_DEPLOYMENTS = 1_000;

/** The platform's own settings, from the function's environment (serverless.yml sets them). */
export interface PlatformSettings {
  /** `GREENLIGHT_CONFIG`: a file path, or an `s3://` / `ssm:/` template. */
  spec: string;
  /** `GREENLIGHT_CONFIG_TTL_SECONDS` (default 60). */
  ttlMs: number;
  /** `GREENLIGHT_TENANT_PREFIX`, e.g. `greenlight/{application}/`: set, the tenant rules apply. */
  tenantPrefix?: string;
  /** `GREENLIGHT_ALLOWED_HOSTS`, comma-separated. */
  allowedHosts: string[];
  /** `GREENLIGHT_ALLOWED_NOTIFY_HOSTS`: where a service's Slack and webhook channels may post. */
  allowedNotifyHosts: string[];
  /** `GREENLIGHT_ALLOWED_NOTIFY_TOPICS`: the SNS topics a service's `sns` channels may name. */
  allowedNotifyTopics: string[];
  /** `GREENLIGHT_ALLOWED_EVENT_BUSES`: the event buses a service's `eventbridge` channels may name. */
  allowedEventBuses: string[];
}

/** A comma-separated setting as its non-empty trimmed entries. */
export function listSetting(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

export function platformSettings(spec: string, env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  const ttl = Number(env.GREENLIGHT_CONFIG_TTL_SECONDS);
  const settings: PlatformSettings = {
    spec,
    ttlMs: (Number.isFinite(ttl) && ttl >= 0 && env.GREENLIGHT_CONFIG_TTL_SECONDS !== '' ? ttl : 60) * 1000,
    allowedHosts: listSetting(env.GREENLIGHT_ALLOWED_HOSTS),
    allowedNotifyHosts: listSetting(env.GREENLIGHT_ALLOWED_NOTIFY_HOSTS),
    allowedNotifyTopics: listSetting(env.GREENLIGHT_ALLOWED_NOTIFY_TOPICS),
    allowedEventBuses: listSetting(env.GREENLIGHT_ALLOWED_EVENT_BUSES),
  };
  if (env.GREENLIGHT_TENANT_PREFIX) settings.tenantPrefix = env.GREENLIGHT_TENANT_PREFIX;
  return settings;
}

export interface HookConfigLoaderOptions {
  /** Default: `GREENLIGHT_CONFIG`, else `greenlight.yml`. */
  configPath?: string;
  checkTypes?: readonly CheckType[];
  resolvers?: LoadOptions['resolvers'];
  /** Reads remote configs (default: S3 and SSM clients, created on first use). */
  configReader?: ConfigReader;
  env?: NodeJS.ProcessEnv;
}

/** Who a deployment belongs to, resolved only when a remote template needs it. */
export type SubjectSource = () => Promise<DeploymentSubject>;

export interface HookConfigRequest {
  subject: SubjectSource;
  /** Bounds the remote read (the hook's budget for loading). */
  signal: AbortSignal;
}

/**
 * The config loader of one hook handler: the packaged file through the per-container cache as
 * before, or, with a remote template, the deployment's own config under the tenant rules.
 */
export function hookConfigLoader(options: HookConfigLoaderOptions = {}) {
  let cache: RemoteConfigCache | undefined;
  return async (request: HookConfigRequest): Promise<LoadedConfig> => {
    const env = options.env ?? process.env;
    const spec = options.configPath ?? (env.GREENLIGHT_CONFIG || 'greenlight.yml');
    if (!isRemoteConfig(spec)) {
      return cachedConfig(resolve(spec), {
        ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
        ...(options.resolvers ? { resolvers: options.resolvers } : {}),
      });
    }
    const settings = platformSettings(spec, env);
    const subject = await request.subject();
    const location = fillConfigLocation(spec, subject);
    if (location.kind === 'file') throw new Error(`unreachable: ${spec} is remote`);
    // Loaded on first use, as the cache is: a hook with a packaged config never loads either.
    const rules = settings.tenantPrefix
      ? (await import('../config/tenant-rules')).tenantRulesFor(subject, {
          ...settings,
          tenantPrefix: settings.tenantPrefix,
        })
      : undefined;
    if (!cache) {
      const { RemoteConfigCache } = await import('../config/remote-config');
      cache = new RemoteConfigCache({
        ttlMs: settings.ttlMs,
        resolvers: {
          secretsmanager: options.resolvers?.secretsmanager ?? awsSecretResolvers.secretsmanager,
          ssm: options.resolvers?.ssm ?? awsSecretResolvers.ssm,
        },
        ...(options.configReader ? { reader: options.configReader } : {}),
        ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
      });
    }
    return cache.load(location, rules, request.signal);
  };
}

const knownDeployments = new Map<string, DeploymentSubject>();

/** The application of a deployment this container has looked up (platform mode), else undefined. */
export function knownApplication(deploymentId: string): string | undefined {
  return knownDeployments.get(deploymentId)?.application;
}

/** The CodeDeploy application and deployment group of a deployment (GetDeployment, once per deployment). */
export async function codeDeploySubject(
  deploymentId: string,
  client: CodeDeploySender,
  signal: AbortSignal,
): Promise<DeploymentSubject> {
  const known = knownDeployments.get(deploymentId);
  if (known) return known;
  let info;
  try {
    const { GetDeploymentCommand } = await import('@aws-sdk/client-codedeploy');
    ({ deploymentInfo: info } = await client.send(new GetDeploymentCommand({ deploymentId }), {
      abortSignal: signal,
    }));
  } catch (err) {
    const name = awsErrorName(err);
    throw new ConfigError(
      `the config location needs the deployment's application and group, but CodeDeploy GetDeployment ${deploymentId} failed: ${name && name !== 'Error' ? `${name}: ` : ''}${errorMessage(err, { cause: false })} (the role needs codedeploy:GetDeployment)`,
      { cause: err },
    );
  }
  if (!info?.applicationName || !info.deploymentGroupName)
    throw new ConfigError(
      `CodeDeploy GetDeployment ${deploymentId} returned no application or deployment group`,
    );
  const subject = { application: info.applicationName, deploymentGroup: info.deploymentGroupName };
  if (knownDeployments.size >= MAX_KNOWN_DEPLOYMENTS)
    knownDeployments.delete(knownDeployments.keys().next().value!);
  knownDeployments.set(deploymentId, subject);
  return subject;
}

/**
 * Cluster and service from an ECS hook invocation's service ARN (`service/CLUSTER/SERVICE`) or
 * service deployment ARN (`service-deployment/CLUSTER/SERVICE/ID`). `{application}` stands for
 * the service and `{deploymentGroup}` for the cluster, so one template serves both kinds of hook.
 */
export function ecsSubject(
  arns: { serviceArn?: string; resourceArn?: string },
  hookDetails: Readonly<Record<string, unknown>>,
): DeploymentSubject {
  for (const arn of [arns.serviceArn, arns.resourceArn]) {
    const match = arn && /:(?:service|service-deployment)\/([^/]+)\/([^/]+)/.exec(arn);
    if (match) {
      const [, cluster, service] = match as unknown as [string, string, string];
      return { application: service, deploymentGroup: cluster, cluster, service, hookDetails };
    }
  }
  throw new ConfigError(
    `the config location needs the cluster and service, but neither serviceArn nor resourceArn names them (${arns.serviceArn ?? arns.resourceArn ?? 'none given'})`,
  );
}
