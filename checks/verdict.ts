import type { CheckResult, Outcome } from './types';

const SEVERITY: Record<Outcome, number> = { passed: 0, inconclusive: 1, error: 2, failed: 3 };

/** Worst wins: passed < inconclusive < error < failed. */
export function worstOutcome(outcomes: Iterable<Outcome>): Outcome {
  let worst: Outcome = 'passed';
  for (const outcome of outcomes) if (SEVERITY[outcome] > SEVERITY[worst]) worst = outcome;
  return worst;
}

export type CodeDeployStatus = 'Succeeded' | 'Failed';
export type EcsHookStatus = 'SUCCEEDED' | 'FAILED';

/**
 * The one place an outcome becomes a traffic decision. Only `passed` lets the shift go on:
 * `inconclusive` and `error` fail closed, because a gate that could not see green must not
 * wave it through to production.
 */
export function toCodeDeployStatus(outcome: Outcome): CodeDeployStatus {
  return outcome === 'passed' ? 'Succeeded' : 'Failed';
}

export function toEcsHookStatus(outcome: Outcome): EcsHookStatus {
  return toCodeDeployStatus(outcome) === 'Succeeded' ? 'SUCCEEDED' : 'FAILED';
}

/** True when this result alone already decides a Failed verdict. */
export function decidesFailure(result: Pick<CheckResult, 'outcome' | 'advisory'>): boolean {
  return !result.advisory && toCodeDeployStatus(result.outcome) === 'Failed';
}
