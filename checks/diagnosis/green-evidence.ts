import { DescribeTasksCommand, ListTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsErrorName } from '../../lib/aws';
import { errorMessage } from '../../lib/errors';
import { diagnose } from './diagnose';
import { emptyEvidence, type Evidence, type StoppedTask, type TargetView } from './evidence';
import { stoppedTaskView, targetView } from './task-views';

/** The clients the evidence is read through (real SDK clients; only `send` is used). */
export interface GreenEvidenceClients {
  ecs: Pick<ECSClient, 'send'>;
  elbv2: Pick<ElasticLoadBalancingV2Client, 'send'>;
}

/** Where green's tasks are: a task set (its id is the tasks' `startedBy`) or a service. */
export interface GreenTasks {
  cluster: string;
  /** The replacement task set's id (`ecs-svc/...`); its tasks are started by it. */
  taskSetId?: string;
  /** Without a task set: the service's tasks. */
  service?: string;
  /** Only tasks of this task definition count, when given. */
  taskDefinition?: string;
  targetGroupArns: string[];
}

/** DescribeTasks takes at most 100 tasks; ListTasks pages hold 100. */
const PER_CALL = 100;
const DENIED = /AccessDenied|NotAuthorized|Unauthorized|Forbidden/i;

/** One line for a failed verdict: what green's tasks show, or why that could not be read. */
export interface GreenDiagnosis {
  line: string;
  /** The IAM actions that were denied, if any. */
  denied: string[];
}

/** A read the diagnosis could not make: the IAM action it needed, and whether it was denied. */
export class UnreadEvidence extends Error {
  constructor(
    readonly action: string,
    readonly denied: boolean,
    message: string,
  ) {
    super(message);
    this.name = 'UnreadEvidence';
  }
}

/** One AWS read for the diagnosis; a failure becomes UnreadEvidence naming `action`. */
export async function readEvidence<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const name = awsErrorName(err) ?? '';
    throw new UnreadEvidence(
      action,
      DENIED.test(name),
      `${action}: ${name && !errorMessage(err).startsWith(name) ? `${name}: ` : ''}${errorMessage(err)}`,
    );
  }
}

/** ListTasks + DescribeTasks: green's stopped tasks, most recent first. */
async function stoppedTasks(
  where: GreenTasks,
  clients: GreenEvidenceClients,
  signal: AbortSignal,
): Promise<StoppedTask[]> {
  const listed = await readEvidence('ecs:ListTasks', () =>
    clients.ecs.send(
      new ListTasksCommand({
        cluster: where.cluster,
        desiredStatus: 'STOPPED',
        ...(where.taskSetId ? { startedBy: where.taskSetId } : { serviceName: where.service }),
        maxResults: PER_CALL,
      }),
      { abortSignal: signal },
    ),
  );
  const arns = (listed.taskArns ?? []).slice(0, PER_CALL);
  if (!arns.length) return [];
  const described = await readEvidence('ecs:DescribeTasks', () =>
    clients.ecs.send(new DescribeTasksCommand({ cluster: where.cluster, tasks: arns }), {
      abortSignal: signal,
    }),
  );
  return (described.tasks ?? [])
    .filter(
      (t) => !where.taskDefinition || !t.taskDefinitionArn || t.taskDefinitionArn === where.taskDefinition,
    )
    .map(stoppedTaskView)
    .sort((a, b) => (b.stoppedAt ?? 0) - (a.stoppedAt ?? 0));
}

async function targets(
  where: GreenTasks,
  clients: GreenEvidenceClients,
  signal: AbortSignal,
): Promise<TargetView[]> {
  const out: TargetView[] = [];
  for (const arn of where.targetGroupArns) {
    const health = await readEvidence('elasticloadbalancing:DescribeTargetHealth', () =>
      clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }), { abortSignal: signal }),
    );
    out.push(...(health.TargetHealthDescriptions ?? []).map((d) => targetView(arn, d)));
  }
  return out;
}

function summary(e: Evidence, tasksRead: boolean): string {
  const states = new Map<string, number>();
  for (const t of e.targets) states.set(t.state, (states.get(t.state) ?? 0) + 1);
  const health = e.targets.length
    ? [...states].map(([state, n]) => `${n} ${state}`).join(', ')
    : 'no targets registered';
  const tasks = tasksRead ? `no stopped task with a known cause (${e.stoppedTasks.length} stopped); ` : '';
  return `${tasks}targets: ${health}`;
}

/**
 * Reads green's stopped tasks (ECS ListTasks, DescribeTasks) and target health (ELBv2
 * DescribeTargetHealth) and names the most likely cause from the known causes, for a hook whose
 * http check could not reach green. Never throws: a denied call names the permission that would
 * give the diagnosis, a failed one says what failed, and `signal` bounds the whole read.
 */
export async function diagnoseGreenTasks(
  where: GreenTasks,
  clients: GreenEvidenceClients,
  signal: AbortSignal,
): Promise<GreenDiagnosis> {
  const evidence = emptyEvidence('codedeploy');
  evidence.replacementTargetGroupArns = [...where.targetGroupArns];
  const unread: UnreadEvidence[] = [];
  const [tasks, health] = await Promise.allSettled([
    stoppedTasks(where, clients, signal),
    targets(where, clients, signal),
  ]);
  for (const r of [tasks, health]) {
    if (r.status === 'rejected') {
      if (r.reason instanceof UnreadEvidence) unread.push(r.reason);
      else unread.push(new UnreadEvidence('the diagnosis', false, errorMessage(r.reason)));
    }
  }
  if (tasks.status === 'fulfilled') evidence.stoppedTasks = tasks.value;
  if (health.status === 'fulfilled') evidence.targets = health.value;
  const denied = unread.filter((u) => u.denied).map((u) => u.action);
  const missing = denied.length
    ? `diagnosis of green's tasks not available: the role needs ${denied.join(' and ')}`
    : unread.length
      ? `diagnosis of green's tasks not available: ${unread.map((u) => u.message).join('; ')}`
      : '';
  if (unread.length === 2) return { line: missing, denied };
  const found = diagnose(evidence, 'failed');
  const line =
    found && found.cause !== 'unknown'
      ? `green's tasks: ${found.title}: ${found.evidence} (fix: ${found.fix})`
      : `green's tasks: ${summary(evidence, tasks.status === 'fulfilled')}`;
  return { line: missing ? `${line}; ${missing}` : line, denied };
}
