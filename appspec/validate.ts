import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { LIFECYCLE_EVENTS } from '../checks/types';
import { formatPath } from '../lib/config-issues';

/** What a validation found: errors make the appspec unusable; warnings are worth a look. */
export interface AppspecValidation {
  ok: boolean;
  errors: string[];
  warnings: string[];
  /** The hooks as found, in order (only when they could be read). */
  hooks: Array<{ event: string; functionName: string }>;
}

export interface ValidateAppspecOptions {
  /** Function names of this service's package output: every hook must name one of them. */
  functionNames?: readonly string[];
}

export const CODEDEPLOY_HOOK_PREFIX = 'CodeDeployHook_';
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]+)?$/;
const PARTIAL_ARN = /^\d{12}:function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]+)?$/;
const TASK_DEFINITION_ARN =
  /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]{1,255}:\d+$/;
/** CodePipeline's ECS blue/green action replaces this placeholder with the registered task definition. */
const TASK_DEFINITION_PLACEHOLDER = '<TASK_DEFINITION>';
const PROPERTY_KEYS = [
  'TaskDefinition',
  'LoadBalancerInfo',
  'PlatformVersion',
  'NetworkConfiguration',
  'CapacityProviderStrategy',
];
const AWSVPC_KEYS = ['Subnets', 'SecurityGroups', 'AssignPublicIp'];
const STRATEGY_KEYS = ['CapacityProvider', 'Base', 'Weight'];
/** ECS's ranges for a capacity provider strategy item (CapacityProviderStrategyItem). */
export const CAPACITY_PROVIDER_BASE_MAX = 100_000;
export const CAPACITY_PROVIDER_WEIGHT_MAX = 1_000;

type Path = PropertyKey[];

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    return String(node.source ?? v);
  }
  return typeof node;
}

function keyOf(pair: { key: unknown }): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

/** The function name inside a hook value (a name, a full ARN or a partial ARN), or undefined. */
export function hookFunctionNameOf(value: string): string | undefined {
  if (FUNCTION_NAME.test(value)) return value;
  return FUNCTION_ARN.exec(value)?.[1] ?? PARTIAL_ARN.exec(value)?.[1];
}

/** Function names in a `serverless package` output directory (its CloudFormation template). */
export function packagedFunctionNames(packageDir: string): string[] {
  const file = join(packageDir, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(readFileSync(file, 'utf8')) as {
    Resources?: Record<string, { Type?: string; Properties?: { FunctionName?: unknown } }>;
  };
  return Object.values(template.Resources ?? {})
    .filter((r) => r.Type === 'AWS::Lambda::Function' && typeof r.Properties?.FunctionName === 'string')
    .map((r) => r.Properties!.FunctionName as string);
}

/** The package output in `dir`, when there is one. */
export function findPackageOutput(dir: string): string | undefined {
  const candidate = join(dir, '.serverless');
  return existsSync(join(candidate, 'cloudformation-template-update-stack.json')) ? candidate : undefined;
}

/**
 * Checks an ECS appspec (YAML or JSON) the way CodeDeploy will read it: version 0.0, one
 * AWS::ECS::Service target, a task definition, a container name and numeric port, network
 * configuration all-or-none, capacity provider strategy items within ECS's ranges, and Hooks as
 * single-key objects naming ECS lifecycle events and valid Lambda functions (this service's
 * functions, when its package output is given).
 */
export function validateAppspec(text: string, options: ValidateAppspecOptions = {}): AppspecValidation {
  const errors: string[] = [];
  const warnings: string[] = [];
  const hooks: AppspecValidation['hooks'] = [];
  const error = (path: Path, message: string) => errors.push(`${formatPath(path)}: ${message}`);
  const result = () => ({ ok: errors.length === 0, errors, warnings, hooks });

  let doc: Document;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    errors.push(`(root): cannot parse: ${(err as Error).message}`);
    return result();
  }
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0]
      ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}`
      : '';
    const message = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    errors.push(`(root): invalid YAML${where}: ${message}`);
    return result();
  }
  const root = doc.contents;
  if (!isMap(root)) {
    error([], `expected a mapping with version, Resources and Hooks, got ${describe(root)}`);
    return result();
  }
  for (const pair of root.items) {
    const key = keyOf(pair);
    if (!['version', 'Resources', 'Hooks'].includes(key))
      error([key], 'unknown key (expected version, Resources, Hooks)');
  }

  const version = root.get('version', true) as Node | undefined;
  if (version === undefined) error(['version'], 'missing; expected 0.0');
  else if (!isScalar(version) || String(version.source ?? version.value) !== '0.0')
    error(['version'], `expected 0.0, got ${describe(version)}`);

  validateResources(root.get('Resources', true) as Node | undefined, error, warnings);
  validateHooks(root.get('Hooks', true) as Node | undefined, error, warnings, hooks, options.functionNames);
  return result();
}

type ErrorFn = (path: Path, message: string) => void;

function stringField(node: unknown, path: Path, error: ErrorFn, required: boolean): string | undefined {
  if (node === undefined) {
    if (required) error(path, 'missing');
    return undefined;
  }
  if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') {
    error(path, `expected a non-empty string, got ${describe(node)}`);
    return undefined;
  }
  return node.value;
}

function stringList(node: unknown, path: Path, error: ErrorFn): void {
  if (!isSeq(node) || node.items.length === 0) {
    error(path, `expected a non-empty list of strings, got ${describe(node)}`);
    return;
  }
  node.items.forEach((item, i) => {
    if (!isScalar(item) || typeof item.value !== 'string' || item.value === '')
      error([...path, i], `expected a string, got ${describe(item)}`);
  });
}

function validateResources(node: Node | undefined, error: ErrorFn, warnings: string[]): void {
  if (node === undefined)
    return error(['Resources'], 'missing; expected a list with one AWS::ECS::Service target');
  if (!isSeq(node))
    return error(['Resources'], `expected a list with one AWS::ECS::Service target, got ${describe(node)}`);
  if (node.items.length !== 1)
    return error(['Resources'], `expected exactly one target service, got ${node.items.length}`);
  const entry = node.items[0];
  if (!isMap(entry) || entry.items.length !== 1) {
    return error(
      ['Resources', 0],
      `expected a single-key mapping (the target's name, e.g. TargetService), got ${isMap(entry) ? `${entry.items.length} keys` : describe(entry)}`,
    );
  }
  const name = keyOf(entry.items[0]!);
  const base: Path = ['Resources', 0, name];
  const target = entry.items[0]!.value;
  if (!isMap(target))
    return error(base, `expected a mapping with Type and Properties, got ${describe(target)}`);
  for (const pair of target.items) {
    const key = keyOf(pair);
    if (key !== 'Type' && key !== 'Properties')
      error([...base, key], 'unknown key (expected Type, Properties)');
  }
  const type = target.get('Type', true);
  if (!isScalar(type) || type.value !== 'AWS::ECS::Service')
    error([...base, 'Type'], `expected AWS::ECS::Service, got ${describe(type)}`);
  const props = target.get('Properties', true);
  if (!isMap(props)) return error([...base, 'Properties'], `expected a mapping, got ${describe(props)}`);
  const at = (key: string): Path => [...base, 'Properties', key];
  for (const pair of props.items) {
    const key = keyOf(pair);
    if (!PROPERTY_KEYS.includes(key)) error(at(key), `unknown key (expected ${PROPERTY_KEYS.join(', ')})`);
  }

  const taskDefinition = stringField(props.get('TaskDefinition', true), at('TaskDefinition'), error, true);
  if (taskDefinition === TASK_DEFINITION_PLACEHOLDER) {
    warnings.push(
      `${formatPath(at('TaskDefinition'))}: ${TASK_DEFINITION_PLACEHOLDER} is a placeholder that CodePipeline fills in; CodeDeploy alone cannot deploy it`,
    );
  } else if (taskDefinition !== undefined && !TASK_DEFINITION_ARN.test(taskDefinition)) {
    error(
      at('TaskDefinition'),
      `expected a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION), got ${JSON.stringify(taskDefinition)}`,
    );
  }

  const lb = props.get('LoadBalancerInfo', true);
  if (lb === undefined) error(at('LoadBalancerInfo'), 'missing; expected ContainerName and ContainerPort');
  else if (!isMap(lb))
    error(
      at('LoadBalancerInfo'),
      `expected a mapping with ContainerName and ContainerPort, got ${describe(lb)}`,
    );
  else {
    const lbPath = at('LoadBalancerInfo');
    for (const pair of lb.items) {
      const key = keyOf(pair);
      if (key !== 'ContainerName' && key !== 'ContainerPort')
        error([...lbPath, key], 'unknown key (expected ContainerName, ContainerPort)');
    }
    stringField(lb.get('ContainerName', true), [...lbPath, 'ContainerName'], error, true);
    const port = lb.get('ContainerPort', true);
    if (port === undefined) error([...lbPath, 'ContainerPort'], 'missing');
    else if (
      !isScalar(port) ||
      typeof port.value !== 'number' ||
      !Number.isInteger(port.value) ||
      port.value < 1 ||
      port.value > 65_535
    ) {
      error(
        [...lbPath, 'ContainerPort'],
        `expected a port number 1-65535 (a number, not a string), got ${describe(port)}`,
      );
    }
  }

  const platform = props.get('PlatformVersion', true);
  if (platform !== undefined) stringField(platform, at('PlatformVersion'), error, false);

  const strategy = props.get('CapacityProviderStrategy', true);
  if (strategy !== undefined)
    validateCapacityProviderStrategy(strategy, at('CapacityProviderStrategy'), error);

  const network = props.get('NetworkConfiguration', true);
  if (network !== undefined) {
    const netPath = at('NetworkConfiguration');
    if (!isMap(network) || network.items.length !== 1 || !network.has('AwsvpcConfiguration')) {
      error(
        netPath,
        `expected a mapping with only AwsvpcConfiguration, got ${isMap(network) ? network.items.map(keyOf).join(', ') || 'an empty mapping' : describe(network)}`,
      );
    } else {
      const awsvpc = network.get('AwsvpcConfiguration', true);
      const awsPath: Path = [...netPath, 'AwsvpcConfiguration'];
      if (!isMap(awsvpc))
        error(awsPath, `expected a mapping with ${AWSVPC_KEYS.join(', ')}, got ${describe(awsvpc)}`);
      else {
        for (const pair of awsvpc.items) {
          const key = keyOf(pair);
          if (!AWSVPC_KEYS.includes(key))
            error([...awsPath, key], `unknown key (expected ${AWSVPC_KEYS.join(', ')})`);
        }
        const missing = AWSVPC_KEYS.filter((k) => !awsvpc.has(k));
        if (missing.length)
          error(awsPath, `${AWSVPC_KEYS.join(', ')} go together; missing ${missing.join(', ')}`);
        if (awsvpc.has('Subnets')) stringList(awsvpc.get('Subnets', true), [...awsPath, 'Subnets'], error);
        if (awsvpc.has('SecurityGroups'))
          stringList(awsvpc.get('SecurityGroups', true), [...awsPath, 'SecurityGroups'], error);
        const publicIp = awsvpc.get('AssignPublicIp', true);
        if (
          publicIp !== undefined &&
          (!isScalar(publicIp) || !['ENABLED', 'DISABLED'].includes(publicIp.value as string))
        ) {
          error([...awsPath, 'AssignPublicIp'], `expected ENABLED or DISABLED, got ${describe(publicIp)}`);
        }
      }
    }
  }
}

function integerField(node: unknown, path: Path, error: ErrorFn, max: number): number | undefined {
  if (node === undefined) return undefined;
  if (
    !isScalar(node) ||
    typeof node.value !== 'number' ||
    !Number.isInteger(node.value) ||
    node.value < 0 ||
    node.value > max
  ) {
    error(path, `expected an integer 0-${max} (a number, not a string), got ${describe(node)}`);
    return undefined;
  }
  return node.value;
}

/** Items of `CapacityProvider` (required), `Base` and `Weight`, as ECS takes them. */
function validateCapacityProviderStrategy(node: unknown, path: Path, error: ErrorFn): void {
  if (!isSeq(node) || node.items.length === 0) {
    error(
      path,
      `expected a non-empty list of items (- CapacityProvider: NAME, Base: N, Weight: N), got ${describe(node)}`,
    );
    return;
  }
  const providers = new Set<string>();
  const withBase: string[] = [];
  node.items.forEach((item, i) => {
    const itemPath: Path = [...path, i];
    if (!isMap(item)) {
      error(itemPath, `expected a mapping with ${STRATEGY_KEYS.join(', ')}, got ${describe(item)}`);
      return;
    }
    for (const pair of item.items) {
      const key = keyOf(pair);
      if (!STRATEGY_KEYS.includes(key))
        error([...itemPath, key], `unknown key (expected ${STRATEGY_KEYS.join(', ')})`);
    }
    const provider = stringField(
      item.get('CapacityProvider', true),
      [...itemPath, 'CapacityProvider'],
      error,
      true,
    );
    const base = integerField(
      item.get('Base', true),
      [...itemPath, 'Base'],
      error,
      CAPACITY_PROVIDER_BASE_MAX,
    );
    integerField(item.get('Weight', true), [...itemPath, 'Weight'], error, CAPACITY_PROVIDER_WEIGHT_MAX);
    if (provider === undefined) return;
    if (providers.has(provider))
      error(
        [...itemPath, 'CapacityProvider'],
        `${provider} is listed twice; a strategy names each capacity provider once`,
      );
    providers.add(provider);
    if (base !== undefined && base > 0) withBase.push(provider);
  });
  if (withBase.length > 1)
    error(path, `only one capacity provider may have a Base; ${withBase.join(' and ')} both do`);
}

function validateHooks(
  node: Node | undefined,
  error: ErrorFn,
  warnings: string[],
  hooks: AppspecValidation['hooks'],
  functionNames: readonly string[] | undefined,
): void {
  if (node === undefined || (isScalar(node) && node.value === null)) return;
  if (!isSeq(node))
    return error(
      ['Hooks'],
      `expected a list of single-key mappings (- BeforeInstall: FUNCTION), got ${describe(node)}`,
    );
  const seen = new Set<string>();
  node.items.forEach((item, i) => {
    if (!isMap(item) || item.items.length !== 1) {
      error(
        ['Hooks', i],
        `expected a single-key mapping (- EVENT: FUNCTION), got ${isMap(item) ? `${item.items.length} keys` : describe(item)}`,
      );
      return;
    }
    const event = keyOf(item.items[0]!);
    const path: Path = ['Hooks', i, event];
    if (!(LIFECYCLE_EVENTS as readonly string[]).includes(event)) {
      error(
        ['Hooks', i],
        `"${event}" is not an ECS lifecycle event; expected one of ${LIFECYCLE_EVENTS.join(', ')}`,
      );
      return;
    }
    if (seen.has(event)) error(path, `${event} is listed twice; CodeDeploy runs one function per event`);
    seen.add(event);
    const value = item.items[0]!.value;
    if (!isScalar(value) || typeof value.value !== 'string' || value.value === '') {
      error(path, `expected a Lambda function name or ARN, got ${describe(value)}`);
      return;
    }
    const functionName = hookFunctionNameOf(value.value);
    if (!functionName) {
      error(
        path,
        `"${value.value}" is not a Lambda function name (letters, digits, - and _, at most 64) or function ARN`,
      );
      return;
    }
    hooks.push({ event, functionName });
    if (!functionName.startsWith(CODEDEPLOY_HOOK_PREFIX)) {
      warnings.push(
        `${formatPath(path)}: "${functionName}" does not start with ${CODEDEPLOY_HOOK_PREFIX}; a service role with AWSCodeDeployRoleForECSLimited cannot invoke it`,
      );
    }
    if (functionNames) {
      if (!functionNames.includes(functionName)) {
        // The usual cause: the package was built for another stage (or service) than the appspec names.
        const packaged = functionNames.find(
          (n) => n.startsWith(CODEDEPLOY_HOOK_PREFIX) && n.endsWith(`-${event}`),
        );
        error(
          path,
          packaged
            ? `"${functionName}" is not in the package, whose ${event} hook is "${packaged}": render the appspec for the service and stage that were packaged (--service, --stage)`
            : `"${functionName}" is not one of this service's functions (${functionNames.filter((n) => n.startsWith(CODEDEPLOY_HOOK_PREFIX)).join(', ') || 'none'})`,
        );
        return;
      }
      const handles = LIFECYCLE_EVENTS.find((e) => functionName.endsWith(`-${e}`));
      if (handles && handles !== event)
        error(path, `"${functionName}" is the ${handles} hook, not the ${event} hook`);
    }
  });
}
