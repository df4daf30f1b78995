import { z } from 'zod';
import type { Verdict } from '../checks/runner';
import { OUTCOMES } from '../checks/types';
import { redact } from '../lib/redact';

const outcome = z.enum(OUTCOMES as unknown as ['passed', 'inconclusive', 'error', 'failed']);

const assertion = z.strictObject({
  what: z.string(),
  expected: z.unknown(),
  actual: z.unknown(),
  ok: z.boolean(),
});

const checkResult = z.strictObject({
  name: z.string(),
  type: z.string(),
  outcome,
  message: z.string(),
  durationMs: z.int().min(0),
  advisory: z.boolean(),
  cancelled: z
    .boolean()
    .optional()
    .describe('The runner stopped it (deadline or fail-fast) before it finished.'),
  assertions: z.array(assertion),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** What `greenlight check --json` prints: one lifecycle event's verdict with all its evidence. */
export const verdictDocument = z
  .strictObject({
    hook: z.string().describe('The lifecycle event whose checks ran.'),
    status: z.enum(['Succeeded', 'Failed']).describe('What a hook would report to CodeDeploy.'),
    outcome: outcome.describe('The worst outcome among the gating checks.'),
    reason: z.string(),
    durationMs: z.int().min(0),
    targets: z.record(z.string(), z.string()).describe('The base URLs the checks ran against.'),
    checks: z.array(checkResult),
  })
  .describe('greenlight check --json output');

export type VerdictDocument = z.output<typeof verdictDocument>;

/** The JSON Schema of `greenlight check --json` output, for consumers of the report. */
export function verdictJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(verdictDocument, { io: 'output', unrepresentable: 'any' }),
    title: 'greenlight check verdict',
  };
}

/** The verdict as a plain, redacted document (secrets never reach stdout or a CI artifact). */
export function toVerdictDocument(
  hook: string,
  verdict: Verdict,
  targets: Readonly<Record<string, URL>>,
): VerdictDocument {
  return redact({
    hook,
    status: verdict.status,
    outcome: verdict.outcome,
    reason: verdict.reason,
    durationMs: verdict.durationMs,
    targets: Object.fromEntries(Object.entries(targets).map(([name, url]) => [name, url.href])),
    checks: verdict.checks.map((c) => ({
      name: c.name,
      type: c.type,
      outcome: c.outcome,
      message: c.message,
      durationMs: c.durationMs,
      advisory: c.advisory,
      ...(c.cancelled ? { cancelled: true } : {}),
      assertions: c.assertions.map((a) => ({
        what: a.what,
        expected: a.expected,
        actual: a.actual,
        ok: a.ok,
      })),
      ...(c.details ? { details: c.details } : {}),
    })),
  });
}
