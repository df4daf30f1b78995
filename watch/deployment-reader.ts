// Reads one deployment per poll: ECS service and deployments, CodeDeploy, stopped tasks, targets, alarms.
import {
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  GetDeploymentTargetCommand,
  type DeploymentInfo,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ListServiceDeploymentsCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import type { ApiPacer, Paced } from './api-pacer';
import {
  codeDeployView,
  lifecycleEventViews,
  revisionViews,
  serviceDeploymentView,
  serviceEventViews,
  serviceTargetGroups,
  serviceView,
} from './aws-views';
import { endingOf } from './deployment-ending';
import { appSpecHookFunctions, serviceHookFunctions, type HookFunctions } from './hook-functions';
import { HookVerdictReader } from './hook-verdict-reader';
import { ListenerReader } from './listener-reader';
import { remember } from './seen-ids';
import { TaskHealthReader } from './task-health-reader';
import {
  WatchSetupError,
  type Reading,
  type SourceError,
  type WatchClients,
  type WatchTarget,
} from './watch-target';
import { emptyEvidence, newRevision, type Evidence } from '../checks/diagnosis/evidence';

const MAX_EVENTS = 20;

const ms = (d: Date | undefined) => (d ? d.getTime() : undefined);
const defined = <T>(v: T | undefined): v is T => v !== undefined;

/**
 * Reads one deployment from every source, at most one call per API per poll (through the pacer):
 * ECS DescribeServices (deployments or task sets, events), ListServiceDeployments once and
 * DescribeServiceDeployments (ECS's own blue/green, linear, canary), stopped tasks of the new
 * revision (ListTasks + DescribeTasks for the ones not seen yet), ELBv2 DescribeTargetHealth (one
 * target group per poll, in turn) and DescribeListeners, CloudWatch DescribeAlarms for the alarms
 * the deployment group or the service names, and CodeDeploy GetDeployment / GetDeploymentTarget.
 */
export class DeploymentReader {
  private evidence: Evidence = emptyEvidence('rolling');
  private cluster = '';
  private service = '';
  private deploymentId: string | undefined;
  private serviceDeploymentArn: string | undefined;
  private readonly seenEvents = new Set<string>();
  private readonly health: TaskHealthReader;
  private readonly listeners: ListenerReader;
  private readonly hookVerdicts: HookVerdictReader;
  /** The hook functions found from the deployment, when no --hook-log-group was given. */
  private foundHooks: HookFunctions | undefined;

  constructor(
    private readonly clients: WatchClients,
    private readonly pacer: ApiPacer,
    private readonly target: WatchTarget,
    /** epoch ms the watch started; the hooks' log is read from an hour before. */
    startedAt = Date.now(),
  ) {
    this.health = new TaskHealthReader(clients, pacer);
    this.listeners = new ListenerReader(clients.elbv2, pacer);
    this.hookVerdicts = new HookVerdictReader(clients.logs, pacer, target.hookLogGroups, startedAt);
  }

  /** What the watch follows, for its first line. */
  describe(): string {
    const what = this.deploymentId
      ? `CodeDeploy deployment ${this.deploymentId}`
      : this.serviceDeploymentArn
        ? `service deployment ${this.serviceDeploymentArn.slice(this.serviceDeploymentArn.lastIndexOf('/') + 1)}`
        : `deployment ${this.evidence.newRevisionId ?? '(none)'}`;
    const hooks = this.foundHooks
      ? `; hook verdicts from ${this.hookVerdicts.groups.join(', ')} (found in ${this.foundHooks.source})`
      : '';
    return `${what} of service ${this.service} in cluster ${this.cluster} (${this.evidence.kind})${hooks}`;
  }

  /** Follows the hooks a deployment names, unless log groups were given. */
  private followHooks(found: HookFunctions | undefined): void {
    if (!found || this.foundHooks || this.hookVerdicts.following) return;
    this.foundHooks = found;
    this.hookVerdicts.follow(found.functions);
  }

  /** Finds the deployment to follow; a WatchSetupError when there is none to follow. */
  async start(): Promise<void> {
    if (this.target.deploymentId) {
      this.deploymentId = this.target.deploymentId;
      await this.readDeploymentGroup();
    } else {
      this.cluster = this.target.cluster!;
      this.service = this.target.service!;
    }
    const service = await this.setupCall('ecs:DescribeServices', () => this.describeService());
    this.evidence.kind = this.deploymentId
      ? 'codedeploy'
      : /^(BLUE_GREEN|LINEAR|CANARY)$/.test(service.deploymentConfiguration?.strategy ?? '')
        ? 'ecs-blue-green'
        : 'rolling';
    if (!this.deploymentId && service.deploymentController?.type === 'CODE_DEPLOY') {
      const sets = service.taskSets ?? [];
      // The replacement is the newest ACTIVE task set; with none, the PRIMARY one's deployment ended.
      const active = sets
        .filter((s) => s.status === 'ACTIVE')
        .sort((a, b) => (ms(b.createdAt) ?? 0) - (ms(a.createdAt) ?? 0));
      const current = active[0] ?? sets.find((s) => s.status === 'PRIMARY');
      if (!current?.externalId) {
        throw new WatchSetupError(
          `service ${this.service} (CODE_DEPLOY) has no task set with a deployment id`,
        );
      }
      this.deploymentId = current.externalId;
      this.evidence.kind = 'codedeploy';
      await this.readDeploymentGroup();
    }
    for (const d of service.deployments ?? []) if (d.status === 'PRIMARY') this.evidence.newRevisionId = d.id;
    this.applyService(service);
    if (this.evidence.kind === 'ecs-blue-green') this.followHooks(serviceHookFunctions(service));
    if (service.deploymentController?.type !== 'CODE_DEPLOY') await this.findServiceDeployment();
    for (const name of service.deploymentConfiguration?.alarms?.alarmNames ?? []) this.health.addAlarm(name);
    for (const e of service.events ?? []) if (e.id) this.seenEvents.add(e.id);
  }

  /** One poll of every source that is due. */
  async read(): Promise<Reading> {
    const errors: SourceError[] = [];
    const note = <T>(api: string, r: Paced<T>): T | undefined => {
      if (r.ok) return r.value;
      if (!r.skipped) errors.push({ api, message: r.message, throttled: r.throttled });
      return undefined;
    };
    const e = this.evidence;
    let primaryAnswered = false;

    const svc = note(
      'ecs:DescribeServices',
      await this.pacer.call('ecs:DescribeServices', () => this.describeService()),
    );
    if (svc) {
      this.applyService(svc);
      if (!this.deploymentId) primaryAnswered = true;
    }

    if (this.serviceDeploymentArn) {
      const arn = this.serviceDeploymentArn;
      const out = note(
        'ecs:DescribeServiceDeployments',
        await this.pacer.call('ecs:DescribeServiceDeployments', () =>
          this.clients.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })),
        ),
      );
      const sd = out?.serviceDeployments?.[0];
      if (sd) {
        e.serviceDeployment = serviceDeploymentView(arn, sd);
        for (const name of sd.alarms?.alarmNames ?? []) this.health.addAlarm(name);
      }
    }

    if (this.deploymentId) {
      const id = this.deploymentId;
      const got = note(
        'codedeploy:GetDeployment',
        await this.pacer.call('codedeploy:GetDeployment', () =>
          this.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId: id })),
        ),
      );
      const info = got?.deploymentInfo;
      if (info) {
        primaryAnswered = true;
        this.applyDeployment(id, info);
      }
      const target = note(
        'codedeploy:GetDeploymentTarget',
        await this.pacer.call('codedeploy:GetDeploymentTarget', () =>
          this.clients.codedeploy.send(
            new GetDeploymentTargetCommand({ deploymentId: id, targetId: `${this.cluster}:${this.service}` }),
          ),
        ),
      );
      const events = target?.deploymentTarget?.ecsTarget?.lifecycleEvents;
      if (events && e.codeDeploy) {
        e.codeDeploy.lifecycleEvents = lifecycleEventViews(events);
      }
    }

    await this.health.readStoppedTasks(note, e, this.cluster, this.service);
    await this.health.readTargetHealth(note, e);
    await this.health.readAlarms(note, e);
    await this.listeners.readListeners(note, e);
    await this.listeners.readListenerRules(note, e);
    await this.hookVerdicts.read(note, this.deploymentId ?? this.serviceDeploymentArn, e);

    return { evidence: structuredClone(e), ended: endingOf(e), primaryAnswered, errors };
  }

  private applyDeployment(id: string, info: DeploymentInfo): void {
    this.evidence.codeDeploy = codeDeployView(id, info, this.evidence.codeDeploy?.lifecycleEvents ?? []);
  }

  private async setupCall<T>(api: string, fn: () => Promise<T>): Promise<T> {
    const r = await this.pacer.call(api, fn);
    if (r.ok) return r.value;
    if (r.skipped) throw new WatchSetupError(`${api} was not called`);
    throw new WatchSetupError(`${api} failed: ${r.message}`, { cause: r.error });
  }

  private async describeService(): Promise<Service> {
    const out = await this.clients.ecs.send(
      new DescribeServicesCommand({ cluster: this.cluster, services: [this.service] }),
    );
    const service = out.services?.[0];
    if (!service) {
      const failure = out.failures?.[0];
      const err = new Error(
        `service ${this.service} in cluster ${this.cluster}: ${failure?.reason ?? 'not found'}${failure?.detail ? ` (${failure.detail})` : ''}`,
      );
      err.name = 'ServiceNotFoundException';
      throw err;
    }
    return service;
  }

  private async readDeploymentGroup(): Promise<void> {
    const id = this.deploymentId!;
    const info = (
      await this.setupCall('codedeploy:GetDeployment', () =>
        this.clients.codedeploy.send(new GetDeploymentCommand({ deploymentId: id })),
      )
    ).deploymentInfo;
    if (info) {
      this.applyDeployment(id, info);
      this.followHooks(appSpecHookFunctions(info));
    }
    if (!info?.applicationName || !info.deploymentGroupName) {
      throw new WatchSetupError(`CodeDeploy deployment ${id} names no application or deployment group`);
    }
    const group = (
      await this.setupCall('codedeploy:GetDeploymentGroup', () =>
        this.clients.codedeploy.send(
          new GetDeploymentGroupCommand({
            applicationName: info.applicationName,
            deploymentGroupName: info.deploymentGroupName,
          }),
        ),
      )
    ).deploymentGroupInfo;
    const ecsService = group?.ecsServices?.[0];
    if (!ecsService?.serviceName || !ecsService.clusterName) {
      throw new WatchSetupError(
        `deployment group ${info.deploymentGroupName} of ${info.applicationName} names no ECS service: is ${id} an ECS deployment?`,
      );
    }
    this.cluster ||= ecsService.clusterName;
    this.service ||= ecsService.serviceName;
    const pair = group?.loadBalancerInfo?.targetGroupPairInfoList?.[0];
    for (const arn of pair?.prodTrafficRoute?.listenerArns ?? [])
      this.listeners.addListener(arn, 'production');
    for (const arn of pair?.testTrafficRoute?.listenerArns ?? []) this.listeners.addListener(arn, 'test');
    if (group?.alarmConfiguration?.enabled !== false) {
      for (const a of group?.alarmConfiguration?.alarms ?? []) if (a.name) this.health.addAlarm(a.name);
    }
  }

  private async findServiceDeployment(): Promise<void> {
    const r = await this.pacer.call('ecs:ListServiceDeployments', () =>
      this.clients.ecs.send(
        new ListServiceDeploymentsCommand({ cluster: this.cluster, service: this.service }),
      ),
    );
    // Older regions and stand-ins without the API: the service's deployments tell the same story.
    if (!r.ok) return;
    const latest = [...(r.value.serviceDeployments ?? [])].sort(
      (a, b) => (ms(b.createdAt) ?? 0) - (ms(a.createdAt) ?? 0),
    )[0];
    if (latest?.serviceDeploymentArn) this.serviceDeploymentArn = latest.serviceDeploymentArn;
  }

  private applyService(s: Service): void {
    const e = this.evidence;
    e.service = serviceView(s, this.cluster);
    const ownTargetGroups = serviceTargetGroups(s);
    const revisions = revisionViews(s);
    if (this.deploymentId) {
      const replacement = revisions.find((r) => r.externalId === this.deploymentId);
      if (replacement) e.newRevisionId = replacement.id;
    }
    e.revisions = revisions;
    const next = newRevision(e);
    e.replacementTargetGroupArns = this.deploymentId
      ? (next?.targetGroupArns ?? [])
      : e.kind === 'rolling'
        ? ownTargetGroups
        : (this.listeners.greenTargetGroups ?? []);
    if (e.kind === 'ecs-blue-green') this.listeners.noteLoadBalancers(s);
    // ECS blue/green alternates between the service's target group and its alternate.
    this.health.followTargetGroups([
      ...new Set([
        ...e.replacementTargetGroupArns,
        ...ownTargetGroups,
        ...(s.loadBalancers ?? [])
          .map((lb) => lb.advancedConfiguration?.alternateTargetGroupArn)
          .filter(defined),
      ]),
    ]);
    const events = serviceEventViews(s);
    e.events = events.slice(0, MAX_EVENTS);
    this.pageOfEvents = events;
  }

  /** The whole page of events DescribeServices gave (up to 100), to find the new ones in. */
  private pageOfEvents: Evidence['events'] = [];

  /** Events not seen before, oldest first (and remembered as seen). */
  takeNewEvents(): Evidence['events'] {
    const fresh = this.pageOfEvents.filter((ev) => ev.id && !this.seenEvents.has(ev.id)).reverse();
    this.pageOfEvents = [];
    for (const ev of fresh) remember(this.seenEvents, ev.id);
    return fresh;
  }
}
