import type { Verdict } from '../checks/runner';

/**
 * The lifecycle events at which green's tasks are up but may not be reachable yet: CodeDeploy's
 * after the install and after the test traffic, and the ECS built-in stages after the scale-up
 * (green's tasks have started, no traffic yet) and around the test traffic shift.
 */
export const GREEN_DIAGNOSIS_EVENTS: readonly string[] = [
  'AfterInstall',
  'AfterAllowTestTraffic',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
];

/**
 * A failed verdict whose http check could not reach green, at an event where green's tasks run.
 * Kept apart from green-diagnosis.ts and ecs-green-diagnosis.ts (and their AWS clients), which a hook loads only when this is
 * true: a bundle packaged without the diagnosis never loads it.
 */
export function wantsGreenDiagnosis(lifecycleEvent: string, verdict: Verdict): boolean {
  return (
    verdict.status === 'Failed' &&
    GREEN_DIAGNOSIS_EVENTS.includes(lifecycleEvent) &&
    verdict.checks.some((c) => c.type === 'http' && (c.outcome === 'failed' || c.outcome === 'error'))
  );
}
