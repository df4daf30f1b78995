import type { DeploymentSubject } from '../config/config-location';
import { tenantRulesFor, type TenantRules } from '../config/tenant-rules';
import { listSetting } from '../hooks/platform-config';
import { UsageError } from './usage-error';

/**
 * The options that name a platform service and the platform's tenant rules, shared by
 * `greenlight publish` and `greenlight validate --location`: each rule comes from its flag, else
 * from the environment variable the platform hooks read it from.
 */
export const TENANT_ARG_OPTIONS = {
  application: { type: 'string' },
  'deployment-group': { type: 'string' },
  cluster: { type: 'string' },
  service: { type: 'string' },
  'hook-detail': { type: 'string', multiple: true },
  'tenant-prefix': { type: 'string' },
  'allowed-hosts': { type: 'string' },
  'allowed-notify-hosts': { type: 'string' },
  'allowed-notify-topics': { type: 'string' },
  'allowed-event-buses': { type: 'string' },
} as const;

/** The usage lines of those options. */
export const TENANT_ARG_USAGE =
  '  --application, --deployment-group  the CodeDeploy deployment group the config is for\n' +
  '  --cluster, --service the ECS service the config is for (ECS built-in blue/green hooks)\n' +
  '  --hook-detail N=V    a value of the ECS hook’s hookDetails, for a {hookDetails.N} location (repeatable)\n' +
  "  --tenant-prefix P    the stack's tenantPrefix (default $GREENLIGHT_TENANT_PREFIX, else greenlight/{application}/)\n" +
  "  --allowed-hosts H    the stack's allowedHosts, comma-separated (default $GREENLIGHT_ALLOWED_HOSTS)\n" +
  "  --allowed-notify-hosts H, --allowed-notify-topics T, --allowed-event-buses B  the stack's allowedNotifyHosts,\n" +
  '                       allowedNotifyTopics and allowedEventBuses (default $GREENLIGHT_ALLOWED_NOTIFY_HOSTS, ...)\n';

type Values = Record<string, string | boolean | string[] | undefined>;

const DEFAULT_TENANT_PREFIX = 'greenlight/{application}/';

/** The service named by `--application`/`--deployment-group` or `--cluster`/`--service`. */
export function subjectFromArgs(values: Values): DeploymentSubject {
  const get = (name: string) => values[name] as string | undefined;
  const hookDetails: Record<string, string> = {};
  for (const pair of (values['hook-detail'] as string[] | undefined) ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--hook-detail expects NAME=VALUE, got ${JSON.stringify(pair)}`);
    hookDetails[pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (get('cluster') || get('service')) {
    const cluster = get('cluster');
    const service = get('service');
    if (!cluster || !service) throw new UsageError('--cluster and --service go together (an ECS service)');
    return { application: service, deploymentGroup: cluster, cluster, service, hookDetails };
  }
  const application = get('application');
  const deploymentGroup = get('deployment-group');
  if (!application || !deploymentGroup)
    throw new UsageError(
      'name the service: --application and --deployment-group (CodeDeploy), or --cluster and --service (ECS)',
    );
  return { application, deploymentGroup, hookDetails };
}

/** The tenant rules for `subject`, from the flags, else the platform hooks' environment variables. */
export function tenantRulesFromArgs(
  values: Values,
  subject: DeploymentSubject,
  env: NodeJS.ProcessEnv,
): TenantRules {
  const setting = (flag: string, variable: string) => (values[flag] as string | undefined) ?? env[variable];
  return tenantRulesFor(subject, {
    tenantPrefix: setting('tenant-prefix', 'GREENLIGHT_TENANT_PREFIX') || DEFAULT_TENANT_PREFIX,
    allowedHosts: listSetting(setting('allowed-hosts', 'GREENLIGHT_ALLOWED_HOSTS')),
    allowedNotifyHosts: listSetting(setting('allowed-notify-hosts', 'GREENLIGHT_ALLOWED_NOTIFY_HOSTS')),
    allowedNotifyTopics: listSetting(setting('allowed-notify-topics', 'GREENLIGHT_ALLOWED_NOTIFY_TOPICS')),
    allowedEventBuses: listSetting(setting('allowed-event-buses', 'GREENLIGHT_ALLOWED_EVENT_BUSES')),
  });
}
