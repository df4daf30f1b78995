import { readFile } from 'node:fs/promises';
import type { CheckType, PreflightLine } from '../../checks/check-type';
import { loadConfig, type LoadedConfig } from '../../config/config';
import { describeConfigLocation, fillConfigLocation, isRemoteConfig } from '../../config/config-location';
import { awsConfigReader, type ConfigReader } from '../../config/config-reader';
import { parseTenantConfig } from '../../config/tenant-config';
import { awsSecretResolvers } from '../../hooks/hook-config';
import { isAutoTarget } from '../../lib/auto-target';
import { ConfigError, errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../command';
import { parseCommandArgs } from '../command-args';
import { configPathFrom } from './check';
import {
  discoverDeploymentTargets,
  parseDeploymentId,
  requireDeploymentForAuto,
} from '../deployment-targets';
import { terminalStyle } from '../../checks/terminal-style';
import { parseSubnetIds, vpcEndpointsNeeded } from '../vpc-endpoints';
import { subjectFromArgs, TENANT_ARG_OPTIONS, TENANT_ARG_USAGE, tenantRulesFromArgs } from '../tenant-args';
import { UsageError } from '../usage-error';

const TARGET_TIMEOUT_MS = 5_000;
/** Each contract load and each CloudWatch question gets this long, retries included. */
const STEP_TIMEOUT_MS = 10_000;
const OPTIONS = {
  config: { type: 'string' },
  location: { type: 'string' },
  'without-tenant-rules': { type: 'boolean' },
  ...TENANT_ARG_OPTIONS,
  'deployment-id': { type: 'string' },
  'subnet-ids': { type: 'string' },
} as const;
const ENV_REFERENCE = /\$\{env:([^}:]+)(:-[^}]*)?\}/g;

type Line = PreflightLine;

/** Every `${env:NAME}` without a default whose variable is unset or empty (all of them, not just the first). */
export function missingEnvReferences(text: string, env: NodeJS.ProcessEnv): string[] {
  const missing = new Set<string>();
  for (const line of text.split('\n')) {
    const content = line.replace(/(^|\s)#.*$/, '');
    for (const [, name, fallback] of content.matchAll(ENV_REFERENCE)) {
      if (fallback === undefined && !env[name!]) missing.add(name!);
    }
  }
  return [...missing];
}

/** Whether a target answers HTTP at all: any status counts; a refused connection, a timeout or bad TLS does not. */
async function probeTarget(name: string, url: URL): Promise<Line> {
  const started = performance.now();
  const subject = `target ${name} ${url.href}`;
  try {
    const res = await fetch(url, {
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(TARGET_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return {
      status: 'ok',
      text: `${subject} answered ${res.status} in ${Math.round(performance.now() - started)} ms`,
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (err as Error).name === 'TimeoutError'
        ? `no answer within ${TARGET_TIMEOUT_MS} ms`
        : (cause?.code ?? cause?.message ?? errorMessage(err));
    return { status: 'fail', text: `${subject} did not answer: ${why}` };
  }
}

/** What a step may use: its own timeout, and a deadline for the loaders that budget by one. */
function stepContext() {
  return { signal: AbortSignal.timeout(STEP_TIMEOUT_MS), deadline: Date.now() + STEP_TIMEOUT_MS };
}

/** Seams for tests and for callers that bring their own check types (and with them their own AWS clients). */
export interface ValidateCommandOptions {
  checkTypes?: readonly CheckType[];
  /** Reads a `--location` config (default: S3 and SSM through the caller's credentials). */
  configReader?: ConfigReader;
}

/** A config ready for the pre-flight steps: where it came from, its text and what it built. */
interface ValidatedConfig {
  source: string;
  text: string | undefined;
  config: LoadedConfig;
  /** Said on the line that reports the config valid, e.g. under which tenant rules. */
  scope: string;
}

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>;

/** A local file, as the hooks of a per-service stack load it; a string is the failure to print. */
async function localConfig(
  path: string,
  env: NodeJS.ProcessEnv,
  options: ValidateCommandOptions,
): Promise<ValidatedConfig | string> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const missing = text === undefined ? [] : missingEnvReferences(text, env);
  if (missing.length) return `environment variables not set: ${missing.join(', ')}`;
  // Secret references resolve as in the hooks, with the caller's AWS credentials.
  const config = await loadConfig(path, {
    env,
    resolvers: awsSecretResolvers,
    ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
  });
  return { source: path, text, config, scope: '' };
}

/**
 * The config a platform hook would read for the service the flags name: the location filled as
 * the hook fills it, read through the hook's reader, and loaded through the same tenant rules.
 */
async function remoteConfig(
  values: Values,
  env: NodeJS.ProcessEnv,
  options: ValidateCommandOptions,
): Promise<ValidatedConfig> {
  const spec = values.location as string;
  if (!isRemoteConfig(spec))
    throw new UsageError(`--location must be an s3://... or ssm:/... location, got ${JSON.stringify(spec)}`);
  const subject = subjectFromArgs(values);
  const location = fillConfigLocation(spec, subject);
  if (location.kind === 'file') throw new UsageError(`--location ${spec} names a file`);
  const source = describeConfigLocation(location);
  const read = await (options.configReader ?? awsConfigReader()).read(
    location,
    undefined,
    AbortSignal.timeout(STEP_TIMEOUT_MS),
  );
  if (read === 'unchanged')
    throw new ConfigError(`${source}: the reader answered "unchanged" to a first read`);
  const rules = values['without-tenant-rules'] ? undefined : tenantRulesFromArgs(values, subject, env);
  const config = await parseTenantConfig(read.text, {
    source,
    rules,
    resolvers: awsSecretResolvers,
    env,
    ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
  });
  return {
    source,
    text: read.text,
    config,
    scope: rules ? ` for ${rules.tenant} under the platform's tenant rules` : '',
  };
}

/**
 * `greenlight validate`: pre-flight before a deployment. The config is valid (exit 2 if not, with
 * every unset `${env:...}` listed), every target answers HTTP, every contract a `schema` or
 * `session` check is configured with loads and validates, and every alarm an `alarms` check names
 * exists (asked only when AWS credentials are present; skipped, saying so, when not). Anything
 * that failed exits 1.
 */
export function createValidateCommand(options: ValidateCommandOptions = {}): Command {
  const command: Command = {
    name: 'validate',
    summary:
      'Pre-flight: the config is valid, every ${env:...} resolves, the targets answer, contracts load, alarms exist.',
    usage:
      'greenlight validate [--config FILE | --location LOCATION (--application APP --deployment-group GROUP | --cluster C --service S)] [--deployment-id ID] [--subnet-ids IDS]\n\n' +
      '  --config FILE       greenlight.yml (default: $GREENLIGHT_CONFIG, else ./greenlight.yml)\n' +
      "  --location LOCATION a platform stack's configLocation (s3://... or ssm:/...): the config its hooks read for the service\n" +
      '                      named below, checked against the tenant rules as the hooks check it\n' +
      TENANT_ARG_USAGE +
      '  --without-tenant-rules  a --location config of a stack that is not a platform stack\n' +
      '  --deployment-id ID  the CodeDeploy deployment (d-...) whose listeners replace `auto` targets\n' +
      '  --subnet-ids IDS    the hooks run in these subnets (the subnetIds param): name the VPC endpoints they need\n' +
      'exit codes: 0 ready, 1 a target, contract, alarm or discovery failed, 2 usage or config error',
    async run(args, io) {
      const style = terminalStyle(io);
      const MARKS = {
        ok: style.paint('good', style.color ? '✓' : 'ok  '),
        fail: style.paint('bad', style.color ? '✗' : 'FAIL'),
        skip: style.paint('warn', style.color ? '-' : 'skip'),
        note: style.paint('dim', style.color ? '•' : 'note'),
      };
      const print = (line: Line) => io.stdout.write(`${MARKS[line.status]} ${redactText(line.text)}\n`);
      const usage = (err: UsageError) => {
        io.stderr.write(`greenlight validate: ${err.message}\nusage: ${command.usage.split('\n')[0]}\n`);
        return EXIT_USAGE;
      };
      let values;
      let deploymentId: string | undefined;
      let subnetIds: string[] | undefined;
      try {
        values = parseCommandArgs(args, OPTIONS);
        deploymentId = parseDeploymentId(values['deployment-id'] as string | undefined);
        subnetIds = parseSubnetIds(values['subnet-ids'] as string | undefined);
        if (values.location !== undefined && values.config !== undefined)
          throw new UsageError('--config reads a file and --location a platform location: give one');
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        return usage(err);
      }
      let loaded: ValidatedConfig;
      try {
        const found =
          values.location !== undefined
            ? await remoteConfig(values, io.env, options)
            : await localConfig(configPathFrom(values.config as string | undefined, io), io.env, options);
        if (typeof found === 'string') {
          print({ status: 'fail', text: found });
          return EXIT_USAGE;
        }
        loaded = found;
        requireDeploymentForAuto(loaded.config.targets, deploymentId);
      } catch (err) {
        if (err instanceof UsageError) return usage(err);
        if (!(err instanceof ConfigError)) throw err;
        print({ status: 'fail', text: `config: ${err.message}` });
        return EXIT_USAGE;
      }
      const { config, text } = loaded;
      const checks = Object.keys(config.config.checks).length;
      const hooks = Object.values(config.config.hooks).filter((names) => names?.length).length;
      print({
        status: 'ok',
        text: `config ${loaded.source} is valid${loaded.scope}: ${checks} check${checks === 1 ? '' : 's'} at ${hooks} lifecycle event${hooks === 1 ? '' : 's'}`,
      });
      if (subnetIds) {
        const region = io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION || '<region>';
        print({
          status: 'note',
          text: `hooks in ${subnetIds.join(', ')} reach AWS through a NAT gateway or these VPC interface endpoints (a call with neither hangs until the hook times out):`,
        });
        for (const { service, why } of vpcEndpointsNeeded(config, text ?? ''))
          print({ status: 'note', text: `com.amazonaws.${region}.${service}: ${why.join('; ')}` });
      }
      const found = await discoverDeploymentTargets(config.targets, deploymentId, 'validate');
      const discoveryLines: Line[] = [];
      if (found.discovery) {
        const discovered = Object.keys(config.targets)
          .filter((name) => isAutoTarget(config.targets[name]!) && !isAutoTarget(found.targets[name]!))
          .map((name) => `${name} ${found.targets[name]!.href}`);
        discoveryLines.push(
          found.discovery.outcome === 'passed'
            ? {
                status: 'ok',
                text: `targets of deployment ${deploymentId}: ${discovered.join(', ')} (${found.discovery.message})`,
              }
            : { status: 'fail', text: `discovery ${found.discovery.outcome}: ${found.discovery.message}` },
        );
      }
      // A target discovery could not find is not probed: its line above says why.
      const targets = Object.entries(found.targets).filter(([, url]) => !isAutoTarget(url));
      // Everything is asked at once and printed in a fixed order: the slowest step sets the time.
      const pending: Promise<Line[]>[] = [
        Promise.resolve(discoveryLines),
        ...targets.map(([name, url]) => probeTarget(name, url).then((l) => [l])),
        ...config.preflights.map((preflight) =>
          preflight.run({ targets: found.targets, env: io.env, step: stepContext }),
        ),
      ];
      let healthy = true;
      const settled = pending.map((step) =>
        step.catch((err: unknown): Line[] => [
          { status: 'fail', text: `validation step failed: ${errorMessage(err)}` },
        ]),
      );
      for (const step of settled) {
        for (const line of await step) {
          print(line);
          healthy &&= line.status !== 'fail';
        }
      }
      return healthy ? EXIT_OK : EXIT_FAILED;
    },
  };
  return command;
}

export const validateCommand = createValidateCommand();
