import type { Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { StoppedTask, TargetView } from './evidence';

/*
 * ECS DescribeTasks and ELBv2 DescribeTargetHealth answers, reduced to what the diagnosis reads.
 * Fields the SDK leaves out stay out (never `undefined`), so evidence compares and serialises cleanly.
 */

const ms = (d: Date | undefined) => (d ? d.getTime() : undefined);
const optional = <K extends string, V>(key: K, value: V | undefined | null) =>
  (value === undefined || value === null || value === '' ? {} : { [key]: value }) as Partial<Record<K, V>>;

export function stoppedTaskView(t: Task): StoppedTask {
  return {
    taskArn: t.taskArn ?? '',
    ...optional('taskDefinitionArn', t.taskDefinitionArn),
    ...optional('stoppedReason', t.stoppedReason),
    ...optional('stopCode', t.stopCode),
    ...optional('stoppedAt', ms(t.stoppedAt)),
    containers: (t.containers ?? []).map((c) => ({
      name: c.name ?? 'container',
      ...optional('exitCode', c.exitCode),
      ...optional('reason', c.reason),
    })),
  };
}

export function targetView(targetGroupArn: string, d: TargetHealthDescription): TargetView {
  return {
    targetGroupArn,
    id: d.Target?.Id ?? '',
    ...optional('port', d.Target?.Port),
    state: d.TargetHealth?.State ?? 'unknown',
    ...optional('reason', d.TargetHealth?.Reason),
    ...optional('description', d.TargetHealth?.Description),
  };
}
