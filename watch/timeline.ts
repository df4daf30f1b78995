import type {
  Evidence,
  ListenerView,
  RevisionView,
  StoppedTask,
  TargetView,
} from '../checks/diagnosis/evidence';

export const TIMELINE_EVENT_TYPES = [
  'watching',
  'deployment',
  'revision',
  'lifecycle-event',
  'hook-verdict',
  'task-stopped',
  'target-health',
  'alarm',
  'listener',
  'service-event',
  'source-error',
  'outcome',
  'diagnosis',
] as const;

export type TimelineEventType = (typeof TIMELINE_EVENT_TYPES)[number];

/** One line of the timeline; `--json` prints each as an object on its own line. */
export interface TimelineEvent {
  /** epoch ms, from the watch's clock */
  at: number;
  type: TimelineEventType;
  message: string;
  data?: Record<string, unknown>;
}

type Draft = Omit<TimelineEvent, 'at'>;

const short = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

function revisionLine(r: RevisionView): string {
  const td = r.taskDefinition ? `, ${short(r.taskDefinition)}` : '';
  const weight = r.trafficWeight !== undefined ? `, traffic ${r.trafficWeight}%` : '';
  const rollout = r.rolloutState ? `, ${r.rolloutState}` : '';
  const name = r.externalId ? `task set ${r.id} (${r.externalId})` : `deployment ${r.id}`;
  return `${name} ${r.status}${td}: ${r.running}/${r.desired} running, ${r.pending} pending${weight}${rollout}`;
}

function stoppedLine(t: StoppedTask): string {
  const containers = t.containers
    .filter((c) => c.exitCode !== undefined || c.reason)
    .map((c) => `${c.name} exit ${c.exitCode ?? '-'}${c.reason ? ` (${c.reason})` : ''}`)
    .join('; ');
  return `task ${short(t.taskArn)} stopped: ${t.stoppedReason ?? 'no reason given'}${containers ? `; ${containers}` : ''}`;
}

/** `production listener rule 9f2c forwards to web-blue 0%, web-green 100%` for a weighted rule. */
function listenerLine(l: ListenerView): string {
  if (l.weights) {
    // ELBv2 weights are relative (0-999): shown as shares of the total.
    const total = l.weights.reduce((n, w) => n + w.weight, 0);
    const share = (w: number) => (total ? Math.round((w * 100) / total) : 0);
    return `${l.role} listener rule ${short(l.arn)} forwards to ${l.weights.map((w) => `${short(w.targetGroupArn)} ${share(w.weight)}%`).join(', ') || 'nothing'}`;
  }
  return `${l.role} listener ${short(l.arn)} forwards to ${l.forwardsTo.map(short).join(', ') || 'nothing'}`;
}

const targetKey = (t: TargetView) => `${t.targetGroupArn} ${t.id}:${t.port ?? ''}`;

function targetLine(t: TargetView): string {
  const why = t.reason ? ` (${t.reason}${t.description ? `: ${t.description}` : ''})` : '';
  return `target ${t.id}${t.port ? `:${t.port}` : ''} in ${short(t.targetGroupArn)}: ${t.state}${why}`;
}

/**
 * What changed between two readings, as timeline events: deployment and lifecycle states, task
 * counts and traffic weights, new stopped tasks, target health and alarm transitions, listener
 * changes. The first reading (no `prev`) gives the current state of each.
 */
export function changes(prev: Evidence | undefined, next: Evidence): Draft[] {
  const out: Draft[] = [];
  const cd = next.codeDeploy;
  if (cd && (cd.status !== prev?.codeDeploy?.status || cd.errorCode !== prev.codeDeploy.errorCode)) {
    out.push({
      type: 'deployment',
      message: `CodeDeploy deployment ${cd.deploymentId}: ${cd.status}${cd.errorCode ? ` (${cd.errorCode}: ${cd.errorMessage ?? ''})` : ''}`,
      data: { status: cd.status, errorCode: cd.errorCode, errorMessage: cd.errorMessage },
    });
  }
  const sd = next.serviceDeployment;
  const sdLine = (s: NonNullable<Evidence['serviceDeployment']>) =>
    `service deployment ${short(s.arn)}: ${s.status}${s.lifecycleStage ? ` at ${s.lifecycleStage}` : ''}` +
    (s.target ? `, ${s.target.running}/${s.target.requested} running, ${s.target.pending} pending` : '') +
    (s.statusReason ? ` (${s.statusReason})` : '');
  if (sd && (!prev?.serviceDeployment || sdLine(sd) !== sdLine(prev.serviceDeployment))) {
    out.push({
      type: 'deployment',
      message: sdLine(sd),
      data: {
        status: sd.status,
        lifecycleStage: sd.lifecycleStage,
        statusReason: sd.statusReason,
        target: sd.target,
      },
    });
  }
  const before = new Map((prev?.revisions ?? []).map((r) => [r.id, revisionLine(r)]));
  for (const r of next.revisions) {
    const line = revisionLine(r);
    if (before.get(r.id) !== line)
      out.push({ type: 'revision', message: line, data: { ...r, new: r.id === next.newRevisionId } });
  }
  const events = new Map((prev?.codeDeploy?.lifecycleEvents ?? []).map((l) => [l.name, l.status]));
  for (const l of cd?.lifecycleEvents ?? []) {
    if (events.get(l.name) === l.status || (!prev && l.status === 'Pending')) continue;
    out.push({
      type: 'lifecycle-event',
      message: `${l.name}: ${l.status}${l.message ? ` (${l.message})` : ''}`,
      data: { ...l },
    });
  }
  const verdicts = new Map((prev?.hookVerdicts ?? []).map((v) => [v.hook, v.at]));
  for (const v of next.hookVerdicts) {
    if (verdicts.get(v.hook) === v.at) continue;
    out.push({
      type: 'hook-verdict',
      message: `hook ${v.hook}: ${v.status}${v.reason ? ` (${v.reason})` : ''}`,
      data: { ...v, at: new Date(v.at).toISOString() },
    });
  }
  const seen = new Set((prev?.stoppedTasks ?? []).map((t) => t.taskArn));
  for (const t of [...next.stoppedTasks].reverse()) {
    if (!seen.has(t.taskArn)) out.push({ type: 'task-stopped', message: stoppedLine(t), data: { ...t } });
  }
  const targets = new Map((prev?.targets ?? []).map((t) => [targetKey(t), targetLine(t)]));
  for (const t of next.targets) {
    const line = targetLine(t);
    if (targets.get(targetKey(t)) !== line)
      out.push({ type: 'target-health', message: line, data: { ...t } });
  }
  const alarms = new Map((prev?.alarms ?? []).map((a) => [a.name, a.state]));
  for (const a of next.alarms) {
    if (alarms.get(a.name) === a.state) continue;
    out.push({
      type: 'alarm',
      message: `alarm ${a.name}: ${a.state}${a.reason ? ` (${a.reason})` : ''}`,
      data: { ...a },
    });
  }
  const listeners = new Map((prev?.listeners ?? []).map((l) => [l.arn, listenerLine(l)]));
  for (const l of next.listeners) {
    const line = listenerLine(l);
    if (listeners.get(l.arn) === line) continue;
    out.push({ type: 'listener', message: line, data: { ...l } });
  }
  return out;
}
