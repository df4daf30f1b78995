import type { Verdict } from '../checks/runner';

/** The lifecycle events at which green's tasks are up but may not be reachable yet. */
export const GREEN_DIAGNOSIS_EVENTS: readonly string[] = ['AfterInstall', 'AfterAllowTestTraffic'];

/**
 * A failed verdict whose http check could not reach green, at an event where green's tasks run.
 * Kept apart from green-diagnosis.ts (and its AWS clients), which a hook loads only when this is
 * true: a bundle packaged without the diagnosis never loads it.
 */
export function wantsGreenDiagnosis(lifecycleEvent: string, verdict: Verdict): boolean {
  return (
    verdict.status === 'Failed' &&
    GREEN_DIAGNOSIS_EVENTS.includes(lifecycleEvent) &&
    verdict.checks.some((c) => c.type === 'http' && (c.outcome === 'failed' || c.outcome === 'error'))
  );
}
