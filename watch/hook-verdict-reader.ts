// Reads greenlight hooks' verdicts about the watched deployment from their CloudWatch log groups.
import { FilterLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ApiPacer } from './api-pacer';
import { filterTermOf, hookVerdictOf, latestVerdicts, logGroupOf } from './hook-verdicts';
import { remember } from './seen-ids';
import type { NoteCall } from './watch-target';
import type { Evidence } from '../checks/diagnosis/evidence';

/** Hooks may have decided before the watch started: their log is read from this far back. */
const HOOK_LOG_LOOKBACK_MS = 3_600_000;
/** Log events per FilterLogEvents call; the next poll goes on from the last one read. */
const LOG_EVENTS_PER_CALL = 100;

const defined = <T>(v: T | undefined): v is T => v !== undefined;

/** Follows the hooks' log groups, one per poll in turn, each from where its last call stopped. */
export class HookVerdictReader {
  private readonly seenLogEvents = new Set<string>();
  private readonly logCursor = new Map<string, number>();
  private logGroupTurn = 0;

  constructor(
    private readonly logs: Pick<CloudWatchLogsClient, 'send'> | undefined,
    private readonly pacer: ApiPacer,
    private hookLogGroups: string[] | undefined,
    /** epoch ms the watch started; the hooks' log is read from an hour before. */
    private readonly startedAt: number,
  ) {}

  /** Whether log groups were given (`--hook-log-group`) or found already. */
  get following(): boolean {
    return (this.hookLogGroups ?? []).length > 0;
  }

  /** The log groups read, as `/aws/lambda/...` names. */
  get groups(): string[] {
    return [...new Set((this.hookLogGroups ?? []).map(logGroupOf))];
  }

  /** Follows these functions' or log groups' logs too (hooks found from the deployment). */
  follow(namesOrArns: string[]): void {
    this.hookLogGroups = [...new Set([...(this.hookLogGroups ?? []), ...namesOrArns])];
  }

  /**
   * One hook log group per poll, in turn: FilterLogEvents for the deployment's id from where the
   * last call stopped, keeping the greenlight verdicts about this deployment.
   */
  async read(note: NoteCall, deployment: string | undefined, evidence: Evidence): Promise<void> {
    const groups = this.groups;
    const logs = this.logs;
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
    if (verdicts.length) evidence.hookVerdicts = latestVerdicts(evidence.hookVerdicts, verdicts);
  }
}
