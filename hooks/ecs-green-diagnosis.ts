import { DescribeServiceRevisionsCommand, type ServiceRevision } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { readEvidence, type GreenEvidenceClients } from '../checks/diagnosis/green-evidence';
import { awsClientConfig } from '../lib/aws';
import { diagnoseGreenWithin, type GreenLocator } from './diagnose-green-within';
import type { EcsHookInvocation } from './ecs-hook-event';
import { defaultEcsClient, type EcsSender } from './ecs-rollback';

let defaultElbv2: GreenEvidenceClients['elbv2'] | undefined;

/** The clients the ECS hook diagnoses through: its own ECS client, and ELBv2 created on first use. */
export async function defaultEcsDiagnosisClients(
  ecs?: EcsSender,
  elbv2?: GreenEvidenceClients['elbv2'],
): Promise<GreenEvidenceClients> {
  return {
    ecs: ecs ?? (await defaultEcsClient()),
    elbv2: elbv2 ?? (defaultElbv2 ??= new ElasticLoadBalancingV2Client(awsClientConfig())),
  };
}

/** `arn:…:service/web-cluster/web` (or the older `service/web`) → `{ cluster: 'web-cluster', name: 'web' }`. */
function serviceParts(arn: string | undefined): { cluster?: string; name?: string } {
  const path = arn && /:service\/(.+)$/.exec(arn)?.[1];
  if (!path) return {};
  const parts = path.split('/');
  return parts.length >= 2 ? { cluster: parts[0], name: parts[1] } : { name: parts[0] };
}

/**
 * Green's target groups: those ECS resolved for the revision, else the alternate target group of
 * each load balancer (where an ECS blue/green deployment registers the new revision's tasks).
 */
function greenTargetGroups(revision: ServiceRevision): string[] {
  const resolved = (revision.resolvedConfiguration?.loadBalancers ?? [])
    .map((lb) => lb.targetGroupArn)
    .filter((arn): arn is string => !!arn);
  if (resolved.length) return [...new Set(resolved)];
  const alternates = (revision.loadBalancers ?? [])
    .map((lb) => lb.advancedConfiguration?.alternateTargetGroupArn)
    .filter((arn): arn is string => !!arn);
  return [...new Set(alternates)];
}

/** Finds green through the invocation's target service revision (ECS DescribeServiceRevisions). */
function serviceRevisionLocator(invocation: EcsHookInvocation, ecs: EcsSender): GreenLocator {
  return async (signal) => {
    const arn = invocation.targetServiceRevisionArn;
    if (!arn) return { unavailable: 'the event names no targetServiceRevisionArn' };
    const out = await readEvidence('ecs:DescribeServiceRevisions', () =>
      ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [arn] }), { abortSignal: signal }),
    );
    const revision =
      out.serviceRevisions?.find((r) => r.serviceRevisionArn === arn) ?? out.serviceRevisions?.[0];
    if (!revision) {
      const failure = out.failures?.[0];
      return {
        unavailable: `ECS DescribeServiceRevisions found no revision ${arn}${failure?.reason ? ` (${failure.reason})` : ''}`,
      };
    }
    const service = serviceParts(revision.serviceArn ?? invocation.serviceArn);
    const cluster = revision.clusterArn ?? service.cluster;
    if (!cluster || !service.name)
      return { unavailable: `cannot tell the cluster and service of ${revision.serviceArn ?? arn}` };
    return {
      cluster,
      service: service.name,
      ...(revision.taskDefinition ? { taskDefinition: revision.taskDefinition } : {}),
      targetGroupArns: greenTargetGroups(revision),
    };
  };
}

/**
 * One sentence on why green may not answer in an ECS built-in blue/green deployment: the target
 * service revision's stopped tasks (of its task definition) and its target groups' health, named
 * as a known cause (see diagnoseGreenWithin: bounded by `deadline`, never throws, names a denied
 * permission).
 */
export async function ecsGreenDiagnosis(
  invocation: EcsHookInvocation,
  deadline: number,
  clients: GreenEvidenceClients,
): Promise<string> {
  return diagnoseGreenWithin(serviceRevisionLocator(invocation, clients.ecs), deadline, clients);
}
