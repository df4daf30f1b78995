import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { LIFECYCLE_EVENTS } from '../checks/types';
import { formatPath } from '../lib/config-issues';
import { describe, keyOf, type ErrorFn, type Path } from './yaml-fields';

export const CODEDEPLOY_HOOK_PREFIX = 'CodeDeployHook_';
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]+)?$/;
const PARTIAL_ARN = /^\d{12}:function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]+)?$/;

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

/** Hooks: single-key mappings of ECS lifecycle events to this service's Lambda functions. */
export function validateHooks(
  node: Node | undefined,
  error: ErrorFn,
  warnings: string[],
  hooks: Array<{ event: string; functionName: string }>,
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
