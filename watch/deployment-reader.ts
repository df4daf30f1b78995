import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { FilterLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  GetDeploymentTargetCommand,
  type CodeDeployClient,
  type DeploymentInfo,
} from '@aws-sdk/client-codedeploy';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  type Service,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsErrorName } from '../lib/aws';
import type { ApiPacer, Paced } from './api-pacer';
import {
  codeDeployView,
  lifecycleEventViews,
  listenerRuleView,
  listenerView,
  revisionViews,
  serviceDeploymentView,
  serviceEventViews,
  serviceTargetGroups,
  serviceView,
} from './aws-views';
import { stoppedTaskView, targetView } from '../checks/diagnosis/task-views';
import { endingOf } from './deployment-ending';
import { filterTermOf, hookVerdictOf, latestVerdicts, logGroupOf } from './hook-verdicts';
import {
  emptyEvidence,
  newRevision,
  type Ending,
  type Evidence,
  type ListenerView,
  type StoppedTask,
} from '../checks/diagnosis/evidence';

/** The AWS clients the watch reads through (real SDK clients; only `send` is used). */
export interface WatchClients {
  ecs: Pick<ECSClient, 'send'>;
  elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>;
  cloudwatch: Pick<CloudWatchClient, 'send'>;
  codedeploy: Pick<CodeDeployClient, 'send'>;
  /** For the hooks' verdicts (`hookLogGroups`). */
  logs?: Pick<CloudWatchLogsClient, 'send'>;
}

/** What to follow: a service (its current deployment) or a CodeDeploy deployment. */
export interface WatchTarget {
  cluster?: string;
  service?: string;
  deploymentId?: string;
  /** Log groups (or Lambda function names) of greenlight hooks whose verdicts go on the timeline. */
  hookLogGroups?: string[];
}

/** The deployment or service cannot be followed at all (not found, no permission): nothing to wait for. */
export class WatchSetupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WatchSetupError';
  }
}

/** One failed call in a poll. */
export interface SourceError {
  api: string;
  message: string;
  throttled: boolean;
}

export interface Reading {
  evidence: Evidence;
  /** Where the deployment stands; undefined while it is in progress. */
  ended?: Exclude<Ending, 'stalled'>;
  /** Whether the primary source (ECS DescribeServices or CodeDeploy GetDeployment) answered. */
  primaryAnswered: boolean;
  errors: SourceError[];
}

const MAX_STOPPED_TASKS = 20;
/** Hooks may have decided before the watch started: their log is read from this far back. */
const HOOK_LOG_LOOKBACK_MS = 3_600_000;
/** Log events per FilterLogEvents call; the next poll goes on from the last one read. */
const LOG_EVENTS_PER_CALL = 100;
const MAX_EVENTS = 20;
/** Ids of tasks and events already shown; well above the 100 a page lists, so none is shown twice. */
const MAX_REMEMBERED = 1_000;
/** DescribeTasks takes at most 100 tasks; DescribeAlarms 100 names. */
const PER_CALL = 100;

/** Errors that mean the arguments name nothing there, or nothing we may read. */
const SETUP_ERRORS = new Set([
  'ClusterNotFoundException',
  'ServiceNotFoundException',
  'DeploymentDoesNotExistException',
  'DeploymentGroupDoesNotExistException',
  'InvalidDeploymentIdException',
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
]);

/** Adds to a set that forgets its oldest entries past MAX_REMEMBERED (a Set keeps insertion order). */
function remember(seen: Set<string>, id: string): void {
  seen.add(id);
  if (seen.size > MAX_REMEMBERED) seen.delete(seen.values().next().value!);
}

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
  private listenerRoles = new Map<string, ListenerView['role']>();
  /** ECS built-in blue/green: the production and test listener rules the service shifts traffic with. */
  private ruleRoles = new Map<string, ListenerView['role']>();
  private listenerViews: ListenerView[] = [];
  private ruleViews: ListenerView[] = [];
  /** ECS built-in blue/green: the target group the production rule did not forward to at first. */
  private ecsGreenTargetGroups: string[] | undefined;
  private ecsTargetGroupPair: string[] = [];
  private alarmNames = new Set<string>();
  private targetGroupTurn = 0;
  private readonly seenTasks = new Set<string>();
  private readonly seenEvents = new Set<string>();
  private readonly seenLogEvents = new Set<string>();
  private readonly logCursor = new Map<string, number>();
  private logGroupTurn = 0;

  constructor(
    private readonly clients: WatchClients,
    private readonly pacer: ApiPacer,
    private readonly target: WatchTarget,
    /** epoch ms the watch started; the hooks' log is read from an hour before. */
    private readonly startedAt = Date.now(),
  ) {}

  /** What the watch follows, for its first line. */
  describe(): string {
    const what = this.deploymentId
      ? `CodeDeploy deployment ${this.deploymentId}`
      : this.serviceDeploymentArn
        ? `service deployment ${this.serviceDeploymentArn.slice(this.serviceDeploymentArn.lastIndexOf('/') + 1)}`
        : `deployment ${this.evidence.newRevisionId ?? '(none)'}`;
    return `${what} of service ${this.service} in cluster ${this.cluster} (${this.evidence.kind})`;
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
    if (service.deploymentController?.type !== 'CODE_DEPLOY') await this.findServiceDeployment();
    for (const name of service.deploymentConfiguration?.alarms?.alarmNames ?? []) this.alarmNames.add(name);
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
        for (const name of sd.alarms?.alarmNames ?? []) this.alarmNames.add(name);
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

    await this.readStoppedTasks(note);
    await this.readTargetHealth(note);
    await this.readAlarms(note);
    await this.readListeners(note);
    await this.readListenerRules(note);
    await this.readHookVerdicts(note);

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
    if (info) this.applyDeployment(id, info);
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
    for (const arn of pair?.prodTrafficRoute?.listenerArns ?? []) this.listenerRoles.set(arn, 'production');
    for (const arn of pair?.testTrafficRoute?.listenerArns ?? []) this.listenerRoles.set(arn, 'test');
    if (group?.alarmConfiguration?.enabled !== false) {
      for (const a of group?.alarmConfiguration?.alarms ?? []) if (a.name) this.alarmNames.add(a.name);
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
        : (this.ecsGreenTargetGroups ?? []);
    if (e.kind === 'ecs-blue-green') {
      for (const lb of s.loadBalancers ?? []) {
        const advanced = lb.advancedConfiguration;
        if (!advanced) continue;
        if (advanced.productionListenerRule)
          this.ruleRoles.set(advanced.productionListenerRule, 'production');
        if (advanced.testListenerRule) this.ruleRoles.set(advanced.testListenerRule, 'test');
        this.ecsTargetGroupPair = [lb.targetGroupArn, advanced.alternateTargetGroupArn].filter(defined);
      }
    }
    // ECS blue/green alternates between the service's target group and its alternate.
    this.targetGroups = [
      ...new Set([
        ...e.replacementTargetGroupArns,
        ...ownTargetGroups,
        ...(s.loadBalancers ?? [])
          .map((lb) => lb.advancedConfiguration?.alternateTargetGroupArn)
          .filter(defined),
      ]),
    ];
    const events = serviceEventViews(s);
    e.events = events.slice(0, MAX_EVENTS);
    this.pageOfEvents = events;
  }

  /** The whole page of events DescribeServices gave (up to 100), to find the new ones in. */
  private pageOfEvents: Evidence['events'] = [];

  private targetGroups: string[] = [];

  /** Events not seen before, oldest first (and remembered as seen). */
  takeNewEvents(): Evidence['events'] {
    const fresh = this.pageOfEvents.filter((ev) => ev.id && !this.seenEvents.has(ev.id)).reverse();
    this.pageOfEvents = [];
    for (const ev of fresh) remember(this.seenEvents, ev.id);
    return fresh;
  }

  private async readStoppedTasks(note: <T>(api: string, r: Paced<T>) => T | undefined): Promise<void> {
    const e = this.evidence;
    const listed = note(
      'ecs:ListTasks',
      await this.pacer.call('ecs:ListTasks', () =>
        this.clients.ecs.send(
          new ListTasksCommand({
            cluster: this.cluster,
            serviceName: this.service,
            desiredStatus: 'STOPPED',
          }),
        ),
      ),
    );
    const fresh = (listed?.taskArns ?? []).filter((arn) => !this.seenTasks.has(arn)).slice(0, PER_CALL);
    if (!fresh.length) return;
    const described = note(
      'ecs:DescribeTasks',
      await this.pacer.call('ecs:DescribeTasks', () =>
        this.clients.ecs.send(new DescribeTasksCommand({ cluster: this.cluster, tasks: fresh })),
      ),
    );
    if (!described) return;
    for (const arn of fresh) remember(this.seenTasks, arn);
    const wanted = newRevision(e)?.taskDefinition;
    const tasks: StoppedTask[] = (described.tasks ?? [])
      .filter((t) => !wanted || !t.taskDefinitionArn || t.taskDefinitionArn === wanted)
      .map(stoppedTaskView)
      .sort((a, b) => (b.stoppedAt ?? 0) - (a.stoppedAt ?? 0));
    e.stoppedTasks = [...tasks, ...e.stoppedTasks].slice(0, MAX_STOPPED_TASKS);
  }

  private async readTargetHealth(note: <T>(api: string, r: Paced<T>) => T | undefined): Promise<void> {
    if (!this.targetGroups.length) return;
    const arn = this.targetGroups[this.targetGroupTurn % this.targetGroups.length]!;
    const out = note(
      'elbv2:DescribeTargetHealth',
      await this.pacer.call('elbv2:DescribeTargetHealth', () =>
        this.clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })),
      ),
    );
    if (!out) return;
    this.targetGroupTurn++;
    const e = this.evidence;
    e.targets = [
      ...e.targets.filter((t) => t.targetGroupArn !== arn),
      ...(out.TargetHealthDescriptions ?? []).map((d) => targetView(arn, d)),
    ];
  }

  private async readAlarms(note: <T>(api: string, r: Paced<T>) => T | undefined): Promise<void> {
    if (!this.alarmNames.size) return;
    const names = [...this.alarmNames].slice(0, PER_CALL);
    const out = note(
      'cloudwatch:DescribeAlarms',
      await this.pacer.call('cloudwatch:DescribeAlarms', () =>
        this.clients.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
        ),
      ),
    );
    if (!out) return;
    this.evidence.alarms = [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])].map((a) => ({
      name: a.AlarmName ?? '',
      state: a.StateValue ?? 'UNKNOWN',
      ...(a.StateReason ? { reason: a.StateReason } : {}),
    }));
  }

  private async readListeners(note: <T>(api: string, r: Paced<T>) => T | undefined): Promise<void> {
    if (!this.listenerRoles.size) return;
    const arns = [...this.listenerRoles.keys()];
    const out = note(
      'elbv2:DescribeListeners',
      await this.pacer.call('elbv2:DescribeListeners', () =>
        this.clients.elbv2.send(new DescribeListenersCommand({ ListenerArns: arns })),
      ),
    );
    if (!out) return;
    this.listenerViews = (out.Listeners ?? []).map((l) =>
      listenerView(l, this.listenerRoles.get(l.ListenerArn ?? '') ?? 'production'),
    );
    this.evidence.listeners = [...this.listenerViews, ...this.ruleViews];
  }

  /**
   * ECS built-in blue/green: DescribeRules for the production and test listener rules, whose
   * weights are the traffic shift. Green is the target group of the pair that the production
   * rule did not send traffic to when first read before the production traffic shift.
   */
  private async readListenerRules(note: <T>(api: string, r: Paced<T>) => T | undefined): Promise<void> {
    if (!this.ruleRoles.size) return;
    const arns = [...this.ruleRoles.keys()];
    const out = note(
      'elbv2:DescribeRules',
      await this.pacer.call('elbv2:DescribeRules', () =>
        this.clients.elbv2.send(new DescribeRulesCommand({ RuleArns: arns })),
      ),
    );
    if (!out) return;
    this.ruleViews = (out.Rules ?? []).map((r) =>
      listenerRuleView(r, this.ruleRoles.get(r.RuleArn ?? '') ?? 'production'),
    );
    const e = this.evidence;
    const production = this.ruleViews.find((r) => r.role === 'production');
    const stage = e.serviceDeployment?.lifecycleStage;
    if (!this.ecsGreenTargetGroups && production && this.ecsTargetGroupPair.length > 1 && !isShifted(stage)) {
      this.ecsGreenTargetGroups = this.ecsTargetGroupPair.filter((tg) => !production.forwardsTo.includes(tg));
      e.replacementTargetGroupArns = this.ecsGreenTargetGroups;
    }
    e.listeners = [...this.listenerViews, ...this.ruleViews];
  }

  /**
   * One hook log group per poll, in turn: FilterLogEvents for the deployment's id from where the
   * last call stopped, keeping the greenlight verdicts about this deployment.
   */
  private async readHookVerdicts(note: <T>(api: string, r: Paced<T>) => T | undefined): Promise<void> {
    const groups = (this.target.hookLogGroups ?? []).map(logGroupOf);
    const deployment = this.deploymentId ?? this.serviceDeploymentArn;
    const logs = this.clients.logs;
    if (!groups.length || !deployment || !logs) return;
    const group = groups[this.logGroupTurn % groups.length]!;
    const startTime = this.logCursor.get(group) ?? this.startedAt - HOOK_LOG_LOOKBACK_MS;
    const out = note(
      'logs:FilterLogEvents',
      await this.pacer.call('logs:FilterLogEvents', () =>
        logs.send(
          new FilterLogEventsCommand({
            logGroupName: group,
            filterPattern: filterTermOf(deployment),
            startTime,
            limit: LOG_EVENTS_PER_CALL,
          }),
        ),
      ),
    );
    if (!out) return;
    this.logGroupTurn++;
    const fresh = (out.events ?? []).filter((ev) => !ev.eventId || !this.seenLogEvents.has(ev.eventId));
    for (const ev of fresh) if (ev.eventId) remember(this.seenLogEvents, ev.eventId);
    const last = Math.max(startTime, ...fresh.map((ev) => ev.timestamp ?? 0));
    this.logCursor.set(group, last);
    const verdicts = fresh.map((ev) => hookVerdictOf(ev, deployment)).filter(defined);
    if (verdicts.length) this.evidence.hookVerdicts = latestVerdicts(this.evidence.hookVerdicts, verdicts);
  }
}

/** ECS lifecycle stages from the production traffic shift on. */
const SHIFTED_STAGES = new Set([
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
]);
const isShifted = (stage: string | undefined) => stage !== undefined && SHIFTED_STAGES.has(stage);

/** Whether a setup failure is one that waiting will not cure. */
export function isSetupError(err: unknown): boolean {
  if (SETUP_ERRORS.has(awsErrorName(err) ?? '')) return true;
  // The SDK's own configuration errors: no region, no credentials.
  return err instanceof Error && /Region is missing|Could not load credentials/i.test(err.message);
}
