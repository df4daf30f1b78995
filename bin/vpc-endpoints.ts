import type { LoadedConfig } from '../config/config';
import { autoTargetNames } from '../lib/auto-target';
import { UsageError } from './usage-error';

/** What a hook in private subnets calls, by the interface endpoint's service, and why. */
export interface EndpointNeed {
  /** The last part of `com.amazonaws.<region>.<service>`. */
  service: string;
  why: string[];
}

/** The order endpoints are listed in: the report first, then the checks, then the config. */
const SERVICES = [
  'codedeploy',
  'monitoring',
  'ecs',
  'elasticloadbalancing',
  'secretsmanager',
  'ssm',
  's3',
  'sns',
  'events',
];
const CLOUDWATCH_CHECK_TYPES = ['alarms', 'metrics', 'target-groups'];
const SECRET_REFERENCE = /\$\{(secretsmanager|ssm):/g;

/** The options of a schema or migration-rehearsal check that name an `s3://` location. */
function s3Options(entry: Record<string, unknown>): string[] {
  const statements = entry.statements as { recorded?: unknown } | string | undefined;
  const found: Array<[string, unknown]> = [
    ['statements.recorded', typeof statements === 'object' ? statements?.recorded : undefined],
    ['record', entry.record],
    ['migrations', entry.migrations],
  ];
  return found.filter(([, v]) => typeof v === 'string' && v.startsWith('s3://')).map(([option]) => option);
}

/** `--subnet-ids subnet-0a1b2c,subnet-3d4e5f`: one or more subnet ids, comma-separated. */
export function parseSubnetIds(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const ids = value
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const bad = ids.filter((id) => !/^subnet-[0-9a-f]+$/.test(id));
  if (ids.length === 0 || bad.length)
    throw new UsageError(
      `--subnet-ids: expected subnet ids such as subnet-0a1b2c3d, comma-separated, got "${bad.join(',') || value}"`,
    );
  return ids;
}

/**
 * The interface endpoints a hook in private subnets without a NAT gateway needs: without one,
 * the call to that service hangs until the hook's time runs out. CodeDeploy always (the report);
 * CloudWatch (`monitoring`) for the alarms, metrics and target-groups checks; ECS and Elastic Load
 * Balancing for `auto` targets and `discover: true`; Secrets Manager and SSM for secret
 * references; S3 for statements recorded there and a migration rehearsal's `s3://` migrations
 * (a gateway endpoint serves as well); SNS and EventBridge (`events`) for notifications. No KMS: Secrets Manager and SSM decrypt with a customer-managed key on the hook's
 * behalf (the role's kms:Decrypt is conditioned on kms:ViaService). `text` is the config file as
 * written, where the secret references still stand.
 */
export function vpcEndpointsNeeded(config: LoadedConfig, text: string): EndpointNeed[] {
  const needs = new Map<string, string[]>();
  const need = (service: string, why: string) => needs.set(service, [...(needs.get(service) ?? []), why]);
  need('codedeploy', 'the verdict report');

  const discovery: string[] = autoTargetNames(config.targets).map((name) => `targets.${name}: auto`);
  for (const [name, entry] of Object.entries(config.config.checks)) {
    const type = String(entry.type);
    if (CLOUDWATCH_CHECK_TYPES.includes(type)) need('monitoring', `${type} check ${name}`);
    if (type === 'target-groups' && (entry as { discover?: boolean }).discover)
      discovery.push(`${type} check ${name} (discover: true)`);
    for (const option of s3Options(entry)) need('s3', `${type} check ${name} (${option})`);
  }
  for (const why of discovery) {
    need('ecs', why);
    need('elasticloadbalancing', why);
  }

  const written = text
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, ''))
    .join('\n');
  const providers = new Set([...written.matchAll(SECRET_REFERENCE)].map((m) => m[1]!));
  for (const provider of providers) need(provider, `\${${provider}:...} in the config`);

  // Slack and webhooks are outside AWS: they need a NAT gateway, which no endpoint replaces.
  const notify = config.config.notify;
  if (notify?.sns.length) need('sns', 'notify.sns');
  if (notify?.eventbridge.length) need('events', 'notify.eventbridge');

  return SERVICES.filter((s) => needs.has(s)).map((service) => ({ service, why: needs.get(service)! }));
}
