import { REDACTED, isSecretField, redact, redactText } from '../../lib/redact';
import type { CheckReport } from '../types';
import type { FlowResult } from './flow-types';

/**
 * `redact` for a report of many requests: labels, URLs, evidence and keys recur once per
 * request, so each distinct string is redacted once (redaction scans every known secret per
 * string) and each distinct key is tested once.
 * Plain objects and arrays are walked here; anything else goes to `redact`.
 */
export function redactReport(report: CheckReport): CheckReport {
  const text = remembered(redactText);
  const secretKey = remembered(isSecretField);
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(walk);
    if (Object.getPrototypeOf(value) !== Object.prototype) return redact(value);
    const out: Record<string, unknown> = {};
    for (const key in value) {
      const inner = (value as Record<string, unknown>)[key];
      out[key] =
        secretKey(key) && inner !== undefined && inner !== null && inner !== '' ? REDACTED : walk(inner);
    }
    return out;
  };
  return walk(report) as CheckReport;
}

/** `compute`, called once per distinct argument. */
function remembered<T>(compute: (key: string) => T): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    let value = seen.get(key);
    if (value === undefined) {
      value = compute(key);
      seen.set(key, value);
    }
    return value;
  };
}

/** Each request of a flow for a report's details: what was sent, what came back, how often. */
export function requestDetails(flow: FlowResult): Array<Record<string, unknown>> {
  return flow.steps.map((s) => {
    const out: Record<string, unknown> = {
      request: s.label,
      method: s.method,
      url: s.url,
      outcome: s.outcome,
      attempts: s.attempts,
      durationMs: s.durationMs,
    };
    if (s.status !== undefined) out.status = s.status;
    if (s.truncated) {
      out.truncated = true;
      out.bytesReceived = s.bytesReceived;
    }
    if (s.redirects) out.redirects = s.redirects;
    if (s.retriedAfter) out.retriedAfter = s.retriedAfter;
    if (s.certificate) out.certificate = s.certificate;
    if (s.error) out.error = { kind: s.error.kind, ...(s.error.code ? { code: s.error.code } : {}) };
    return out;
  });
}

/** A report's details for a flow: its requests and what was not sent. */
export function detailsOf(flow: FlowResult, extra: Record<string, unknown>): Record<string, unknown> {
  const details: Record<string, unknown> = {
    requests: requestDetails(flow),
    durationMs: flow.durationMs,
    ...extra,
  };
  if (flow.skipped) details.notSent = flow.skipped;
  if (flow.insecure) details.insecure = true;
  return details;
}
