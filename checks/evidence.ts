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

/** The first failing assertion of a result that did not pass, else its message. */
export function evidenceOf(result: CheckResult): string {
  const failing = result.outcome === 'passed' ? undefined : result.assertions.find((a) => !a.ok);
  return failing ? describeAssertion(failing) : redactText(result.message);
}
