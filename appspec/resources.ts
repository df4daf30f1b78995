import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { formatPath } from '../lib/config-issues';
import {
  describe,
  integerField,
  keyOf,
  stringField,
  stringList,
  type ErrorFn,
  type Path,
} from './yaml-fields';

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

/** The one AWS::ECS::Service target: task definition, load balancer info, network and capacity. */
export function validateResources(node: Node | undefined, error: ErrorFn, warnings: string[]): void {
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
