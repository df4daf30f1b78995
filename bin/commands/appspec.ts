import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import {
  hookFunctionName,
  renderAppspec,
  type CapacityProviderStrategyItem,
  type RenderAppspecOptions,
} from '../../appspec/render';
import {
  CAPACITY_PROVIDER_BASE_MAX,
  CAPACITY_PROVIDER_WEIGHT_MAX,
  findPackageOutput,
  packagedFunctionNames,
  validateAppspec,
} from '../../appspec/validate';
import { LIFECYCLE_EVENTS, type LifecycleEvent } from '../../checks/types';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command, type CommandIO } from '../command';

const USAGE = `greenlight appspec render --task-definition ARN --container NAME --port N
                         [--platform-version V] [--subnets ID,ID --security-groups ID,ID [--assign-public-ip ENABLED|DISABLED]]
                         [--capacity-provider-strategy capacityProvider=NAME[,base=N][,weight=N] ...]
                         [--service NAME] [--stage STAGE] [--events E,E | --config greenlight.yml]
                         [--format yaml|json] [--out FILE]
       greenlight appspec validate FILE [--package DIR]`;

class UsageError extends Error {}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function resolvePath(io: CommandIO, path: string): string {
  return isAbsolute(path) ? path : join(io.cwd, path);
}

/** The service name from serverless.yml in the working directory. */
function serviceFromServerlessYml(io: CommandIO): string | undefined {
  const file = join(io.cwd, 'serverless.yml');
  if (!existsSync(file)) return undefined;
  const doc = parse(readFileSync(file, 'utf8')) as { service?: unknown } | null;
  return typeof doc?.service === 'string' ? doc.service : undefined;
}

/** Events with checks listed in greenlight.yml (the only ones worth a hook). */
function eventsFromConfig(path: string): LifecycleEvent[] {
  const doc = parse(readFileSync(path, 'utf8')) as { hooks?: Record<string, unknown> } | null;
  const hooks = doc?.hooks ?? {};
  return LIFECYCLE_EVENTS.filter(
    (event) => Array.isArray(hooks[event]) && (hooks[event] as unknown[]).length > 0,
  );
}

const STRATEGY_FLAG = '--capacity-provider-strategy';
const STRATEGY_FORMAT = 'capacityProvider=NAME[,base=N][,weight=N]';

/** One `--capacity-provider-strategy` value, in the AWS CLI's shorthand for the same item. */
function strategyItem(value: string): CapacityProviderStrategyItem {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const at = part.indexOf('=');
    const key = at === -1 ? part.trim() : part.slice(0, at).trim();
    if (at === -1 || !['capacityProvider', 'base', 'weight'].includes(key) || fields.has(key))
      throw new UsageError(`${STRATEGY_FLAG}: expected ${STRATEGY_FORMAT}, got "${value}"`);
    fields.set(key, part.slice(at + 1).trim());
  }
  const capacityProvider = fields.get('capacityProvider');
  if (!capacityProvider)
    throw new UsageError(`${STRATEGY_FLAG}: capacityProvider=NAME is required, got "${value}"`);
  const item: CapacityProviderStrategyItem = { capacityProvider };
  for (const [key, max] of [
    ['base', CAPACITY_PROVIDER_BASE_MAX],
    ['weight', CAPACITY_PROVIDER_WEIGHT_MAX],
  ] as const) {
    const text = fields.get(key);
    if (text === undefined) continue;
    const n = Number(text);
    if (text === '' || !Number.isInteger(n) || n < 0 || n > max)
      throw new UsageError(`${STRATEGY_FLAG}: ${key} must be an integer 0-${max}, got "${text}"`);
    item[key] = n;
  }
  return item;
}

function renderOptions(args: string[], io: CommandIO): { options: RenderAppspecOptions; out?: string } {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      'task-definition': { type: 'string' },
      container: { type: 'string' },
      port: { type: 'string' },
      'platform-version': { type: 'string' },
      subnets: { type: 'string' },
      'security-groups': { type: 'string' },
      'assign-public-ip': { type: 'string' },
      'capacity-provider-strategy': { type: 'string', multiple: true },
      service: { type: 'string' },
      stage: { type: 'string' },
      events: { type: 'string' },
      config: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const required = (name: 'task-definition' | 'container' | 'port') => {
    const value = values[name];
    if (!value) throw new UsageError(`--${name} is required`);
    return value;
  };
  const port = Number(required('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new UsageError(`--port: expected a port number 1-65535, got "${values.port}"`);
  const format = values.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json')
    throw new UsageError(`--format: expected yaml or json, got "${format}"`);

  const subnets = list(values.subnets);
  const securityGroups = list(values['security-groups']);
  const assignPublicIp = values['assign-public-ip'];
  if ((subnets.length === 0) !== (securityGroups.length === 0) || (assignPublicIp && subnets.length === 0)) {
    throw new UsageError(
      '--subnets and --security-groups go together (with --assign-public-ip optional): give both or neither',
    );
  }
  if (assignPublicIp && assignPublicIp !== 'ENABLED' && assignPublicIp !== 'DISABLED') {
    throw new UsageError(`--assign-public-ip: expected ENABLED or DISABLED, got "${assignPublicIp}"`);
  }

  const service = values.service ?? serviceFromServerlessYml(io);
  if (!service)
    throw new UsageError('--service is required when there is no serverless.yml with a service name here');
  const stage = values.stage ?? 'dev';
  if (values.events && values.config) throw new UsageError('give --events or --config, not both');
  let events: LifecycleEvent[];
  if (values.events) {
    events = list(values.events) as LifecycleEvent[];
    const unknown = events.filter((e) => !(LIFECYCLE_EVENTS as readonly string[]).includes(e));
    if (unknown.length)
      throw new UsageError(
        `--events: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not an' : 'are not'} ECS lifecycle event${unknown.length === 1 ? '' : 's'}; expected ${LIFECYCLE_EVENTS.join(', ')}`,
      );
  } else {
    const config = values.config ? resolvePath(io, values.config) : join(io.cwd, 'greenlight.yml');
    if (values.config && !existsSync(config)) throw new UsageError(`--config: ${values.config} not found`);
    events = existsSync(config) ? eventsFromConfig(config) : [...LIFECYCLE_EVENTS];
  }

  const options: RenderAppspecOptions = {
    taskDefinition: required('task-definition'),
    containerName: required('container'),
    containerPort: port,
    hooks: events.map((event) => ({ event, functionName: hookFunctionName(service, stage, event) })),
    format,
  };
  if (values['platform-version']) options.platformVersion = values['platform-version'];
  const strategy = values['capacity-provider-strategy'] ?? [];
  if (strategy.length) options.capacityProviderStrategy = strategy.map(strategyItem);
  if (subnets.length)
    options.network = {
      subnets,
      securityGroups,
      assignPublicIp: (assignPublicIp as 'ENABLED' | 'DISABLED' | undefined) ?? 'DISABLED',
    };
  return values.out ? { options, out: resolvePath(io, values.out) } : { options };
}

async function render(args: string[], io: CommandIO): Promise<number> {
  const { options, out } = renderOptions(args, io);
  const text = renderAppspec(options);
  const check = validateAppspec(text);
  if (!check.ok) {
    for (const line of check.errors) io.stderr.write(`appspec: ${line}\n`);
    return EXIT_FAILED;
  }
  if (out) {
    writeFileSync(out, text);
    io.stderr.write(`wrote ${out} (${options.hooks.length} hooks)\n`);
  } else {
    io.stdout.write(text);
  }
  return EXIT_OK;
}

async function validate(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { package: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('expected one appspec file');
  const file = positionals[0]!;
  let text: string;
  try {
    text = readFileSync(resolvePath(io, file), 'utf8');
  } catch (err) {
    io.stderr.write(
      `${file}: cannot read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}\n`,
    );
    return EXIT_USAGE;
  }
  const packageDir = values.package ? resolvePath(io, values.package) : findPackageOutput(io.cwd);
  let functionNames: string[] | undefined;
  if (packageDir) {
    try {
      functionNames = packagedFunctionNames(packageDir);
    } catch (err) {
      io.stderr.write(`--package ${packageDir}: cannot read the package output: ${(err as Error).message}\n`);
      return EXIT_USAGE;
    }
  }
  const result = validateAppspec(text, functionNames ? { functionNames } : {});
  for (const line of result.warnings) io.stderr.write(`${file}: warning: ${line}\n`);
  for (const line of result.errors) io.stderr.write(`${file}: ${line}\n`);
  if (!result.ok) return EXIT_FAILED;
  const against = functionNames ? `, checked against ${functionNames.length} packaged functions` : '';
  io.stdout.write(
    `${file}: valid (${result.hooks.length} hook${result.hooks.length === 1 ? '' : 's'}${against})\n`,
  );
  return EXIT_OK;
}

/** `greenlight appspec render|validate`: the ECS appspec that names this stage's hook functions. */
export const appspecCommand: Command = {
  name: 'appspec',
  summary: 'Render the ECS appspec with this stage’s hook functions, or validate one.',
  usage: USAGE,
  async run(args, io) {
    const [sub, ...rest] = args;
    try {
      if (sub === 'render') return await render(rest, io);
      if (sub === 'validate') return await validate(rest, io);
      throw new UsageError(sub ? `unknown subcommand "${sub}"` : 'expected render or validate');
    } catch (err) {
      const known =
        err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
      if (!known) throw err;
      io.stderr.write(`greenlight appspec: ${(err as Error).message}\nusage: ${USAGE}\n`);
      return EXIT_USAGE;
    }
  },
};
