'use strict';
/**
 * The platform stack (`--param="mode=platform"`): one set of hook functions for many services.
 * Each function carries every check type and reads each service's config at run time from the
 * `configLocation` template; its role may report only to the listed deployment groups, read only
 * the listed ECS services, the config prefix, the tenants' own secret and parameter prefixes and
 * the break-glass prefix. Everything is computed offline from the params.
 */
const { notifyStatements, sub } = require('./iam-statements');

const MODES = ['service', 'platform'];
const PLACEHOLDER = /\{([A-Za-z]+)(?:\.[A-Za-z0-9_-]+)?\}/g;
const GROUP = /^[A-Za-z0-9_.+@*-]+\/[A-Za-z0-9_.+@*-]+$/;
const SERVICE = /^[A-Za-z0-9_*-]+\/[A-Za-z0-9_*-]+$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const DEFAULT_TENANT_PREFIX = 'greenlight/{application}/';
const DEFAULT_BREAK_GLASS_PREFIX = '/greenlight-break-glass/';
/** Placeholders a topic or bus entry may use: the ones the role can be filled with per service. */
const LIST_PLACEHOLDERS = ['application', 'deploymentGroup', 'cluster', 'service'];
const TOPIC_ENTRY = /^(arn:aws[a-z-]*:sns:[a-z0-9*-]+:[0-9*]+:)?[A-Za-z0-9_*{}.-]+$/;
const BUS_ENTRY = /^(arn:aws[a-z-]*:events:[a-z0-9*-]+:[0-9*]+:event-bus\/)?[A-Za-z0-9._*{}/-]+$/;
const HOST_ENTRY = /^(\*\.)?[A-Za-z0-9.:[\]-]+$/;

/** A comma-separated param (or a list) as its non-empty trimmed entries. */
function splitList(value) {
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The `mode` param, checked. */
function stackMode(value = 'service') {
  if (!MODES.includes(value || 'service'))
    throw new Error(`param mode must be one of ${MODES.join(', ')}, got ${JSON.stringify(value)}`);
  return value || 'service';
}

/** The template with every placeholder as an IAM wildcard. */
function wildcarded(template) {
  return template.replace(PLACEHOLDER, '*');
}

/** A template filled with one application's values; the rest stay wildcards. */
function filledFor(template, values) {
  return template.replace(PLACEHOLDER, (whole, name) => values[name] ?? '*');
}

/**
 * The platform params, checked: problems are returned one line each, and the settings otherwise.
 * @returns {{ problems: string[], settings?: object }}
 */
function platformSettings(params) {
  const problems = [];
  const configLocation = String(params.configLocation || '');
  let location;
  if (configLocation.startsWith('s3://')) {
    const rest = configLocation.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (!BUCKET.test(bucket) || slash === -1 || slash === rest.length - 1)
      problems.push(
        `param configLocation must be s3://BUCKET/KEY-TEMPLATE with a literal bucket, got ${JSON.stringify(configLocation)}`,
      );
    else location = { kind: 's3', bucket, key: rest.slice(slash + 1) };
  } else if (configLocation.startsWith('ssm:/')) {
    location = { kind: 'ssm', name: configLocation.slice('ssm:'.length) };
  } else {
    problems.push(
      `param configLocation must name where each service's config lives in platform mode: s3://BUCKET/greenlight/{application}/{deploymentGroup}.yml or ssm:/greenlight/{application}/{deploymentGroup}; got ${JSON.stringify(configLocation)}`,
    );
  }
  const deploymentGroups = splitList(params.deploymentGroups);
  const ecsServices = splitList(params.ecsServices);
  for (const group of deploymentGroups)
    if (!GROUP.test(group))
      problems.push(`param deploymentGroups: expected APPLICATION/GROUP, got ${JSON.stringify(group)}`);
  for (const service of ecsServices)
    if (!SERVICE.test(service))
      problems.push(`param ecsServices: expected CLUSTER/SERVICE, got ${JSON.stringify(service)}`);
  if (deploymentGroups.length === 0 && ecsServices.length === 0)
    problems.push(
      'platform mode serves the deployment groups in param deploymentGroups and the ECS services in param ecsServices (comma-separated); both are empty',
    );
  const tenantPrefix = String(params.tenantPrefix || DEFAULT_TENANT_PREFIX);
  if (!tenantPrefix.includes('{application}'))
    problems.push(
      `param tenantPrefix must contain {application}, so that each service has its own; got ${JSON.stringify(tenantPrefix)}`,
    );
  const breakGlassPrefix = String(params.breakGlassPrefix || DEFAULT_BREAK_GLASS_PREFIX);
  if (!breakGlassPrefix.startsWith('/') || breakGlassPrefix.includes('{'))
    problems.push(
      `param breakGlassPrefix must be an SSM path such as ${DEFAULT_BREAK_GLASS_PREFIX}, got ${JSON.stringify(breakGlassPrefix)}`,
    );
  if (location && breakGlassPrefix.startsWith(`/${tenantPrefix.split('{')[0]}`))
    problems.push(
      `param breakGlassPrefix ${breakGlassPrefix} lies under the tenants' prefix ${tenantPrefix}: a service could set its own break-glass`,
    );
  const allowedNotifyHosts = splitList(params.allowedNotifyHosts);
  for (const host of allowedNotifyHosts)
    if (!HOST_ENTRY.test(host))
      problems.push(
        `param allowedNotifyHosts: expected a host name, an address or *.domain, got ${JSON.stringify(host)}`,
      );
  const allowedNotifyTopics = splitList(params.allowedNotifyTopics);
  const allowedEventBuses = splitList(params.allowedEventBuses);
  for (const [param, entries, pattern, what] of [
    ['allowedNotifyTopics', allowedNotifyTopics, TOPIC_ENTRY, 'an SNS topic name or ARN'],
    ['allowedEventBuses', allowedEventBuses, BUS_ENTRY, 'an event bus name or ARN'],
  ]) {
    for (const entry of entries) {
      const unknown = [...entry.matchAll(PLACEHOLDER)]
        .map(([, name]) => name)
        .filter((n) => !LIST_PLACEHOLDERS.includes(n));
      if (!pattern.test(entry))
        problems.push(
          `param ${param}: expected ${what} (* for any characters), got ${JSON.stringify(entry)}`,
        );
      else if (unknown.length)
        problems.push(
          `param ${param}: ${JSON.stringify(entry)} uses {${unknown[0]}}; an entry may use only ${LIST_PLACEHOLDERS.map((n) => `{${n}}`).join(', ')}`,
        );
    }
  }
  const ttl = Number(params.configTtlSeconds ?? 60);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600)
    problems.push(
      `param configTtlSeconds must be a whole number of seconds from 0 to 3600, got ${JSON.stringify(params.configTtlSeconds)}`,
    );
  if (problems.length) return { problems };
  return {
    problems,
    settings: {
      configLocation,
      location,
      deploymentGroups,
      ecsServices,
      tenantPrefix,
      allowedHosts: splitList(params.allowedHosts),
      allowedNotifyHosts,
      allowedNotifyTopics,
      allowedEventBuses,
      breakGlassPrefix,
      configTtlSeconds: ttl,
    },
  };
}

/** The functions' environment in platform mode (read by hooks/platform-config.ts and hooks/break-glass.ts). */
function platformEnvironment(settings) {
  return {
    GREENLIGHT_CONFIG: settings.configLocation,
    GREENLIGHT_CONFIG_TTL_SECONDS: String(settings.configTtlSeconds),
    GREENLIGHT_TENANT_PREFIX: settings.tenantPrefix,
    GREENLIGHT_ALLOWED_HOSTS: settings.allowedHosts.join(','),
    GREENLIGHT_ALLOWED_NOTIFY_HOSTS: settings.allowedNotifyHosts.join(','),
    GREENLIGHT_ALLOWED_NOTIFY_TOPICS: settings.allowedNotifyTopics.join(','),
    GREENLIGHT_ALLOWED_EVENT_BUSES: settings.allowedEventBuses.join(','),
    GREENLIGHT_BREAK_GLASS_PREFIX: settings.breakGlassPrefix,
  };
}

const arn = (service, resource) =>
  sub(`arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`);

/**
 * The platform role's statements: every check type's reads, scoped to the listed groups and
 * services; and publishing only to the platform's default notification topics and buses
 * (`notifyDefaults`, analysed by config-analysis.js) and to those it lets services name
 * (`allowedNotifyTopics`, `allowedEventBuses`, filled per served service). Which service may name
 * which topic is the loader's rule (config/tenant-notify.ts); the role bounds them all.
 */
function platformIamStatements(settings, { kmsKeyArn, notifyDefaults } = {}) {
  const statements = [];
  const groups = settings.deploymentGroups;
  const services = settings.ecsServices;
  if (groups.length) {
    statements.push({
      Effect: 'Allow',
      Action: [
        'codedeploy:GetDeployment',
        'codedeploy:GetDeploymentGroup',
        'codedeploy:PutLifecycleEventHookExecutionStatus',
      ],
      Resource: groups.map((g) => arn('codedeploy', `deploymentgroup:${g}`)),
    });
  }
  // `targets: auto` and discovering checks read the services of the deployment groups: with only
  // ECS services listed, those; with deployment groups, any service (a group names its own).
  const serviceArns = groups.length
    ? [arn('ecs', 'service/*')]
    : services.map((s) => arn('ecs', `service/${s}`));
  statements.push({ Effect: 'Allow', Action: ['ecs:DescribeServices'], Resource: serviceArns });
  if (services.length) {
    // AWS authorises DescribeServiceDeployments against the service and the service deployment both.
    statements.push({
      Effect: 'Allow',
      Action: ['ecs:DescribeServiceDeployments'],
      Resource: [
        ...services.map((s) => arn('ecs', `service/${s}`)),
        ...services.map((s) => arn('ecs', `service-deployment/${s}/*`)),
      ],
    });
  }
  // The diagnosis of green's tasks in a failed verdict: their stopped tasks (ListTasks is authorised
  // against container instances, DescribeTasks against tasks, both in the cluster) and, for the ECS
  // hook, the service revision that names them. Clusters are known for the listed ECS services; a
  // deployment group names its cluster only at run time.
  const clusters = groups.length ? ['*'] : [...new Set(services.map((s) => s.split('/')[0]))];
  statements.push({
    Effect: 'Allow',
    Action: ['ecs:ListTasks', 'ecs:DescribeTasks'],
    Resource: clusters.flatMap((c) =>
      c === '*'
        ? [arn('ecs', 'container-instance/*'), arn('ecs', 'task/*')]
        : [arn('ecs', `container-instance/${c}/*`), arn('ecs', `task/${c}/*`)],
    ),
  });
  if (services.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['ecs:DescribeServiceRevisions'],
      Resource: services.map((s) => arn('ecs', `service-revision/${s}/*`)),
    });
  }
  // These reads cannot be scoped to a resource (DescribeAlarms must be on * to see composite alarms).
  statements.push({
    Effect: 'Allow',
    Action: [
      'cloudwatch:DescribeAlarms',
      'cloudwatch:GetMetricData',
      'elasticloadbalancing:DescribeListeners',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeRules',
      'elasticloadbalancing:DescribeTargetHealth',
    ],
    Resource: '*',
  });

  // Read access to the configs: only the template's prefix.
  const { location } = settings;
  if (location.kind === 's3') {
    const keys = wildcarded(location.key);
    statements.push({
      Effect: 'Allow',
      Action: ['s3:GetObject'],
      Resource: [sub(`arn:\${AWS::Partition}:s3:::${location.bucket}/${keys}`)],
    });
    // Without ListBucket a missing config reads as AccessDenied instead of NoSuchKey.
    statements.push({
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [sub(`arn:\${AWS::Partition}:s3:::${location.bucket}`)],
      Condition: { StringLike: { 's3:prefix': [keys] } },
    });
  }

  // The tenants' own secrets and parameters, one prefix per served application or service.
  const tenants = new Map();
  for (const group of groups) {
    const [application, deploymentGroup] = group.split('/');
    tenants.set(`${application}/${deploymentGroup}`, { application, deploymentGroup });
  }
  for (const service of services) {
    const [cluster, name] = service.split('/');
    tenants.set(`${name}/${cluster}`, {
      application: name,
      deploymentGroup: cluster,
      cluster,
      service: name,
    });
  }
  // Each entry for each served service whose values fill it (an entry naming {cluster} is not a
  // CodeDeploy group's), never widened to a wildcard.
  const perTenant = (entries) => {
    const filled = new Set();
    for (const entry of entries)
      for (const values of tenants.values()) {
        const names = [...entry.matchAll(PLACEHOLDER)].map(([, name]) => name);
        if (names.every((name) => values[name])) filled.add(filledFor(entry, values));
      }
    return [...filled].sort();
  };
  const prefixes = [
    ...new Set(
      [...tenants.values()].map((values) => filledFor(settings.tenantPrefix, values).replace(/^\//, '')),
    ),
  ].sort();
  statements.push({
    Effect: 'Allow',
    Action: ['secretsmanager:GetSecretValue'],
    Resource: prefixes.map((p) => arn('secretsmanager', `secret:${p}*`)),
  });
  const parameterResources = prefixes.map((p) => arn('ssm', `parameter/${p}*`));
  if (location.kind === 'ssm') parameterResources.push(arn('ssm', `parameter${wildcarded(location.name)}`));
  // The break-glass switches: read only. Setting one takes ssm:PutParameter there, which this role lacks.
  parameterResources.push(arn('ssm', `parameter${settings.breakGlassPrefix.replace(/\/?$/, '/')}*`));
  statements.push({ Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: parameterResources });

  statements.push(
    ...notifyStatements({
      snsTopics: [...(notifyDefaults?.snsTopics ?? []), ...perTenant(settings.allowedNotifyTopics ?? [])],
      eventBuses: [...(notifyDefaults?.eventBuses ?? []), ...perTenant(settings.allowedEventBuses ?? [])],
    }),
  );

  if (kmsKeyArn) {
    statements.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: [kmsKeyArn],
      Condition: {
        StringEquals: {
          'kms:ViaService': ['secretsmanager', 'ssm', ...(location.kind === 's3' ? ['s3'] : [])].map((s) =>
            sub(`${s}.\${AWS::Region}.amazonaws.com`),
          ),
        },
      },
    });
  }
  return statements;
}

module.exports = {
  DEFAULT_BREAK_GLASS_PREFIX,
  DEFAULT_TENANT_PREFIX,
  platformEnvironment,
  platformIamStatements,
  platformSettings,
  splitList,
  stackMode,
};
