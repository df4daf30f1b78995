import { z } from 'zod';
import { sessionCodecs } from './codecs';
import { sessionContractSchema, type ContractSource } from './contract';
import { endToEndSchema } from './end-to-end';
import { cookiesSchema } from './cookie-options';
import { storeOptionsSchema } from './store';

const DEFAULT_RISKY_POLICIES = ['allkeys-lru', 'allkeys-lfu', 'allkeys-random'];

// One object with exclusive keys rather than a union, so an error inside an inline contract
// names its own field instead of "none of the alternatives matched".
export const contractSourceSchema = z
  .strictObject({
    inline: sessionContractSchema.optional().describe('The contract itself.'),
    file: z.string().min(1).optional().describe('Path of a JSON contract file shipped with the hook.'),
    target: z
      .string()
      .min(1)
      .optional()
      .describe('Named target serving the contract (blue: `prod`, green: `test`).'),
    path: z
      .string()
      .startsWith('/', { error: 'expected a path starting with "/"' })
      .optional()
      .describe('Path of the contract on that target (default `/.well-known/greenlight/session.json`).'),
  })
  .superRefine((source, ctx) => {
    const given = (['inline', 'file', 'target'] as const).filter((k) => source[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one of inline, file, target${given.length ? `, got ${given.join(' and ')}` : ''}`,
      });
    }
    if (source.path !== undefined && source.target === undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'path needs a target' });
    }
  })
  .transform((source): ContractSource => {
    if (source.inline !== undefined) return { inline: source.inline };
    if (source.file !== undefined) return { file: source.file };
    return { target: source.target!, path: source.path ?? '/.well-known/greenlight/session.json' };
  });

export const canarySchema = z.strictObject({
  keyPrefix: z
    .string()
    .min(1)
    .default('greenlight:canary:')
    .describe('Prefix of the canary key; the deployment id, check name and lifecycle event follow.'),
  ttlSeconds: z
    .int()
    .min(1)
    .max(3_600)
    .default(60)
    .describe('The canary expires by itself if the hook dies before deleting it.'),
});

export const evictionSchema = z.strictObject({
  riskyPolicies: z
    .array(z.string().min(1))
    .default(DEFAULT_RISKY_POLICIES)
    .describe('Redis maxmemory policies that may evict live sessions.'),
  maxEvictedKeys: z
    .int()
    .min(0)
    .optional()
    .describe('Evictions since the store started above which it is a risk.'),
  onRisk: z
    .enum(['fail', 'warn'])
    .default('fail')
    .describe('`fail`: a risk fails the check; `warn`: it is reported, and the check can still pass.'),
});

export const sampleSchema = z.strictObject({
  size: z.int().min(1).max(100_000).default(200).describe('Session keys read at most.'),
  scanCount: z.int().min(10).max(100_000).default(1_000).describe('SCAN COUNT hint per call.'),
  maxKeysScanned: z
    .int()
    .min(10)
    .default(100_000)
    .describe(
      'Keys the server may examine in all (SCAN calls × COUNT, over all nodes): the sample never scans the whole store.',
    ),
  maxFailureRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.01)
    .describe('Share of sampled sessions green may fail to read, 0–1.'),
  keyPrefix: z.string().min(1).optional().describe('Prefix to sample; default: blue’s contract keyPrefix.'),
  codec: z
    .string()
    .min(1)
    .optional()
    .describe(
      `Codec to decode with (${Object.keys(sessionCodecs).join(', ')}); default: green’s accepted codecs.`,
    ),
  whenEmpty: z
    .enum(['inconclusive', 'pass'])
    .default('inconclusive')
    .describe('What a sample with no session keys counts as.'),
});

/** The `session` check's options. */
export const sessionOptionsSchema = z.strictObject({
  store: storeOptionsSchema
    .optional()
    .describe('Where the sessions live; optional when the framework keeps the session in the cookie.'),
  cookies: cookiesSchema
    .optional()
    .describe('Verify real session cookies with each version’s keys, both ways, without a login.'),
  maxLatencyMs: z.int().min(1).optional().describe('Slowest acceptable PING round trip.'),
  contracts: z
    .strictObject({ blue: contractSourceSchema, green: contractSourceSchema })
    .optional()
    .describe('Where blue’s and green’s session contracts come from.'),
  canary: z
    .union([z.literal(false), canarySchema])
    .default({ keyPrefix: 'greenlight:canary:', ttlSeconds: 60 }),
  eviction: z
    .union([z.literal(false), evictionSchema])
    .default({ riskyPolicies: DEFAULT_RISKY_POLICIES, onRisk: 'fail' }),
  sample: z
    .union([z.literal(false), sampleSchema])
    .optional()
    .describe(
      'Live sample of stored sessions (Redis only). Default: on for Redis when contracts are configured.',
    ),
  endToEnd: endToEndSchema
    .optional()
    .describe(
      'Log in on one version and use the session on the other, both ways (through the http check’s request code).',
    ),
});
