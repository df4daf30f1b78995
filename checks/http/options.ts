import { z } from 'zod';
import { parsePathPattern } from './diff';
import { DEFAULT_RETRY_BUDGET } from './retry';
import { clientOptionFields, requestStepSchema } from './step';

const diffSchema = z.strictObject({
  baseline: z.string().default('prod').describe('Target that answers as blue (the production listener).'),
  candidate: z.string().default('test').describe('Target that answers as green (the test listener).'),
  status: z.boolean().default(true).describe('Compare status codes.'),
  headers: z.array(z.string()).default([]).describe('Response headers to compare, e.g. content-type.'),
  body: z.boolean().default(true).describe('Compare bodies: JSON field by field, anything else as text.'),
  ignore: z
    .array(
      z.string().superRefine((pattern, ctx) => {
        try {
          parsePathPattern(pattern);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message, input: pattern });
        }
      }),
    )
    .default([])
    .describe('JSON paths whose values may differ: `version`, `meta.generatedAt`, `items[*].updatedAt`.'),
});

/** The `http` check's options. */
export const httpOptions = z.strictObject({
  target: z
    .string()
    .optional()
    .describe('Target of requests that name none (default `test`, the test listener).'),
  requests: z
    .array(requestStepSchema)
    .min(1)
    .describe('Requests sent in order, sharing cookies and captures.'),
  concurrency: z
    .int()
    .min(1)
    .max(256)
    .default(1)
    .describe('Requests at once. Above 1 the requests are independent: no captures between them.'),
  readiness: z
    .strictObject({
      budgetMs: z.int().min(1).max(900_000).describe('How long to poll the first request until it passes.'),
      intervalMs: z.int().min(10).max(60_000).default(500),
    })
    .optional()
    .describe('Wait for a starting endpoint: poll the first request until it passes, within a budget.'),
  consecutiveSuccesses: z
    .int()
    .min(1)
    .max(100)
    .default(1)
    .describe('Runs of all requests that must pass in a row.'),
  successIntervalMs: z.int().min(0).max(60_000).default(1_000).describe('Pause between those runs.'),
  retryBudget: z
    .strictObject({
      percent: z
        .number()
        .min(0)
        .max(100)
        .default(DEFAULT_RETRY_BUDGET.percent)
        .describe('Share of the check’s requests that may need a retry, in percent.'),
      minRetried: z
        .int()
        .min(0)
        .max(1_000)
        .default(DEFAULT_RETRY_BUDGET.minRetried)
        .describe('Requests that may need a retry whatever the share, so one blip in a short check passes.'),
    })
    .prefault({})
    .describe(
      'Fail when more requests needed a retry than this allows, even if each passed on its retry. Readiness polls do not count.',
    ),
  diff: diffSchema.optional().describe('Send every request to blue and green and report each difference.'),
  ...clientOptionFields,
});

export type HttpCheckOptions = z.output<typeof httpOptions>;
