import type { DeploymentInfo, LifecycleEvent } from '@aws-sdk/client-codedeploy';
import type { Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import type { Listener, Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import type {
  CodeDeployView,
  Evidence,
  LifecycleEventView,
  ListenerView,
  RevisionView,
  ServiceDeploymentView,
  ServiceView,
} from '../checks/diagnosis/evidence';

/*
 * The SDK's answers, reduced to what the watch shows and diagnoses. Every field the SDK may leave
 * out stays out (never `undefined`), so evidence compares and serialises cleanly.
 */

const defined = <T>(v: T | undefined): v is T => v !== undefined;
const ms = (d: Date | undefined) => (d ? d.getTime() : undefined);
const optional = <K extends string, V>(key: K, value: V | undefined | null) =>
  (value === undefined || value === null || value === '' ? {} : { [key]: value }) as Partial<Record<K, V>>;

export function serviceView(s: Service, cluster: string): ServiceView {
  const config = s.deploymentConfiguration;
  return {
    arn: s.serviceArn ?? '',
    name: s.serviceName ?? '',
    cluster,
    controller: s.deploymentController?.type ?? 'ECS',
    desiredCount: s.desiredCount ?? 0,
    runningCount: s.runningCount ?? 0,
    pendingCount: s.pendingCount ?? 0,
    ...optional('minimumHealthyPercent', config?.minimumHealthyPercent),
    ...optional('maximumPercent', config?.maximumPercent),
    ...optional('healthCheckGracePeriodSeconds', s.healthCheckGracePeriodSeconds),
    ...(config?.deploymentCircuitBreaker
      ? {
          circuitBreaker: {
            enable: config.deploymentCircuitBreaker.enable ?? false,
            rollback: config.deploymentCircuitBreaker.rollback ?? false,
          },
        }
      : {}),
  };
}

/** The service's target groups (those of its load balancers). */
export function serviceTargetGroups(s: Service): string[] {
  return (s.loadBalancers ?? []).map((lb) => lb.targetGroupArn).filter(defined);
}

/** ECS deployments (rolling, ECS blue/green) and task sets (CodeDeploy, EXTERNAL) alike. */
export function revisionViews(s: Service): RevisionView[] {
  const deployments = (s.deployments ?? []).map((d) => ({
    id: d.id ?? '',
    status: d.status ?? 'UNKNOWN',
    ...optional('taskDefinition', d.taskDefinition),
    desired: d.desiredCount ?? 0,
    running: d.runningCount ?? 0,
    pending: d.pendingCount ?? 0,
    ...optional('failedTasks', d.failedTasks),
    ...optional('rolloutState', d.rolloutState),
    ...optional('rolloutStateReason', d.rolloutStateReason),
    targetGroupArns: serviceTargetGroups(s),
  }));
  const taskSets = (s.taskSets ?? []).map((t) => ({
    id: t.id ?? '',
    status: t.status ?? 'UNKNOWN',
    ...optional('taskDefinition', t.taskDefinition),
    desired: t.computedDesiredCount ?? 0,
    running: t.runningCount ?? 0,
    pending: t.pendingCount ?? 0,
    ...optional('trafficWeight', t.scale?.value),
    ...optional('externalId', t.externalId),
    targetGroupArns: (t.loadBalancers ?? []).map((lb) => lb.targetGroupArn).filter(defined),
  }));
  return [...deployments, ...taskSets];
}

/** The service's events, newest first, as DescribeServices gives them. */
export function serviceEventViews(s: Service): Evidence['events'] {
  return (s.events ?? []).map((ev) => ({
    id: ev.id ?? '',
    createdAt: ms(ev.createdAt) ?? 0,
    message: ev.message ?? '',
  }));
}

export function serviceDeploymentView(arn: string, sd: ServiceDeployment): ServiceDeploymentView {
  const target = sd.targetServiceRevision;
  const breaker = sd.deploymentCircuitBreaker;
  return {
    arn,
    status: sd.status ?? 'UNKNOWN',
    ...optional('statusReason', sd.statusReason),
    ...optional('lifecycleStage', sd.lifecycleStage),
    ...(target
      ? {
          target: {
            arn: target.arn ?? '',
            requested: target.requestedTaskCount ?? 0,
            running: target.runningTaskCount ?? 0,
            pending: target.pendingTaskCount ?? 0,
          },
        }
      : {}),
    ...(breaker
      ? {
          circuitBreaker: {
            status: breaker.status ?? 'DISABLED',
            failureCount: breaker.failureCount ?? 0,
            threshold: breaker.threshold ?? 0,
          },
        }
      : {}),
    ...(sd.alarms
      ? {
          alarms: {
            status: sd.alarms.status ?? 'DISABLED',
            alarmNames: sd.alarms.alarmNames ?? [],
            triggeredAlarmNames: sd.alarms.triggeredAlarmNames ?? [],
          },
        }
      : {}),
    ...optional('rollbackReason', sd.rollback?.reason),
  };
}

export function codeDeployView(
  deploymentId: string,
  info: DeploymentInfo,
  lifecycleEvents: LifecycleEventView[],
): CodeDeployView {
  return {
    deploymentId,
    status: info.status ?? 'Unknown',
    ...optional('errorCode', info.errorInformation?.code),
    ...optional('errorMessage', info.errorInformation?.message),
    rolledBack: Boolean(info.rollbackInfo?.rollbackDeploymentId),
    lifecycleEvents,
  };
}

/** GetDeploymentTarget's `ecsTarget.lifecycleEvents`. */
export function lifecycleEventViews(events: LifecycleEvent[]): LifecycleEventView[] {
  return events.map((l) => ({
    name: l.lifecycleEventName ?? 'unknown',
    status: l.status ?? 'Unknown',
    ...optional('startTime', ms(l.startTime)),
    ...optional('errorCode', l.diagnostics?.errorCode),
    ...optional('message', l.diagnostics?.message),
  }));
}

/** Where the listener's default action forwards (target groups of weight above zero). */
export function listenerView(l: Listener, role: ListenerView['role']): ListenerView {
  return {
    arn: l.ListenerArn ?? '',
    role,
    forwardsTo: (l.DefaultActions ?? [])
      .filter((a) => a.Type === 'forward')
      .flatMap((a) =>
        a.ForwardConfig?.TargetGroups?.length
          ? a.ForwardConfig.TargetGroups.filter((tg) => (tg.Weight ?? 1) > 0).map((tg) => tg.TargetGroupArn)
          : [a.TargetGroupArn],
      )
      .filter(defined),
  };
}

/** A listener rule (ECS built-in blue/green): its forward action's target groups and weights. */
export function listenerRuleView(r: Rule, role: ListenerView['role']): ListenerView {
  const weights = (r.Actions ?? [])
    .filter((a) => a.Type === 'forward')
    .flatMap((a) =>
      a.ForwardConfig?.TargetGroups?.length
        ? a.ForwardConfig.TargetGroups.map((tg) => ({ arn: tg.TargetGroupArn, weight: tg.Weight ?? 1 }))
        : [{ arn: a.TargetGroupArn, weight: 1 }],
    )
    .filter((w): w is { arn: string; weight: number } => w.arn !== undefined)
    .map((w) => ({ targetGroupArn: w.arn, weight: w.weight }));
  return {
    arn: r.RuleArn ?? '',
    role,
    forwardsTo: weights.filter((w) => w.weight > 0).map((w) => w.targetGroupArn),
    weights,
  };
}
