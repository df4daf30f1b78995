import { z } from 'zod';
import type { CheckType } from '../checks/check-type';
import { LIFECYCLE_EVENTS } from '../checks/types';
import { AUTO_TARGET, AUTO_TARGET_URL } from '../lib/auto-target';
import { DEFAULT_REPORT_RESERVE_MS } from '../lib/report-reserve';
import { ECS_LIFECYCLE_STAGES } from './ecs-lifecycle-stages';
import { httpUrl, isHttpUrl } from '../lib/http-url';
import { notifySchema } from './notify-schema';
import { windowSchema } from '../checks/window';

export const COMMON_CHECK_KEYS = ['type', 'advisory', 'timeoutMs', 'description', 'window'] as const;

const targetUrl = z
  .string()
  .refine((value) => value === AUTO_TARGET || isHttpUrl(value), {
    error: 'expected an http(s) URL or "auto"',
  })
  .transform((value) => (value === AUTO_TARGET ? AUTO_TARGET_URL : value));

const commonCheckFields = {
  advisory: z.boolean().default(false).describe('Report this check but never let it gate the deployment.'),
  timeoutMs: z.int().min(1).optional().describe('This check’s own time budget, inside the hook deadline.'),
  description: z.string().optional(),
  window: windowSchema.optional(),
};

const runnerSettings = z
  .strictObject({
    concurrency: z.int().min(1).max(64).default(8).describe('How many checks run at once.'),
    failFast: z
      .boolean()
      .default(true)
      .describe('Cancel the other checks as soon as a gating check decides a Failed verdict.'),
    reportReserveMs: z
      .int()
      .min(1_000)
      .max(300_000)
      .default(DEFAULT_REPORT_RESERVE_MS)
      .describe('Milliseconds kept back from the Lambda budget to deliver the report.'),
    noChecks: z
      .enum(['succeed', 'fail'])
      .default('succeed')
      .describe('What a lifecycle event with no checks configured reports.'),
  })
  .prefault({});

export type RunnerSettings = z.output<typeof runnerSettings>;

export function checkEntrySchema(checkTypes: readonly CheckType[]) {
  const entries = checkTypes.map((t) => {
    for (const key of COMMON_CHECK_KEYS) {
      if (key in t.options.shape)
        throw new Error(`check type ${t.type} must not define the common option ${key}`);
    }
    return z
      .strictObject({ type: z.literal(t.type), ...commonCheckFields, ...t.options.shape })
      .describe(t.summary);
  });
  if (entries.length === 0) return z.strictObject({ type: z.never(), ...commonCheckFields });
  if (entries.length === 1) return entries[0]!;
  return z.discriminatedUnion(
    'type',
    entries as unknown as [(typeof entries)[number], ...(typeof entries)[number][]],
  );
}

/** The whole greenlight.yml, for these check types. */
export function configSchema(checkTypes: readonly CheckType[]) {
  const hooks = Object.fromEntries(
    [...LIFECYCLE_EVENTS, ...ECS_LIFECYCLE_STAGES].map((event) => [
      event,
      z.array(z.string()).optional().describe(`Checks run at ${event}.`),
    ]),
  ) as Record<
    (typeof LIFECYCLE_EVENTS)[number] | (typeof ECS_LIFECYCLE_STAGES)[number],
    z.ZodOptional<z.ZodArray<z.ZodString>>
  >;
  return z.strictObject({
    $schema: z.string().optional(),
    targets: z
      .object({
        test: targetUrl.describe(
          'The test listener base URL (green during AfterAllowTestTraffic), or "auto" to find it from the deployment.',
        ),
        prod: targetUrl
          .optional()
          .describe('The production listener base URL (blue until AllowTraffic), or "auto".'),
      })
      .catchall(httpUrl)
      .describe('Named base URLs that checks send requests to.'),
    checks: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]+$/, {
          error: 'expected a check name of letters, digits, "_", "." and "-"',
        }),
        checkEntrySchema(checkTypes),
      )
      .default({}),
    hooks: z.strictObject(hooks).default({}),
    runner: runnerSettings,
    notify: notifySchema.optional(),
  });
}

export type GreenlightConfig = z.output<ReturnType<typeof configSchema>>;

/** The JSON Schema of greenlight.yml, for editors (`# yaml-language-server: $schema=...`). */
export function configJsonSchema(checkTypes: readonly CheckType[]): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema(checkTypes), { io: 'input', unrepresentable: 'any' });
  return { ...schema, title: 'greenlight configuration' };
}
