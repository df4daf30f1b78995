import type { Assertion, CheckReport, Outcome } from '../types';
import { worstOutcome } from '../verdict';

/** One part of the check (reachability, canary, ...) and what it found. */
export interface Part {
  outcome: Outcome;
  /** A short phrase for the one-line message. */
  summary: string;
  assertions: Assertion[];
  details?: Record<string, unknown>;
}

const SEVERITY: Record<Outcome, number> = { passed: 0, inconclusive: 1, error: 2, failed: 3 };

export function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate < 0.1 && rate > 0 ? 1 : 0)}%`;
}

/** The check's report: worst part wins; the message leads with the parts that did not pass. */
export function report(label: string, parts: Part[]): CheckReport {
  const outcome = worstOutcome(parts.map((p) => p.outcome));
  const shown =
    outcome === 'passed'
      ? parts
      : [...parts]
          .filter((p) => p.outcome !== 'passed')
          .sort((a, b) => SEVERITY[b.outcome] - SEVERITY[a.outcome]);
  const message = `${label}: ${shown.map((p) => p.summary).join('; ')}`;
  const details: Record<string, unknown> = {};
  for (const part of parts) Object.assign(details, part.details);
  return {
    outcome,
    message,
    assertions: parts.flatMap((p) => p.assertions),
    ...(Object.keys(details).length ? { details } : {}),
  };
}
