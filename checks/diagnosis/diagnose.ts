import {
  newRevision,
  type Ending,
  type Evidence,
  type HookVerdictView,
  type LifecycleEventView,
  type StoppedTask,
  type TargetView,
} from './evidence';
import { KNOWN_CAUSES, type CauseId } from './known-causes';

/** The one most likely cause of a failed, rolled back or stalled deployment. */
export interface Diagnosis {
  cause: CauseId;
  title: string;
  /** What was seen, in one line: the task, the exit code, the target, the reason. */
  evidence: string;
  fix: string;
}

type Rule = (e: Evidence, ending: Ending) => string | undefined;

const TIMED_OUT = /timed?[ -]?out|timeout/i;
/** ECS built-in blue/green lifecycle stages, in order. */
const ECS_STAGES = [
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
];
const MAX_EVIDENCE_CHARS = 300;

const short = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_EVIDENCE_CHARS ? `${line.slice(0, MAX_EVIDENCE_CHARS - 1)}…` : line;
}

function hookEvents(e: Evidence): LifecycleEventView[] {
  return e.codeDeploy?.lifecycleEvents ?? [];
}

/** Stopped tasks that match, with how many did. */
function tasksWhere(e: Evidence, match: (t: StoppedTask) => string | undefined): string | undefined {
  const found = e.stoppedTasks.map((t) => [t, match(t)] as const).filter(([, why]) => why !== undefined);
  if (!found.length) return undefined;
  const [task, why] = found[0]!;
  const more = found.length > 1 ? ` (${plural(found.length, 'stopped task')} alike)` : '';
  return `task ${short(task.taskArn)}: ${why}${more}`;
}

function texts(t: StoppedTask): string[] {
  return [t.stoppedReason ?? '', ...t.containers.map((c) => c.reason ?? '')];
}

/** Unhealthy targets of the new revision's target groups (all groups when those are unknown). */
function targetsWith(e: Evidence, reason: string): TargetView[] {
  const groups = new Set(e.replacementTargetGroupArns);
  return e.targets.filter(
    (t) => t.state === 'unhealthy' && t.reason === reason && (!groups.size || groups.has(t.targetGroupArn)),
  );
}

function targetEvidence(targets: TargetView[], extra = ''): string | undefined {
  if (!targets.length) return undefined;
  const t = targets[0]!;
  const where = `${t.id}${t.port ? `:${t.port}` : ''} in ${short(t.targetGroupArn)}`;
  const more = targets.length > 1 ? ` (${plural(targets.length, 'target')} alike)` : '';
  return `target ${where} ${t.state}: ${t.reason}${t.description ? ` (${t.description})` : ''}${more}${extra}`;
}

/** The latest verdict a greenlight hook logged for `hook`, if its log was read. */
function verdictOf(e: Evidence, hook: string): HookVerdictView | undefined {
  return e.hookVerdicts.find((v) => v.hook === hook);
}

/** What the hook's own log says about an event CodeDeploy still waits on. */
function loggedButUnreported(v: HookVerdictView | undefined): string {
  if (!v || v.status === 'InProgress') return '';
  return `; the hook logged ${v.status} at ${new Date(v.at).toISOString().slice(11, 19)} UTC but its report never reached CodeDeploy`;
}

const rules: Record<Exclude<CauseId, 'unknown'>, Rule> = {
  'hook-timed-out': (e, ending) => {
    const failed = hookEvents(e).find(
      (h) => h.status === 'Failed' && (h.errorCode === 'ScriptTimedOut' || TIMED_OUT.test(h.message ?? '')),
    );
    if (failed && verdictOf(e, failed.name)?.status !== 'Failed')
      return (
        `${failed.name} Failed: ${failed.errorCode ?? ''} ${failed.message ?? ''}`.trim() +
        loggedButUnreported(verdictOf(e, failed.name))
      );
    const waiting = hookEvents(e).find((h) => h.status === 'InProgress');
    if (waiting && (ending === 'stalled' || e.codeDeploy?.errorCode === 'TIMEOUT')) {
      const since = e.stalledForMs ? ` for ${Math.round(e.stalledForMs / 60_000)} min` : '';
      return `${waiting.name} InProgress${since} with no report from its hook${e.codeDeploy?.errorMessage ? `; ${e.codeDeploy.errorMessage}` : ''}${loggedButUnreported(verdictOf(e, waiting.name))}`;
    }
    const ecs = e.serviceDeployment;
    if (ecs?.statusReason && /hook/i.test(ecs.statusReason) && TIMED_OUT.test(ecs.statusReason))
      return `service deployment ${ecs.status}: ${ecs.statusReason}`;
    return undefined;
  },
  'hook-failed': (e) => {
    const failed = hookEvents(e).find((h) => h.status === 'Failed');
    // The hook's own reason (its log) says more than CodeDeploy's diagnostics for a Lambda hook.
    const own = failed ? verdictOf(e, failed.name) : e.hookVerdicts.find((v) => v.status === 'Failed');
    if (own?.status === 'Failed')
      return `${own.hook} Failed: ${own.reason ?? failed?.message ?? 'no reason given'}`;
    if (failed) return `${failed.name} Failed: ${failed.message ?? failed.errorCode ?? 'no reason given'}`;
    if (e.codeDeploy?.errorCode === 'HOOK_EXECUTION_FAILURE')
      return `${e.codeDeploy.errorCode}: ${e.codeDeploy.errorMessage ?? ''}`;
    const ecs = e.serviceDeployment;
    if (ecs?.statusReason && /hook/i.test(ecs.statusReason) && ecs.status.startsWith('ROLLBACK'))
      return `service deployment ${ecs.status}${ecs.lifecycleStage ? ` at ${ecs.lifecycleStage}` : ''}: ${ecs.statusReason}`;
    return undefined;
  },
  alarm: (e) => {
    const triggered = e.serviceDeployment?.alarms?.triggeredAlarmNames ?? [];
    const firing = e.alarms.filter((a) => a.state === 'ALARM' || triggered.includes(a.name));
    if (firing.length) {
      const a = firing[0]!;
      return `${a.name} is ${a.state}${a.reason ? `: ${a.reason}` : ''}${firing.length > 1 ? ` (+${firing.length - 1} more)` : ''}`;
    }
    if (triggered.length) return `the service deployment's alarms triggered: ${triggered.join(', ')}`;
    if (e.codeDeploy?.errorCode === 'ALARM_ACTIVE')
      return `${e.codeDeploy.errorCode}: ${e.codeDeploy.errorMessage ?? ''}`;
    return undefined;
  },
  'image-pull': (e) => tasksWhere(e, (t) => texts(t).find((s) => s.includes('CannotPullContainerError'))),
  'secret-not-found': (e) =>
    tasksWhere(e, (t) => texts(t).find((s) => s.includes('ResourceInitializationError'))),
  'oom-kill': (e) =>
    tasksWhere(e, (t) => {
      const essentialExit = /Essential container in task exited/i.test(t.stoppedReason ?? '');
      const c = t.containers.find(
        (c) => /OutOfMemoryError/i.test(c.reason ?? '') || (essentialExit && c.exitCode === 137),
      );
      return c
        ? `container ${c.name} exited with code ${c.exitCode ?? 'unknown'}${c.reason ? ` (${c.reason})` : ''}`
        : undefined;
    }),
  'essential-container-exited': (e) =>
    tasksWhere(e, (t) => {
      if (!/Essential container in task exited/i.test(t.stoppedReason ?? '')) return undefined;
      const c = t.containers.find((c) => c.exitCode !== undefined && c.exitCode !== 0) ?? t.containers[0];
      return c
        ? `essential container ${c.name} exited with code ${c.exitCode ?? 'unknown'}${c.reason ? ` (${c.reason})` : ''}`
        : (t.stoppedReason ?? 'essential container exited');
    }),
  'health-check-path': (e) => targetEvidence(targetsWith(e, 'Target.ResponseCodeMismatch')),
  'health-check-timeout': (e) => {
    const grace = e.service?.healthCheckGracePeriodSeconds;
    return targetEvidence(
      targetsWith(e, 'Target.Timeout'),
      grace === undefined ? '' : `; health check grace period ${grace} s`,
    );
  },
  'no-route': (e) => targetEvidence(targetsWith(e, 'Target.FailedHealthChecks')),
  'listener-old-target-group': (e) => {
    const replacement = new Set(e.replacementTargetGroupArns);
    if (!replacement.size) return undefined;
    const shifted = (name: string) => hookEvents(e).some((h) => h.name === name && h.status === 'Succeeded');
    const sd = e.serviceDeployment;
    // The test listener carries green from AllowTestTraffic on; production from AllowTraffic on.
    // ECS built-in blue/green: after its test / production traffic shift stages, unless rolling back.
    const due = (role: 'production' | 'test') =>
      sd && !hookEvents(e).length
        ? !sd.status.startsWith('ROLLBACK') &&
          ECS_STAGES.indexOf(sd.lifecycleStage ?? '') >=
            ECS_STAGES.indexOf(role === 'test' ? 'POST_TEST_TRAFFIC_SHIFT' : 'POST_PRODUCTION_TRAFFIC_SHIFT')
        : role === 'test'
          ? !hookEvents(e).length || shifted('AllowTestTraffic')
          : shifted('AllowTraffic');
    const wrong = e.listeners.find((l) => due(l.role) && !l.forwardsTo.some((tg) => replacement.has(tg)));
    if (!wrong) return undefined;
    return `${wrong.role} listener${wrong.weights ? ' rule' : ''} ${short(wrong.arn)} forwards to ${wrong.forwardsTo.map(short).join(', ') || 'nothing'}, not to ${[...replacement].map(short).join(', ')}`;
  },
  'min-healthy-blocking-drain': (e, ending) => {
    const s = e.service;
    const next = newRevision(e);
    if (ending !== 'stalled' || !s || !next || (s.minimumHealthyPercent ?? 0) < 100) return undefined;
    const old = e.revisions.filter((r) => r.id !== next.id && r.running > 0);
    if (!old.length || next.running >= next.desired) return undefined;
    const unplaced = e.events.find((ev) => /unable to place a task/i.test(ev.message));
    if ((s.maximumPercent ?? 200) > 100 && !unplaced) return undefined;
    const oldRunning = old.reduce((n, r) => n + r.running, 0);
    return (
      `minimumHealthyPercent ${s.minimumHealthyPercent}, maximumPercent ${s.maximumPercent ?? 'unset'}: ` +
      `the old tasks keep ${oldRunning} of ${s.desiredCount} running, the new revision has ${next.running} of ${next.desired}` +
      (unplaced ? `; ${unplaced.message}` : '')
    );
  },
  'circuit-breaker': (e) => {
    const cb = e.serviceDeployment?.circuitBreaker;
    if (cb?.status === 'TRIGGERED')
      return `circuit breaker TRIGGERED after ${cb.failureCount} failed tasks (threshold ${cb.threshold})`;
    const r = e.revisions.find((r) => r.rolloutState === 'FAILED');
    if (r) return `deployment ${r.id} FAILED: ${r.rolloutStateReason ?? 'no reason given'}`;
    return undefined;
  },
};

function unknownEvidence(e: Evidence, ending: Ending): string {
  const reason =
    e.codeDeploy?.errorMessage ??
    e.serviceDeployment?.statusReason ??
    newRevision(e)?.rolloutStateReason ??
    e.events[0]?.message;
  return reason
    ? `last word: ${reason}`
    : `the deployment ${ending === 'stalled' ? 'stalled' : 'ended'} with no reason given`;
}

/**
 * Names the most likely cause of a deployment that failed, rolled back or stalled, with its
 * evidence. Causes are tried in `CAUSE_IDS` order, most specific first: a hook's or an alarm's
 * own verdict, then why the new tasks stopped, then why their targets are unhealthy, then the
 * traffic and capacity settings, and the circuit breaker (which only says that tasks failed) last.
 */
export function diagnose(evidence: Evidence, ending: Ending): Diagnosis | undefined {
  if (ending === 'completed') return undefined;
  for (const [cause, rule] of Object.entries(rules) as [Exclude<CauseId, 'unknown'>, Rule][]) {
    const found = rule(evidence, ending);
    if (found) return { cause, ...KNOWN_CAUSES[cause], evidence: clip(found) };
  }
  return { cause: 'unknown', ...KNOWN_CAUSES.unknown, evidence: clip(unknownEvidence(evidence, ending)) };
}

/** `diagnosis: <title>: <evidence>` — the one line printed at the end of a failed watch. */
export function diagnosisLine(d: Diagnosis): string {
  return `diagnosis: ${d.title}: ${d.evidence} (fix: ${d.fix})`;
}
