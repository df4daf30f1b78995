import { errorMessage } from '../lib/errors';
import { ApiPacer } from './api-pacer';
import { DeploymentReader } from './deployment-reader';
import { isSetupError, WatchSetupError, type WatchClients, type WatchTarget } from './watch-target';
import { diagnose, diagnosisLine, type Diagnosis } from '../checks/diagnosis/diagnose';
import { emptyEvidence, newRevision, type Ending, type Evidence } from '../checks/diagnosis/evidence';
import { changes, type TimelineEvent } from './timeline';
import type { WatchClock } from './watch-clock';

export const DEFAULT_INTERVAL_MS = 10_000;
export const DEFAULT_STALL_AFTER_MS = 600_000;

export interface WatchOptions {
  target: WatchTarget;
  clients: WatchClients;
  clock: WatchClock;
  /** Time between polls; each API is called at most once per interval. */
  intervalMs?: number;
  /** No progress (and no answer from the primary source) for this long ends the watch. */
  stallAfterMs?: number;
  onEvent(event: TimelineEvent): void;
  /** Aborting stops the watch at the next poll. */
  signal?: AbortSignal;
}

/**
 * How the watch ended: the deployment's own ending, `unreachable` (the primary source did not
 * answer for the stall window), `not-found` (nothing to follow) or `interrupted`.
 */
export type WatchEnding = Ending | 'unreachable' | 'not-found' | 'interrupted';

export interface WatchOutcome {
  ending: WatchEnding;
  message: string;
  diagnosis?: Diagnosis;
  evidence: Evidence;
}

/** Numbers that only grow while a deployment moves forward, and states whose change is progress. */
function progressMarks(e: Evidence): { states: string; counts: Record<string, number> } {
  const next = newRevision(e);
  const replacement = new Set(e.replacementTargetGroupArns);
  const oldRunning = e.revisions.filter((r) => r.id !== next?.id).reduce((n, r) => n + r.running, 0);
  return {
    states: JSON.stringify([
      e.codeDeploy?.status,
      e.codeDeploy?.lifecycleEvents.map((l) => `${l.name}:${l.status}`),
      e.serviceDeployment?.status,
      e.serviceDeployment?.lifecycleStage,
      next?.rolloutState,
      e.hookVerdicts.map((v) => `${v.hook}:${v.status}:${v.at}`),
    ]),
    counts: {
      newRunning: next?.running ?? 0,
      traffic: next?.trafficWeight ?? 0,
      targetRunning: e.serviceDeployment?.target?.running ?? 0,
      healthy: e.targets.filter(
        (t) => t.state === 'healthy' && (!replacement.size || replacement.has(t.targetGroupArn)),
      ).length,
      oldDrained: -oldRunning,
    },
  };
}

/**
 * Follows one deployment until it completes, fails or rolls back, or makes no progress for
 * `stallAfterMs`, calling `onEvent` for each change; at the end of a failed, rolled back or
 * stalled deployment it diagnoses the most likely cause from what it read.
 */
export async function watchDeployment(options: WatchOptions): Promise<WatchOutcome> {
  const { clock, onEvent, signal } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const stallAfterMs = options.stallAfterMs ?? DEFAULT_STALL_AFTER_MS;
  const emit = (e: Omit<TimelineEvent, 'at'>) => onEvent({ at: clock.now(), ...e });
  const pacer = new ApiPacer(clock, intervalMs);
  const startedAt = clock.now();
  const reader = new DeploymentReader(options.clients, pacer, options.target, startedAt);
  let evidence = emptyEvidence('rolling');
  const end = (ending: WatchEnding, message: string, diagnosis?: Diagnosis): WatchOutcome => {
    emit({ type: 'outcome', message, data: { ending } });
    if (diagnosis) {
      emit({
        type: 'diagnosis',
        message: diagnosisLine(diagnosis),
        data: {
          cause: diagnosis.cause,
          title: diagnosis.title,
          evidence: diagnosis.evidence,
          fix: diagnosis.fix,
        },
      });
    }
    return { ending, message, evidence, ...(diagnosis ? { diagnosis } : {}) };
  };

  for (;;) {
    try {
      await reader.start();
      break;
    } catch (err) {
      if (!(err instanceof WatchSetupError)) throw err;
      if (!err.cause || isSetupError(err.cause)) {
        return end('not-found', `cannot follow: ${errorMessage(err)}`);
      }
      if (clock.now() - startedAt >= stallAfterMs) {
        return end(
          'unreachable',
          `no answer for ${Math.round(stallAfterMs / 1_000)} s: ${errorMessage(err)}`,
        );
      }
      emit({ type: 'source-error', message: errorMessage(err) });
      if (signal?.aborted) return end('interrupted', 'interrupted');
      await clock.sleep(intervalMs, signal);
    }
  }
  emit({ type: 'watching', message: `watching ${reader.describe()}` });

  let prev: Evidence | undefined;
  let lastAnswer = clock.now();
  let lastProgress = clock.now();
  let lastStates = '';
  const best: Record<string, number> = {};
  const lastError = new Map<string, string>();
  for (;;) {
    const reading = await reader.read();
    evidence = reading.evidence;
    for (const change of changes(prev, evidence)) emit(change);
    for (const ev of reader.takeNewEvents()) {
      emit({
        type: 'service-event',
        message: ev.message,
        data: { id: ev.id, createdAt: new Date(ev.createdAt).toISOString() },
      });
    }
    for (const err of reading.errors) {
      if (lastError.get(err.api) === err.message) continue;
      lastError.set(err.api, err.message);
      emit({
        type: 'source-error',
        message: `${err.api}: ${err.message}${err.throttled ? ' (throttled: asking less often)' : ''}`,
        data: { ...err },
      });
    }
    prev = evidence;
    const now = clock.now();
    if (reading.primaryAnswered) lastAnswer = now;

    if (reading.ended) {
      const words = { completed: 'completed', failed: 'failed', 'rolled-back': 'rolled back' } as const;
      return end(reading.ended, `deployment ${words[reading.ended]}`, diagnose(evidence, reading.ended));
    }
    const marks = progressMarks(evidence);
    let moved = marks.states !== lastStates;
    lastStates = marks.states;
    for (const [key, value] of Object.entries(marks.counts)) {
      if (best[key] === undefined || value > best[key]) {
        if (best[key] !== undefined) moved = true;
        best[key] = value;
      }
    }
    if (moved) lastProgress = now;
    if (now - lastAnswer >= stallAfterMs) {
      const why = [...lastError.values()].at(-1) ?? 'no answer';
      return end(
        'unreachable',
        `stopped watching: no answer from AWS for ${Math.round((now - lastAnswer) / 1_000)} s: ${why}`,
      );
    }
    if (now - lastProgress >= stallAfterMs) {
      evidence.stalledForMs = now - lastProgress;
      return end(
        'stalled',
        `deployment stalled: no progress for ${Math.round(evidence.stalledForMs / 1_000)} s`,
        diagnose(evidence, 'stalled'),
      );
    }
    if (signal?.aborted) return end('interrupted', 'interrupted');
    await clock.sleep(intervalMs, signal);
    if (signal?.aborted) return end('interrupted', 'interrupted');
  }
}
