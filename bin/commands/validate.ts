import { readFile } from 'node:fs/promises';
import type { DescribeAlarmsInput } from '@aws-sdk/client-cloudwatch';
import type { CheckType } from '../../checks/check-type';
import { describeAll } from '../../checks/alarms';
import {
  defaultCloudWatchClient,
  failureMessage,
  type CloudWatchProvider,
} from '../../checks/cloudwatch/client';
import { describeError } from '../../checks/schema/connection';
import {
  DEFAULT_CONTRACT_MAX_BYTES,
  DEFAULT_CONTRACT_TIMEOUT_MS,
  loadContract,
  type ContractSource as SchemaContractSource,
} from '../../checks/schema/contract-source';
import {
  describeSource,
  loadSessionContract,
  type ContractSource as SessionContractSource,
} from '../../checks/session/contract';
import { loadConfig, type LoadedConfig } from '../../config/config';
import { awsSecretResolvers } from '../../hooks/hook-config';
import { isAutoTarget } from '../../lib/auto-target';
import { ConfigError, errorMessage } from '../../lib/errors';
import { silentLogger } from '../../lib/log';
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
import { UsageError } from '../usage-error';

const TARGET_TIMEOUT_MS = 5_000;
/** Each contract load and each CloudWatch question gets this long, retries included. */
const STEP_TIMEOUT_MS = 10_000;
/** DescribeAlarms accepts at most 100 names per call. */
const ALARM_NAMES_PER_CALL = 100;
const OPTIONS = {
  config: { type: 'string' },
  'deployment-id': { type: 'string' },
  'subnet-ids': { type: 'string' },
} as const;
const ENV_REFERENCE = /\$\{env:([^}:]+)(:-[^}]*)?\}/g;

/** Environment variables from which the SDK's default chain can take credentials without a file lookup of its own. */
const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
] as const;

/** One line of the pre-flight report; a `note` tells what validate cannot check itself. */
interface Line {
  status: 'ok' | 'fail' | 'skip' | 'note';
  text: string;
}

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

/** Whether the SDK will find credentials in this environment (a variable, a profile, web identity or the container endpoint). */
export function hasAwsCredentials(env: NodeJS.ProcessEnv): boolean {
  return CREDENTIAL_VARIABLES.some((name) => !!env[name]);
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

interface SchemaCheckOptions {
  contracts: { green: SchemaContractSource; blue?: SchemaContractSource };
  contractTimeoutMs?: number;
  contractMaxBytes?: number;
}

interface SessionCheckOptions {
  contracts?: { blue: SessionContractSource; green: SessionContractSource };
}

interface AlarmsCheckOptions {
  names?: string[];
  prefixes?: string[];
}

/** A `schema` check's contract, through the check's own loader (same timeout, size limit and validation). */
async function loadSchemaContract(
  check: string,
  version: 'green' | 'blue',
  source: SchemaContractSource,
  options: SchemaCheckOptions,
  targets: Readonly<Record<string, URL>>,
): Promise<Line> {
  const subject = `contract ${version} of schema check ${check}`;
  try {
    const loaded = await loadContract(source, {
      targets,
      signal: stepContext().signal,
      timeoutMs: options.contractTimeoutMs ?? DEFAULT_CONTRACT_TIMEOUT_MS,
      maxBytes: options.contractMaxBytes ?? DEFAULT_CONTRACT_MAX_BYTES,
    });
    return {
      status: 'ok',
      text: `${subject} loaded from ${loaded.from === 'inline' ? 'the config' : loaded.from}`,
    };
  } catch (err) {
    if (source.optional && (err as { statusCode?: number }).statusCode === 404) {
      return {
        status: 'skip',
        text: `${subject}: ${describeError(err)}; the source is optional, so ${version} is not checked`,
      };
    }
    // The loader's messages already name the file or the URL, and for a fetch the status and time.
    return { status: 'fail', text: `${subject}: ${describeError(err)}` };
  }
}

/** A `session` check's contract, through the check's own loader and its target fetch. */
async function loadSessionCheckContract(
  check: string,
  version: 'green' | 'blue',
  source: SessionContractSource,
  targets: Readonly<Record<string, URL>>,
): Promise<Line> {
  const subject = `contract ${version} of session check ${check}`;
  const from = describeSource(source, targets);
  const ctx = {
    ...stepContext(),
    targets,
    log: silentLogger,
    deployment: { lifecycleEvent: 'validate' },
  };
  try {
    await loadSessionContract(source, from, async (served) => {
      const { fetchJsonFromTarget } = await import('../../checks/session/end-to-end');
      return fetchJsonFromTarget(served, ctx);
    });
    return { status: 'ok', text: `${subject} loaded from ${'inline' in source ? 'the config' : from}` };
  } catch (err) {
    const why = errorMessage(err);
    return { status: 'fail', text: `${subject}: ${why.includes(from) ? '' : `${from}: `}${why}` };
  }
}

function contractLines(config: LoadedConfig, targets: Readonly<Record<string, URL>>): Promise<Line>[] {
  const lines: Promise<Line>[] = [];
  for (const [name, entry] of Object.entries(config.config.checks)) {
    if (entry.type === 'schema') {
      const options = entry as unknown as SchemaCheckOptions;
      for (const version of ['green', 'blue'] as const) {
        const source = options.contracts[version];
        if (source) lines.push(loadSchemaContract(name, version, source, options, targets));
      }
    } else if (entry.type === 'session') {
      const { contracts } = entry as unknown as SessionCheckOptions;
      if (!contracts) continue;
      for (const version of ['green', 'blue'] as const)
        lines.push(loadSessionCheckContract(name, version, contracts[version], targets));
    }
  }
  return lines;
}

/** The alarms that exist among `input`'s, by name and state now. */
async function describeAlarms(
  cloudWatch: CloudWatchProvider,
  input: DescribeAlarmsInput,
): Promise<Map<string, string>> {
  const alarms = await describeAll(await cloudWatch(), input, stepContext());
  return new Map(alarms.map((alarm) => [alarm.name, alarm.state]));
}

/** One line per configured alarm name and prefix: it exists (with its state now), or why not. */
async function alarmsCheckLines(
  check: string,
  options: AlarmsCheckOptions,
  cloudWatch: CloudWatchProvider,
): Promise<Line[]> {
  const names = options.names ?? [];
  const lines: Line[] = [];
  const found = new Map<string, string>();
  const unasked = new Set<string>();
  for (let i = 0; i < names.length; i += ALARM_NAMES_PER_CALL) {
    const batch = names.slice(i, i + ALARM_NAMES_PER_CALL);
    try {
      const page = await describeAlarms(cloudWatch, { AlarmNames: batch });
      for (const [name, state] of page) found.set(name, state);
    } catch (err) {
      batch.forEach((name) => unasked.add(name));
      lines.push({
        status: 'fail',
        text: `alarms check ${check}: could not ask CloudWatch whether ${batch.join(', ')} exist: ${failureMessage(err)}`,
      });
    }
  }
  for (const name of names.filter((n) => !unasked.has(n))) {
    const state = found.get(name);
    lines.push(
      state
        ? { status: 'ok', text: `alarm ${name} of alarms check ${check} exists (now ${state})` }
        : {
            status: 'fail',
            text: `alarm ${name} of alarms check ${check} does not exist: DescribeAlarms found no metric or composite alarm by that name (check the spelling and the region)`,
          },
    );
  }
  for (const prefix of options.prefixes ?? []) {
    const subject = `alarm prefix ${prefix} of alarms check ${check}`;
    try {
      const [first] = await describeAlarms(cloudWatch, { AlarmNamePrefix: prefix });
      lines.push(
        first
          ? { status: 'ok', text: `${subject} matches ${first[0]} (now ${first[1]})` }
          : { status: 'fail', text: `${subject} matches no alarm (DescribeAlarms found none)` },
      );
    } catch (err) {
      lines.push({ status: 'fail', text: `${subject}: could not ask CloudWatch: ${failureMessage(err)}` });
    }
  }
  return lines;
}

function alarmLines(
  config: LoadedConfig,
  env: NodeJS.ProcessEnv,
  cloudWatch: CloudWatchProvider,
): Promise<Line[]>[] {
  const checks = Object.entries(config.config.checks).filter(([, entry]) => entry.type === 'alarms');
  if (checks.length === 0) return [];
  if (!hasAwsCredentials(env)) {
    const why = `no AWS credentials in the environment (none of ${CREDENTIAL_VARIABLES.join(', ')} is set), so CloudWatch was not asked whether its alarms exist`;
    return checks.map(([name]) =>
      Promise.resolve([{ status: 'skip', text: `alarms check ${name}: ${why}` }]),
    );
  }
  return checks.map(([name, entry]) =>
    alarmsCheckLines(name, entry as unknown as AlarmsCheckOptions, cloudWatch),
  );
}

/** Seams for tests and for callers that bring their own check types or CloudWatch client. */
export interface ValidateCommandOptions {
  checkTypes?: readonly CheckType[];
  /** Where the alarm lookups get their client; by default the alarms check's own (honours `AWS_ENDPOINT_URL_CLOUDWATCH`). */
  cloudWatch?: CloudWatchProvider;
}

/**
 * `greenlight validate`: pre-flight before a deployment. The config is valid (exit 2 if not, with
 * every unset `${env:...}` listed), every target answers HTTP, every contract a `schema` or
 * `session` check is configured with loads and validates, and every alarm an `alarms` check names
 * exists (asked only when AWS credentials are present; skipped, saying so, when not). Anything
 * that failed exits 1.
 */
export function createValidateCommand(options: ValidateCommandOptions = {}): Command {
  const cloudWatch = options.cloudWatch ?? defaultCloudWatchClient;
  const command: Command = {
    name: 'validate',
    summary:
      'Pre-flight: the config is valid, every ${env:...} resolves, the targets answer, contracts load, alarms exist.',
    usage:
      'greenlight validate [--config FILE] [--deployment-id ID] [--subnet-ids IDS]\n\n' +
      '  --config FILE       greenlight.yml (default: $GREENLIGHT_CONFIG, else ./greenlight.yml)\n' +
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
      let path: string;
      let deploymentId: string | undefined;
      let subnetIds: string[] | undefined;
      try {
        const values = parseCommandArgs(args, OPTIONS);
        path = configPathFrom(values.config as string | undefined, io);
        deploymentId = parseDeploymentId(values['deployment-id'] as string | undefined);
        subnetIds = parseSubnetIds(values['subnet-ids'] as string | undefined);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        return usage(err);
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      const missing = text === undefined ? [] : missingEnvReferences(text, io.env);
      if (missing.length) {
        print({ status: 'fail', text: `environment variables not set: ${missing.join(', ')}` });
        return EXIT_USAGE;
      }
      let config;
      try {
        // Secret references resolve as in the hooks, with the caller's AWS credentials.
        config = await loadConfig(path, {
          env: io.env,
          resolvers: awsSecretResolvers,
          ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
        });
        requireDeploymentForAuto(config.targets, deploymentId);
      } catch (err) {
        if (err instanceof UsageError) return usage(err);
        if (!(err instanceof ConfigError)) throw err;
        print({ status: 'fail', text: `config: ${err.message}` });
        return EXIT_USAGE;
      }
      const checks = Object.keys(config.config.checks).length;
      const hooks = Object.values(config.config.hooks).filter((names) => names?.length).length;
      print({
        status: 'ok',
        text: `config ${path} is valid: ${checks} check${checks === 1 ? '' : 's'} at ${hooks} lifecycle event${hooks === 1 ? '' : 's'}`,
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
        ...contractLines(config, found.targets).map((line) => line.then((l) => [l])),
        ...alarmLines(config, io.env, cloudWatch),
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
