import { redact, redactText } from '../lib/redact';
import type { Assertion, CheckResult } from './types';

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'nothing';
  return JSON.stringify(redact(value)) ?? String(value);
}

/** `status: expected 200, actual 503`: the evidence a reader needs first. */
export function describeAssertion(assertion: Assertion): string {
  return redactText(
    `${assertion.what}: expected ${show(assertion.expected)}, actual ${show(assertion.actual)}`,
  );
}

const OUTCOME = 'outcome';

/**
 * The evidence of a result that carried none of its own (a check that threw, timed out or
 * reported a bare `error`): its outcome against the `passed` it needed, with its message.
 */
export function outcomeAssertion(result: Pick<CheckResult, 'outcome' | 'message'>): Assertion {
  return { what: OUTCOME, expected: 'passed', actual: `${result.outcome}: ${result.message}`, ok: false };
}

function isOutcomeAssertion(assertion: Assertion): boolean {
  return assertion.what === OUTCOME && assertion.expected === 'passed';
}

/** The first failing assertion of a result that did not pass, else its message. */
export function evidenceOf(result: CheckResult): string {
  const failing =
    result.outcome === 'passed' ? undefined : result.assertions.find((a) => !a.ok && !isOutcomeAssertion(a));
  return failing ? describeAssertion(failing) : redactText(result.message);
}
