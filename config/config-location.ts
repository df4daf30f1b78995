import { ConfigError } from '../lib/errors';

/**
 * Where a hook's config comes from: the file packaged beside the bundle, an S3 object, or an SSM
 * parameter. `GREENLIGHT_CONFIG` names a file as before, or a template over the deployment:
 * `s3://bucket/greenlight/{application}/{deploymentGroup}.yml`, `ssm:/greenlight/{application}/{deploymentGroup}`.
 */
export type ConfigLocation =
  | { kind: 'file'; path: string }
  | { kind: 's3'; bucket: string; key: string }
  | { kind: 'ssm'; name: string };

/**
 * What fills a location template: for a CodeDeploy hook the application and deployment group
 * (from GetDeployment); for the ECS hook the cluster and service (from the event), with
 * `{application}` standing for the service and `{deploymentGroup}` for the cluster, and
 * `{hookDetails.NAME}` for a string the service's hook configuration passes.
 */
export interface DeploymentSubject {
  application: string;
  deploymentGroup: string;
  cluster?: string;
  service?: string;
  hookDetails?: Readonly<Record<string, unknown>>;
}

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)(?:\.([A-Za-z0-9_-]+))?\}/g;
/** A filled-in value may not climb out of its folder or name another bucket or parameter tree. */
const SAFE_VALUE = /^[A-Za-z0-9_+@=,-][A-Za-z0-9_.+@=,-]*$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Whether `GREENLIGHT_CONFIG` names a location in S3 or SSM rather than a packaged file. */
export function isRemoteConfig(spec: string): boolean {
  return spec.startsWith('s3://') || spec.startsWith('ssm:');
}

/** The placeholders a template uses, e.g. `['application', 'deploymentGroup']`. */
export function templatePlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map(([, name, field]) => (field ? `${name}.${field}` : name!));
}

/**
 * Checks a location template without filling it, so a bad `GREENLIGHT_CONFIG` is reported the
 * same on every invocation. Throws ConfigError naming what is wrong.
 */
export function checkConfigTemplate(spec: string): void {
  for (const placeholder of templatePlaceholders(spec)) {
    const [name] = placeholder.split('.');
    if (!['application', 'deploymentGroup', 'cluster', 'service', 'hookDetails'].includes(name!))
      throw new ConfigError(
        `config location ${spec}: unknown placeholder {${placeholder}}; known: {application}, {deploymentGroup}, {cluster}, {service}, {hookDetails.NAME}`,
      );
  }
  if (spec.startsWith('s3://')) {
    const rest = spec.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (!BUCKET.test(bucket))
      throw new ConfigError(`config location ${spec}: expected s3://BUCKET/KEY with a literal bucket name`);
    if (slash === -1 || slash === rest.length - 1)
      throw new ConfigError(`config location ${spec}: expected an object key after the bucket`);
  } else if (spec.startsWith('ssm:')) {
    if (!spec.startsWith('ssm:/') || spec.length < 'ssm:/x'.length)
      throw new ConfigError(`config location ${spec}: expected ssm:/PARAMETER/NAME`);
  }
}

function placeholderValue(spec: string, placeholder: string, subject: DeploymentSubject): string {
  const [name, field] = placeholder.split('.') as [string, string | undefined];
  let value: unknown;
  if (name === 'hookDetails') value = field ? subject.hookDetails?.[field] : undefined;
  else value = (subject as unknown as Record<string, unknown>)[name];
  if (typeof value !== 'string' || value === '') {
    const from =
      name === 'hookDetails'
        ? `the hook's hookDetails have no string "${field}"`
        : `the deployment gives no ${name}`;
    throw new ConfigError(`${spec}: {${placeholder}} cannot be filled: ${from}`);
  }
  if (!SAFE_VALUE.test(value))
    throw new ConfigError(
      `${spec}: {${placeholder}} is ${JSON.stringify(value)}, which is not a plain name (letters, digits, "_", "-", ".", not starting with ".")`,
    );
  return value;
}

/** `template` with its placeholders filled from `subject`; throws ConfigError naming the one that cannot be. */
export function fillTemplate(template: string, subject: DeploymentSubject): string {
  return template.replace(PLACEHOLDER, (_, name: string, field?: string) =>
    placeholderValue(template, field ? `${name}.${field}` : name, subject),
  );
}

/** The location for one deployment: a packaged file path as is, a template filled from `subject`. */
export function fillConfigLocation(spec: string, subject: DeploymentSubject): ConfigLocation {
  if (!isRemoteConfig(spec)) return { kind: 'file', path: spec };
  checkConfigTemplate(spec);
  const filled = fillTemplate(spec, subject);
  if (filled.startsWith('ssm:')) return { kind: 'ssm', name: filled.slice('ssm:'.length) };
  const rest = filled.slice('s3://'.length);
  const slash = rest.indexOf('/');
  return { kind: 's3', bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

/** A location as users write it: `s3://bucket/key`, `ssm:/name`, or the file path. */
export function describeConfigLocation(location: ConfigLocation): string {
  if (location.kind === 's3') return `s3://${location.bucket}/${location.key}`;
  if (location.kind === 'ssm') return `ssm:${location.name}`;
  return location.path;
}
