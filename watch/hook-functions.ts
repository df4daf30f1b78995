// Where greenlight's hooks log, found from the deployment itself when no --hook-log-group is given.
import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import type { Service } from '@aws-sdk/client-ecs';
import { parse } from 'yaml';

/** The hook functions a deployment names, and where they were found (for the timeline's first line). */
export interface HookFunctions {
  functions: string[];
  source: string;
}

/**
 * The Lambda functions of an ECS appspec's `Hooks` (`- AfterAllowTestTraffic: "CodeDeployHook_x"`),
 * when the deployment carries its appspec as content (`revisionType: AppSpecContent`, YAML or
 * JSON); undefined for an appspec kept in S3, or one that cannot be read.
 */
export function appSpecHookFunctions(info: DeploymentInfo): HookFunctions | undefined {
  const content = info.revision?.appSpecContent?.content;
  if (!content) return undefined;
  let doc: unknown;
  try {
    doc = parse(content);
  } catch {
    return undefined;
  }
  const hooks = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).Hooks : undefined;
  if (!Array.isArray(hooks)) return undefined;
  const functions = hooks
    .flatMap((entry) => (entry && typeof entry === 'object' ? Object.values(entry as object) : []))
    .filter((fn): fn is string => typeof fn === 'string' && fn.trim() !== '')
    .map((fn) => fn.trim());
  return functions.length
    ? { functions: [...new Set(functions)], source: "the deployment's appspec" }
    : undefined;
}

/** The Lambda functions of an ECS service's lifecycle hooks (ECS blue/green, linear and canary). */
export function serviceHookFunctions(service: Service): HookFunctions | undefined {
  const functions = (service.deploymentConfiguration?.lifecycleHooks ?? [])
    .map((hook) => hook.hookTargetArn)
    .filter((arn): arn is string => !!arn && /:lambda:.*:function:/.test(arn));
  return functions.length
    ? { functions: [...new Set(functions)], source: "the service's lifecycle hooks" }
    : undefined;
}
