// Reads the health of a deployment: stopped tasks of the new revision, target health, alarms.
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ApiPacer } from './api-pacer';
import { remember } from './seen-ids';
import type { NoteCall, WatchClients } from './watch-target';
import { stoppedTaskView, targetView } from '../checks/diagnosis/task-views';
import { newRevision, type Evidence, type StoppedTask } from '../checks/diagnosis/evidence';

const MAX_STOPPED_TASKS = 20;
/** DescribeTasks takes at most 100 tasks; DescribeAlarms 100 names. */
const PER_CALL = 100;

/**
 * Stopped tasks of the new revision (ListTasks + DescribeTasks for the ones not seen yet), ELBv2
 * DescribeTargetHealth (one target group per poll, in turn) and CloudWatch DescribeAlarms for the
 * alarms the deployment group or the service names.
 */
export class TaskHealthReader {
  private readonly alarmNames = new Set<string>();
  private targetGroups: string[] = [];
  private targetGroupTurn = 0;
  private readonly seenTasks = new Set<string>();

  constructor(
    private readonly clients: Pick<WatchClients, 'ecs' | 'elbv2' | 'cloudwatch'>,
    private readonly pacer: ApiPacer,
  ) {}

  /** An alarm the deployment group, the service or the service deployment names. */
  addAlarm(name: string): void {
    this.alarmNames.add(name);
  }

  /** The target groups whose health is read, one per poll in turn. */
  followTargetGroups(arns: string[]): void {
    this.targetGroups = arns;
  }

  async readStoppedTasks(note: NoteCall, e: Evidence, cluster: string, service: string): Promise<void> {
    const listed = note(
      'ecs:ListTasks',
      await this.pacer.call('ecs:ListTasks', () =>
        this.clients.ecs.send(
          new ListTasksCommand({
            cluster,
            serviceName: service,
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
        this.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: fresh })),
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

  async readTargetHealth(note: NoteCall, e: Evidence): Promise<void> {
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
    e.targets = [
      ...e.targets.filter((t) => t.targetGroupArn !== arn),
      ...(out.TargetHealthDescriptions ?? []).map((d) => targetView(arn, d)),
    ];
  }

  async readAlarms(note: NoteCall, e: Evidence): Promise<void> {
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
    e.alarms = [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])].map((a) => ({
      name: a.AlarmName ?? '',
      state: a.StateValue ?? 'UNKNOWN',
      ...(a.StateReason ? { reason: a.StateReason } : {}),
    }));
  }
}
