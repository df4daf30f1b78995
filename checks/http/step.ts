import { search } from '@aws-lambda-powertools/jmespath';
import { z } from 'zod';
import { tlsOptionsSchema } from '../../lib/tls';

/**
 * The options schema of one HTTP request step and of the client settings around it. The `http`
 * check and the `session` check's end-to-end part share these, so a request, an expectation or
 * a capture reads the same wherever it appears in greenlight.yml.
 */

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A JavaScript regular expression, compiled when the config loads so a typo is a config error. */
export const regexSource = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid regular expression: ${(err as Error).message}`,
      input: source,
    });
  }
});

/** A JMESPath expression, parsed when the config loads. */
export const jmesPathExpression = z
  .string()
  .min(1)
  .superRefine((expression, ctx) => {
    const problem = jmesPathSyntaxError(expression);
    if (problem)
      ctx.addIssue({ code: 'custom', message: `invalid JMESPath expression: ${problem}`, input: expression });
  });

function jmesPathSyntaxError(expression: string): string | undefined {
  try {
    search(expression, {});
    return undefined;
  } catch (err) {
    const name = (err as Error).name;
    // Evaluation errors against an empty document (wrong argument types) are not syntax errors.
    if (/Lexer|Parse|Incomplete|Empty|UnknownFunction/.test(name)) return (err as Error).message;
    return undefined;
  }
}

const STATUS_ERROR = 'expected a status code 100–599, a class such as "2xx", or a list of them';
const statusCode = z
  .int({ error: STATUS_ERROR })
  .min(100, { error: STATUS_ERROR })
  .max(599, { error: STATUS_ERROR });
const statusClass = z.string({ error: STATUS_ERROR }).regex(/^[1-5]xx$/, { error: STATUS_ERROR });

/** `200`, `"2xx"`, or a list of either. */
export const statusExpectation = z.union(
  [statusCode, statusClass, z.array(z.union([statusCode, statusClass], { error: STATUS_ERROR })).min(1)],
  {
    error: STATUS_ERROR,
  },
);

/** A header value: a string means "equals"; otherwise exactly one of equals, matches, contains, exists, absent. */
export const headerExpectation = z.union(
  [
    z.string(),
    z
      .strictObject({
        equals: z.string().optional(),
        matches: regexSource.optional(),
        contains: z.string().optional(),
        exists: z.literal(true).optional(),
        absent: z.literal(true).optional(),
      })
      .refine((o) => Object.values(o).filter((v) => v !== undefined).length === 1, {
        error: 'expected exactly one of equals, matches, contains, exists: true, absent: true',
      }),
  ],
  {
    error:
      'expected a string (equals) or one of { equals | matches | contains | exists: true | absent: true }',
  },
);

export const bodyExpectation = z
  .strictObject({
    contains: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('Text the body must contain (all of a list).'),
    notContains: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('Text the body must not contain.'),
    matches: regexSource.optional().describe('A regular expression the body must match.'),
    equals: z.string().optional().describe('The whole body, exactly.'),
  })
  .refine((o) => Object.values(o).some((v) => v !== undefined), {
    error: 'expected at least one of contains, notContains, matches, equals',
  });

export const JSON_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object', 'null'] as const;
export const JSON_OPERATORS = [
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'exists',
  'type',
  'matches',
] as const;
export type JsonOperator = (typeof JSON_OPERATORS)[number];

/** One JSON field, found by JMESPath, with one or more predicates (all must hold). */
export const jsonExpectation = z
  .strictObject({
    path: jmesPathExpression.describe('JMESPath expression, e.g. `data.items[0].id` or `length(items)`.'),
    '==': z.unknown().optional(),
    '!=': z.unknown().optional(),
    '<': z.number().optional(),
    '<=': z.number().optional(),
    '>': z.number().optional(),
    '>=': z.number().optional(),
    contains: z.unknown().optional().describe('A substring of a string, or an element of an array.'),
    exists: z.boolean().optional(),
    type: z.enum(JSON_TYPES).optional(),
    matches: regexSource.optional(),
  })
  .refine((o) => JSON_OPERATORS.some((op) => op in o && (o as Record<string, unknown>)[op] !== undefined), {
    error: `expected at least one predicate: ${JSON_OPERATORS.join(', ')}`,
  });

/** What a response must look like. Without `status`, any 2xx is expected. */
export const expectSchema = z.strictObject({
  status: statusExpectation.optional().describe('Status code, class (`2xx`) or list; default `2xx`.'),
  headers: z
    .record(z.string().regex(HEADER_NAME, { error: 'expected an HTTP header name' }), headerExpectation)
    .optional(),
  body: bodyExpectation.optional(),
  json: z.array(jsonExpectation).optional().describe('JMESPath assertions on the JSON body.'),
  schema: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('A JSON Schema (draft 2020-12 or 07) the JSON body must satisfy.'),
  maxDurationMs: z
    .int()
    .min(1)
    .optional()
    .describe('Slowest acceptable answer, headers and body, in milliseconds.'),
  minCertificateDaysLeft: z
    .int()
    .min(0)
    .optional()
    .describe('HTTPS only: days the server certificate must still be valid.'),
});

/** Where a captured value comes from: exactly one of header, cookie, json, regex. */
export const captureSchema = z
  .strictObject({
    header: z.string().regex(HEADER_NAME, { error: 'expected an HTTP header name' }).optional(),
    cookie: z.string().min(1).optional().describe('A cookie set by this response (Set-Cookie).'),
    json: jmesPathExpression.optional().describe('JMESPath into the JSON body.'),
    regex: regexSource
      .optional()
      .describe('A regular expression on the body; the first group (or the whole match).'),
    secret: z
      .boolean()
      .optional()
      .describe('Redact the value everywhere (default: true for cookies and secret-looking names).'),
  })
  .refine((o) => [o.header, o.cookie, o.json, o.regex].filter((v) => v !== undefined).length === 1, {
    error: 'expected exactly one of header, cookie, json, regex',
  });

export const tlsSchema = tlsOptionsSchema({
  insecure: z.boolean().optional().describe('Skip certificate verification; the result says so.'),
});

export const retrySchema = z.strictObject({
  attempts: z.int().min(1).max(20).default(3).describe('Tries per request, the first included.'),
  backoffMs: z.int().min(0).max(60_000).default(200).describe('First delay; doubles per retry, with jitter.'),
  maxBackoffMs: z.int().min(0).max(300_000).default(5_000),
  onMismatch: z
    .boolean()
    .default(false)
    .describe('Also retry deterministic failures (other 4xx, assertion mismatches). Off: they fail at once.'),
});

const httpMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], {
  error: 'expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS',
});
const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});

/** One request of a flow, with what its response must look like and what to keep from it. */
export const requestStepSchema = z
  .strictObject({
    name: z.string().optional().describe('Shown in results instead of the method and URL.'),
    target: z
      .string()
      .optional()
      .describe('Named target the path is relative to (default: the check’s target, else `test`).'),
    path: z.string().optional().describe('Path (and query) relative to the target, e.g. `/health`.'),
    url: z.string().optional().describe('An absolute http(s) URL instead of target + path.'),
    method: z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), httpMethod).default('GET'),
    headers: z
      .record(z.string().regex(HEADER_NAME, { error: 'expected an HTTP header name' }), z.string())
      .optional(),
    query: z.record(z.string(), z.union([scalar, z.array(scalar)])).optional(),
    body: z.string().optional().describe('A text body (set Content-Type yourself).'),
    json: z.unknown().optional().describe('A JSON body; `${name}` is replaced in its strings.'),
    form: z.record(z.string(), scalar).optional().describe('An application/x-www-form-urlencoded body.'),
    timeoutMs: z.int().min(1).max(900_000).optional().describe('This request’s timeout, headers and body.'),
    tls: tlsSchema.optional(),
    followRedirects: z.union([z.boolean(), z.int().min(0).max(20)]).optional(),
    retry: retrySchema.partial().optional(),
    expect: expectSchema.optional(),
    captures: z
      .record(
        z.string().regex(VARIABLE_NAME, { error: 'expected a variable name (letters, digits, _)' }),
        captureSchema,
      )
      .optional()
      .describe('Values kept for later requests as `${name}`.'),
  })
  .superRefine((step, ctx) => {
    if (step.path !== undefined && step.url !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected either path or url, not both',
        path: ['url'],
        input: step.url,
      });
    }
    if (step.url !== undefined && step.target !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'an absolute url has no target',
        path: ['target'],
        input: step.target,
      });
    }
    if (step.url !== undefined && !step.url.includes('${')) {
      let ok: boolean;
      try {
        ok = ['http:', 'https:'].includes(new URL(step.url).protocol);
      } catch {
        ok = false;
      }
      if (!ok)
        ctx.addIssue({
          code: 'custom',
          message: 'expected an absolute http(s) URL',
          path: ['url'],
          input: step.url,
        });
    }
    if (step.path !== undefined && !step.path.startsWith('/') && !step.path.startsWith('${')) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a path starting with /',
        path: ['path'],
        input: step.path,
      });
    }
    const bodies = (['body', 'json', 'form'] as const).filter((k) => step[k] !== undefined);
    if (bodies.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected only one of body, json, form, got ${bodies.join(' and ')}`,
        path: [bodies[1]!],
        input: undefined,
      });
    }
  });

export type RequestStep = z.output<typeof requestStepSchema>;
export type Expect = z.output<typeof expectSchema>;
export type Capture = z.output<typeof captureSchema>;
export type TlsOptions = z.output<typeof tlsSchema>;
export type RetryPolicy = z.output<typeof retrySchema>;
export type JsonExpectation = z.output<typeof jsonExpectation>;
export type HeaderExpectation = z.output<typeof headerExpectation>;

export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 5; // when `followRedirects: true`
export const DEFAULT_MARKER_HEADER = 'x-greenlight-synthetic';

/**
 * Client settings shared by every request of a check (a step may override timeout, TLS,
 * redirects and retry). A check type spreads them into its options: `{ ...clientOptionFields }`.
 * The per-request timeout is `requestTimeoutMs` because `timeoutMs` is every check's own budget.
 */
export const clientOptionFields = {
  requestTimeoutMs: z
    .int()
    .min(1)
    .max(900_000)
    .default(DEFAULT_TIMEOUT_MS)
    .describe('Per-request timeout, headers and body.'),
  maxBodyBytes: z
    .int()
    .min(0)
    .max(64 * 1024 * 1024)
    .default(DEFAULT_MAX_BODY_BYTES)
    .describe(
      'Bytes of a body kept or searched at most; the rest is read to its end and dropped, and the result says truncated.',
    ),
  followRedirects: z
    .union([z.boolean(), z.int().min(0).max(20)])
    .default(false)
    .describe(`Follow redirects: false (default), true (at most ${DEFAULT_MAX_REDIRECTS}) or a maximum.`),
  tls: tlsSchema.optional(),
  headers: z
    .record(z.string().regex(HEADER_NAME, { error: 'expected an HTTP header name' }), z.string())
    .optional()
    .describe('Sent with every request.'),
  secretHeaders: z
    .array(z.string().regex(HEADER_NAME, { error: 'expected an HTTP header name' }))
    .optional()
    .describe('More headers whose values are redacted.'),
  marker: z
    .union([
      z.boolean(),
      z.strictObject({
        header: z.string().regex(HEADER_NAME, { error: 'expected an HTTP header name' }),
        value: z.string(),
      }),
    ])
    .default(false)
    .describe(`Mark synthetic traffic: true sends \`${DEFAULT_MARKER_HEADER}: 1\`; or { header, value }.`),
  retry: retrySchema.prefault({}),
};

export const clientOptionsSchema = z.strictObject(clientOptionFields);

export type ClientOptions = z.output<typeof clientOptionsSchema>;
