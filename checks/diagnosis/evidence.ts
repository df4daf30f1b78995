/**
 * What is known about one deployment, from ECS, Elastic Load Balancing, CloudWatch and CodeDeploy:
 * `greenlight watch` reads all of it, a hook's failed verdict the part about green's tasks and
 * targets. The diagnosis is a pure function of this (diagnose.ts), so every known cause can be
 * shown by a table of evidence without any AWS at all.
 */

/** How the service deploys: a rolling update, ECS's own blue/green/linear/canary, or CodeDeploy. */
export type DeploymentKind = 'rolling' | 'ecs-blue-green' | 'codedeploy';

/** How a watch ends. `stalled`: no progress for `--stall-after`. */
export type Ending = 'completed' | 'failed' | 'rolled-back' | 'stalled';

export interface ServiceView {
  arn: string;
  name: string;
  cluster: string;
  /** `ECS`, `CODE_DEPLOY` or `EXTERNAL`. */
  controller: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  minimumHealthyPercent?: number;
  maximumPercent?: number;
  healthCheckGracePeriodSeconds?: number;
  circuitBreaker?: { enable: boolean; rollback: boolean };
}

/** An ECS deployment (rolling) or a task set (CodeDeploy, EXTERNAL): one revision's tasks. */
export interface RevisionView {
  id: string;
  /** PRIMARY / ACTIVE / INACTIVE (deployments and task sets alike). */
  status: string;
  taskDefinition?: string;
  desired: number;
  running: number;
  pending: number;
  failedTasks?: number;
  rolloutState?: string;
  rolloutStateReason?: string;
  /** Task sets: percent of production traffic. */
  trafficWeight?: number;
  /** Task sets: the CodeDeploy deployment id that created it. */
  externalId?: string;
  targetGroupArns: string[];
}

/** ECS DescribeServiceDeployments: the service deployment being followed. */
export interface ServiceDeploymentView {
  arn: string;
  status: string;
  statusReason?: string;
  lifecycleStage?: string;
  target?: { arn: string; requested: number; running: number; pending: number };
  circuitBreaker?: { status: string; failureCount: number; threshold: number };
  alarms?: { status: string; alarmNames: string[]; triggeredAlarmNames: string[] };
  rollbackReason?: string;
}

export interface ContainerExit {
  name: string;
  exitCode?: number;
  reason?: string;
}

export interface StoppedTask {
  taskArn: string;
  taskDefinitionArn?: string;
  stoppedReason?: string;
  stopCode?: string;
  /** epoch ms */
  stoppedAt?: number;
  containers: ContainerExit[];
}

export interface TargetView {
  targetGroupArn: string;
  id: string;
  port?: number;
  /** initial, healthy, unhealthy, unused, draining, unavailable */
  state: string;
  reason?: string;
  description?: string;
}

export interface AlarmView {
  name: string;
  state: string;
  reason?: string;
}

export interface LifecycleEventView {
  name: string;
  /** Pending, InProgress, Succeeded, Failed, Skipped, Unknown */
  status: string;
  /** epoch ms */
  startTime?: number;
  errorCode?: string;
  message?: string;
}

export interface CodeDeployView {
  deploymentId: string;
  /** Created, Queued, InProgress, Baking, Ready, Succeeded, Failed, Stopped */
  status: string;
  errorCode?: string;
  errorMessage?: string;
  rolledBack: boolean;
  lifecycleEvents: LifecycleEventView[];
}

export interface ListenerView {
  /** The listener's ARN, or the listener rule's (ECS built-in blue/green shifts traffic with rules). */
  arn: string;
  role: 'production' | 'test';
  /** Target groups its default action (or the rule's action) forwards to (weight above zero). */
  forwardsTo: string[];
  /** Listener rules: every target group of the forward action with its weight. */
  weights?: { targetGroupArn: string; weight: number }[];
}

export interface ServiceEventView {
  id: string;
  /** epoch ms */
  createdAt: number;
  message: string;
}

/** A greenlight hook's own verdict, from the JSON line it logs (its log group). */
export interface HookVerdictView {
  /** The lifecycle event (CodeDeploy) or stage (ECS built-in hook) it decided. */
  hook: string;
  /** Succeeded, Failed, or InProgress (an ECS hook that asked to be called again). */
  status: string;
  reason?: string;
  /** epoch ms, when the hook logged it */
  at: number;
}

/** Everything read so far, as of the last poll. */
export interface Evidence {
  kind: DeploymentKind;
  service?: ServiceView;
  /** ECS deployments or task sets; `newRevisionId` names the one being rolled out. */
  revisions: RevisionView[];
  newRevisionId?: string;
  serviceDeployment?: ServiceDeploymentView;
  codeDeploy?: CodeDeployView;
  /** Stopped tasks of the new revision, most recent first (bounded). */
  stoppedTasks: StoppedTask[];
  targets: TargetView[];
  /** Target groups the new revision registers with. */
  replacementTargetGroupArns: string[];
  alarms: AlarmView[];
  listeners: ListenerView[];
  /** ECS service events, newest first (bounded). */
  events: ServiceEventView[];
  /** The latest verdict each greenlight hook logged for this deployment. */
  hookVerdicts: HookVerdictView[];
  /** How long nothing has moved, when the watch ends as stalled (ms). */
  stalledForMs?: number;
}

export function emptyEvidence(kind: DeploymentKind): Evidence {
  return {
    kind,
    revisions: [],
    stoppedTasks: [],
    targets: [],
    replacementTargetGroupArns: [],
    alarms: [],
    listeners: [],
    events: [],
    hookVerdicts: [],
  };
}

/** The revision being rolled out, when known. */
export function newRevision(evidence: Evidence): RevisionView | undefined {
  return evidence.revisions.find((r) => r.id === evidence.newRevisionId);
}
