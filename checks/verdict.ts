import type { Assertion, CheckReport, CheckResult, Outcome } from './types';
import { OUTCOMES } from './types';

/** An outcome's rank in `OUTCOMES` (passed < inconclusive < error < failed): the one order of outcomes. */
export function severity(outcome: Outcome): number {
  return OUTCOMES.indexOf(outcome);
}

/** Worst wins: passed < inconclusive < error < failed. */
export function worstOutcome(outcomes: Iterable<Outcome>): Outcome {
  let worst: Outcome = 'passed';
  for (const outcome of outcomes) if (severity(outcome) > severity(worst)) worst = outcome;
  return worst;
}

/** One part of a check (reachability, one alarm, one rule) and what it found. */
export interface Part {
  outcome: Outcome;
  /** A short phrase for the one-line message. */
  summary: string;
  assertions: Assertion[];
  details?: Record<string, unknown>;
}

/** The parts that did not pass, worst first (stable within one outcome). */
export function notPassed<T extends Pick<Part, 'outcome'>>(parts: readonly T[]): T[] {
  return parts
    .filter((p) => p.outcome !== 'passed')
    .sort((a, b) => severity(b.outcome) - severity(a.outcome));
}

/**
 * A check's report from its parts: worst part wins; the message leads with the parts that did
 * not pass, worst first (all parts when everything passed); assertions and details are merged.
 */
export function foldParts(label: string, parts: readonly Part[], join = '; '): CheckReport {
  const outcome = worstOutcome(parts.map((p) => p.outcome));
  const shown = outcome === 'passed' ? parts : notPassed(parts);
  const details: Record<string, unknown> = {};
  for (const part of parts) Object.assign(details, part.details);
  return {
    outcome,
    message: `${label}${label ? ': ' : ''}${shown.map((p) => p.summary).join(join)}`,
    assertions: parts.flatMap((p) => p.assertions),
    ...(Object.keys(details).length ? { details } : {}),
  };
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
