import type { CheckResult } from '../checks/types';
import { evidenceOf } from '../checks/evidence';
import { formatDuration, type TerminalStyle } from '../checks/terminal-style';
import type { ListenerName, Weights } from './load-balancer';

/** What happened during a rehearsal, in order; `atMs` counts from the deployment's start. */
export type TimelineEvent = { atMs: number } & (
  | {
      kind: 'deployment-started';
      deploymentId: string;
      scenario: string;
      summary: string;
      deploymentConfig: string;
    }
  | { kind: 'step'; step: string; message: string }
  | { kind: 'traffic'; listener: ListenerName; weights: Weights; served?: Weights }
  | { kind: 'hook-skipped'; hook: string }
  | { kind: 'hook-invoked'; hook: string; checks: string[] }
  | { kind: 'check'; hook: string; result: CheckResult }
  | {
      kind: 'hook-reported';
      hook: string;
      status: 'Succeeded' | 'Failed';
      reason: string;
      reportedBy: string;
    }
  | { kind: 'rollback'; hook: string; reason: string }
  /** The line `greenlight watch` prints for the same evidence (green's stopped tasks, target health). */
  | { kind: 'diagnosis'; cause: string; line: string }
  | { kind: 'deployment-ended'; status: 'Succeeded' | 'Stopped'; message: string }
);

const STEP_WIDTH = 22;

function percent(weights: Weights): string {
  const total = weights.blue + weights.green || 1;
  const share = (n: number) => `${Math.round((n / total) * 100)}%`;
  return `blue ${share(weights.blue)} / green ${share(weights.green)}`;
}

/** One event as one line (two for a verdict): time, step, what happened and why. */
export function formatTimelineEvent(event: TimelineEvent, style: TerminalStyle): string {
  const at = style.paint('dim', `${(event.atMs / 1_000).toFixed(1).padStart(5)} s`);
  const step = (name: string) => style.paint('bold', name.padEnd(STEP_WIDTH));
  switch (event.kind) {
    case 'deployment-started':
      return `${at}  ${step('Start')}deployment ${event.deploymentId}, scenario ${style.paint('bold', event.scenario)}: ${event.summary} (${event.deploymentConfig})`;
    case 'step':
      return `${at}  ${step(event.step)}${event.message}`;
    case 'traffic': {
      const served =
        event.served && event.served.blue + event.served.green > 0
          ? `; served blue ${event.served.blue}, green ${event.served.green} requests`
          : '';
      return `${at}  ${step('Traffic')}${event.listener === 'prod' ? 'production' : 'test'} listener → ${percent(event.weights)}${served}`;
    }
    case 'hook-skipped':
      return `${at}  ${step(event.hook)}${style.paint('dim', 'no hook configured')}`;
    case 'hook-invoked':
      return `${at}  ${step(event.hook)}hook invoked; checks: ${event.checks.join(', ') || 'none'}`;
    case 'check': {
      const r = event.result;
      return `${at}  ${step('')}  ${style.outcome(r.outcome)} ${style.paint('bold', r.name)} ${style.paint('dim', `(${formatDuration(r.durationMs)})`)}: ${evidenceOf(r)}`;
    }
    case 'hook-reported': {
      const status = style.paint(event.status === 'Succeeded' ? 'good' : 'bad', event.status);
      return `${at}  ${step(event.hook)}reported ${status} (${event.reportedBy}): ${event.reason}`;
    }
    case 'diagnosis':
      return `${at}  ${step('Diagnosis')}${style.paint('bold', event.line)}`;
    case 'rollback':
      return `${at}  ${step('Rollback')}${style.paint('bad', `rolled back at ${event.hook}`)}: ${event.reason}`;
    case 'deployment-ended': {
      const status = style.paint(event.status === 'Succeeded' ? 'good' : 'bad', event.status);
      return `${at}  ${step('End')}${status}: ${event.message}`;
    }
  }
}
