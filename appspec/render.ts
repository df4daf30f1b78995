import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, parseDocument, type Document } from 'yaml';
import type { LifecycleEvent } from '../checks/types';
import { CODEDEPLOY_HOOK_PREFIX } from './validate';

/** Where a task may run in a VPC: CodeDeploy wants all three or none. */
export interface AwsvpcConfiguration {
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: 'ENABLED' | 'DISABLED';
}

/** One capacity provider of the replacement task set's strategy. */
export interface CapacityProviderStrategyItem {
  capacityProvider: string;
  /** Tasks run on this provider before the weights apply (one provider of a strategy at most). */
  base?: number;
  weight?: number;
}

export interface RenderAppspecOptions {
  taskDefinition: string;
  containerName: string;
  containerPort: number;
  platformVersion?: string;
  network?: AwsvpcConfiguration;
  capacityProviderStrategy?: readonly CapacityProviderStrategyItem[];
  hooks: ReadonlyArray<{ event: LifecycleEvent; functionName: string }>;
  format?: 'yaml' | 'json';
  /** The template to fill (default: appspec/appspec.yml). */
  templateText?: string;
}

/** The hook function's name for an event, as serverless.yml names it. */
export function hookFunctionName(service: string, stage: string, event: LifecycleEvent): string {
  return `${CODEDEPLOY_HOOK_PREFIX}${service}-${stage}-${event}`;
}

/** appspec/appspec.yml, beside this module in the source tree or two levels up from the build. */
export function defaultTemplateText(): string {
  const candidates = [join(__dirname, 'appspec.yml'), join(__dirname, '..', '..', 'appspec', 'appspec.yml')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`appspec template not found (looked in ${candidates.join(', ')})`);
  return readFileSync(found, 'utf8');
}

/**
 * Fills the ECS appspec template: task definition, container and port, optional platform version,
 * capacity provider strategy and network configuration, and one hook per event. YAML keeps the template's comments; JSON is
 * what CodePipeline's ECS blue/green action also accepts.
 */
export function renderAppspec(options: RenderAppspecOptions): string {
  const doc: Document = parseDocument(options.templateText ?? defaultTemplateText());
  const first = isMap(doc.contents) ? doc.contents.items[0] : undefined;
  if (first && isScalar(first.key))
    first.key.commentBefore = ' ECS appspec for CodeDeploy, rendered by `greenlight appspec render`.';
  const props = ['Resources', 0, 'TargetService', 'Properties'];
  doc.setIn([...props, 'TaskDefinition'], options.taskDefinition);
  doc.setIn([...props, 'LoadBalancerInfo', 'ContainerName'], options.containerName);
  doc.setIn([...props, 'LoadBalancerInfo', 'ContainerPort'], options.containerPort);
  if (options.platformVersion) doc.setIn([...props, 'PlatformVersion'], options.platformVersion);
  if (options.capacityProviderStrategy?.length) {
    doc.setIn(
      [...props, 'CapacityProviderStrategy'],
      options.capacityProviderStrategy.map((item) => ({
        CapacityProvider: item.capacityProvider,
        ...(item.base === undefined ? {} : { Base: item.base }),
        ...(item.weight === undefined ? {} : { Weight: item.weight }),
      })),
    );
  }
  if (options.network) {
    doc.setIn([...props, 'NetworkConfiguration'], {
      AwsvpcConfiguration: {
        Subnets: options.network.subnets,
        SecurityGroups: options.network.securityGroups,
        AssignPublicIp: options.network.assignPublicIp,
      },
    });
  }
  doc.set('Hooks', doc.createNode(options.hooks.map((h) => ({ [h.event]: h.functionName }))));
  if (options.format === 'json') {
    // JSON has no 0.0; CodeDeploy's JSON appspecs write the version exactly so.
    return JSON.stringify(doc.toJS(), null, 2).replace(/^(\s*"version": )0(,?)$/m, '$10.0$2') + '\n';
  }
  return doc.toString({ lineWidth: 0 });
}
